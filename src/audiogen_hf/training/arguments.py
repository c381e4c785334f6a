"""Training arguments: dataclasses parsed by ``HfArgumentParser`` from a YAML/JSON ``--config`` plus CLI overrides."""

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml
from transformers import HfArgumentParser, SchedulerType


@dataclass
class TrainingArguments:
    """What the Accelerate engine needs, whatever the model."""

    output_dir: str = field(default="outputs/run", metadata={"help": "Checkpoints, logs and the final model."})
    seed: int = 0
    batch_size: int = field(default=8, metadata={"help": "Per-process batch size."})
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    num_epochs: int = 1
    max_steps: Optional[int] = field(default=None, metadata={"help": "Optimizer steps; overrides num_epochs."})
    max_train_minutes: Optional[float] = field(default=None, metadata={
        "help": "Also stop once this many minutes of training have passed (all processes at the same step), then "
                "validate and save as at the end; the learning-rate schedule still spans max_steps."})
    gradient_accumulation_steps: int = 1
    max_grad_norm: Optional[float] = field(default=1.0, metadata={"help": "Gradient clipping; None disables."})
    lr_scheduler: str = field(default="constant", metadata={"help": "A transformers get_scheduler name."})
    warmup_steps: int = 0
    mixed_precision: str = field(default="no", metadata={"help": "no, fp16 or bf16."})
    checkpointing_steps: Optional[int] = field(default=None, metadata={"help": "save_state every N steps."})
    checkpoints_total_limit: Optional[int] = field(default=None, metadata={"help": "Keep at most N checkpoints."})
    resume_from_checkpoint: Optional[str] = field(default=None, metadata={"help": "'latest' or a checkpoint path."})
    validation_steps: Optional[int] = field(default=None, metadata={
        "help": "Validate every N steps (metrics, audio samples, pictures, curves); always once at the end."})
    validation_samples: int = field(default=2, metadata={"help": "Audio samples written at each validation."})
    report_to: Optional[str] = field(default="tensorboard", metadata={
        "help": "tensorboard (default), wandb (reads WANDB_API_KEY from the environment), all, or none."})
    use_ema: bool = field(default=False, metadata={"help": "Keep an EMA of the weights (diffusers EMAModel); "
                                                           "validation and the saved model use it."})
    ema_decay: float = 0.999
    push_to_hub: bool = field(default=False, metadata={"help": "Push the final pipeline with its push_to_hub."})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "owner/name of the Hub repository."})

    def __post_init__(self):
        positive = ("batch_size", "num_epochs", "gradient_accumulation_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_train_minutes is not None and not self.max_train_minutes > 0:
            raise ValueError(f"max_train_minutes must be > 0 (or unset), got {self.max_train_minutes}")
        for name in ("max_steps", "checkpointing_steps", "checkpoints_total_limit", "validation_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {getattr(self, name)}")
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("push_to_hub needs hub_model_id (owner/name); the token comes from HF_TOKEN or a login")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be 'no', 'fp16' or 'bf16', got {self.mixed_precision!r}")
        if self.validation_samples < 0:
            raise ValueError(f"validation_samples must be >= 0, got {self.validation_samples}")
        if self.report_to in ("none", ""):
            self.report_to = None
        if self.report_to not in (None, "tensorboard", "wandb", "all"):
            raise ValueError(f"report_to must be tensorboard, wandb, all or none, got {self.report_to!r}")
        for tracker, extra in (("tensorboard", "tensorboard"), ("wandb", "wandb")):
            if self.report_to in (tracker, "all") and importlib.util.find_spec(tracker) is None:
                raise ValueError(f"report_to={self.report_to} needs {tracker}: pip install \"audiogen_hf[{extra}]\" "
                                 "(or --report_to none)" + (", and WANDB_API_KEY in the environment"
                                                             if tracker == "wandb" else ""))
        names = [s.value for s in SchedulerType]
        if self.lr_scheduler not in names:
            raise ValueError(f"lr_scheduler must be one of {names}, got {self.lr_scheduler!r}")


def read_config(args: list) -> tuple[dict, list]:
    """Split ``--config file.yaml|json`` off ``args``: (the file's values, the remaining args)."""
    args = list(args)
    if "--config" not in args:
        return {}, args
    index = args.index("--config")
    if index + 1 >= len(args):
        raise ValueError("--config needs a YAML or JSON file path")
    path = Path(args[index + 1])
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a mapping of argument names to values")
    return values, args[:index] + args[index + 2 :]


def parse_config(dataclass_types: tuple, args: Optional[list] = None, values: Optional[dict] = None) -> tuple:
    """Instances of ``dataclass_types`` from config ``values`` (or a ``--config`` file in ``args``) overridden by
    ``--field value`` pairs in ``args``."""
    args = list(sys.argv[1:] if args is None else args)
    if values is None:
        values, args = read_config(args)
    known = {name for dtype in dataclass_types for name in dtype.__dataclass_fields__}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known: {sorted(known)}")
    parser = HfArgumentParser(dataclass_types)
    parser.set_defaults(**values)
    return parser.parse_args_into_dataclasses(args=args)
