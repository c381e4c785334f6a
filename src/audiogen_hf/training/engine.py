"""One Accelerate training engine for every model; each model brings a small ``Objective``.

The loop follows the diffusers/accelerate examples: ``Accelerator(mixed_precision, gradient_accumulation_steps,
log_with, project_config)``, ``prepare``, ``accumulate``, clipping, ``get_scheduler``, ``save_state`` every N steps
(written to a temporary folder and renamed, so a kill during a save never leaves a half-written checkpoint), and
``resume_from_checkpoint="latest"`` that skips the batches already seen in the interrupted epoch.
"""

import json
import math
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional, Protocol

import numpy as np
import soundfile as sf
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs, ProjectConfiguration, set_seed
from diffusers.training_utils import EMAModel
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm
from transformers import get_scheduler

from ..audio.io import to_mono
from ..evaluation import save_training_curves
from ..logging_utils import get_logger
from ..utils.hub_utils import push_folder_to_hub
from .arguments import TrainingArguments
from .model_card import build_model_card

logger = get_logger(__name__)
CHECKPOINT = re.compile(r"checkpoint-(\d+)")


class Objective(Protocol):
    """What a model brings to the engine.

    More than one optimizer (a GAN's generator and discriminator): define ``parameter_groups(model)`` returning
    ``{name: parameters or {"params": ..., **AdamW kwargs}}``. Each step then runs the groups in that order, calling
    ``compute_loss(model, batch, group=name)`` with only that group's parameters requiring gradients (so a
    generator loss never leaves gradients on the discriminator), and stepping that group's optimizer and scheduler
    (each group clipped on its own). ``parameter_groups`` returning ``None`` keeps the one group.
    """

    def build_model(self) -> torch.nn.Module: ...

    def datasets(self) -> tuple[Dataset, Optional[Dataset]]:
        """(train, validation or None), items collated by the default collate function."""

    def compute_loss(self, model: torch.nn.Module, batch: dict) -> torch.Tensor: ...

    def evaluate(self, model: torch.nn.Module, dataloader: DataLoader, accelerator: Accelerator) -> dict: ...

    def write_samples(self, model: torch.nn.Module, dataset: Dataset, count: int, directory: Path) -> list[Path]:
        """Write ``count`` validation examples (``.wav`` audio, ``.png`` pictures) to ``directory``; return them."""

    def save(self, model: torch.nn.Module, output_dir: Path):
        """Save the model (and its pipeline) under ``output_dir``; return what ``push_to_hub`` should push."""

    def card_data(self) -> dict:
        """Model card text: ``title``, ``description``, ``data`` and the Hub ``datasets`` ids."""


def checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints in ``output_dir``, oldest first."""
    found = [p for p in Path(output_dir).glob("checkpoint-*") if CHECKPOINT.fullmatch(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: int(CHECKPOINT.fullmatch(p.name).group(1)))


def train(objective: Objective, args: TrainingArguments) -> dict:
    """Train, checkpoint, validate and save; returns the last validation metrics (and ``step``)."""
    output_dir = Path(args.output_dir)
    # A second train() in the same process (a notebook, the tests) may ask for another mixed precision: forget the
    # previous run's AcceleratorState (the process group, PartialState, is kept). Accelerate has no public way to do
    # this: AcceleratorState is a process-wide singleton whose mixed precision cannot change once set (a new
    # Accelerator raises "AcceleratorState has already been initialized and cannot be changed, restart your
    # runtime"), and end_training / free_memory leave it in place; accelerate's own test suite calls this private
    # reset for the same reason.
    AcceleratorState._reset_state()
    accelerator = Accelerator(
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with=args.report_to,
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
        # with several optimizers each backward reaches only one group's parameters
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=hasattr(objective, "parameter_groups"))],
    )
    if args.mixed_precision == "fp16" and not accelerator.native_amp:
        logger.warning("mixed_precision='fp16' has no effect on %s: training runs in fp32 (bf16 works on CPU)",
                       accelerator.device)
    set_seed(args.seed)
    with accelerator.main_process_first():
        train_set, valid_set = objective.datasets()
    model = objective.build_model()
    groups = _parameter_groups(objective, model)
    optimizers = {name: torch.optim.AdamW(**{"lr": args.learning_rate, "weight_decay": args.weight_decay, **spec})
                  for name, spec in groups.items()}
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    valid_loader = DataLoader(valid_set, batch_size=args.batch_size) if valid_set is not None else None
    steps_per_epoch = math.ceil(len(train_loader) / args.gradient_accumulation_steps)
    max_steps = args.max_steps or args.num_epochs * steps_per_epoch
    schedulers = {name: get_scheduler(args.lr_scheduler, optimizer, num_warmup_steps=args.warmup_steps,
                                      num_training_steps=max_steps) for name, optimizer in optimizers.items()}
    model, train_loader, *prepared = accelerator.prepare(model, train_loader, *optimizers.values(),
                                                         *schedulers.values())
    optimizers = dict(zip(optimizers, prepared[: len(optimizers)]))
    schedulers = dict(zip(schedulers, prepared[len(optimizers) :]))
    ema = None
    if args.use_ema:
        ema = EMAModel(accelerator.unwrap_model(model).parameters(), decay=args.ema_decay)
        accelerator.register_for_checkpointing(ema)  # saved and restored with the rest of the state
    if valid_loader is not None:
        valid_loader = accelerator.prepare(valid_loader)
    if args.report_to:
        accelerator.init_trackers("audiogen_hf", config={k: v for k, v in vars(args).items() if v is not None})

    step = 0
    if args.resume_from_checkpoint:
        path = _resolve_checkpoint(output_dir, args.resume_from_checkpoint)
        if path is not None:
            accelerator.load_state(str(path))
            step = int(CHECKPOINT.fullmatch(path.name).group(1))
            logger.info("resumed from %s at step %d", path, step)
    history = History(output_dir / "logs" / "history.jsonl", resume_step=step, enabled=accelerator.is_main_process)

    def validate(at_step: int) -> dict:
        """Metrics on every process; samples, pictures and curves from the main one. Uses the EMA weights."""
        if valid_loader is None:
            return {}
        unwrapped = accelerator.unwrap_model(model)
        if ema is not None:
            ema.store(unwrapped.parameters())
            ema.copy_to(unwrapped.parameters())
        unwrapped.eval()
        with accelerator.autocast():
            results = objective.evaluate(unwrapped, valid_loader, accelerator)
        _log(accelerator, history, {f"valid/{k}": v for k, v in results.items()}, at_step)
        if accelerator.is_main_process:
            directory = output_dir / "samples" / f"step-{at_step}"
            files = objective.write_samples(unwrapped, valid_set, args.validation_samples, directory)
            files.append(save_training_curves(output_dir / "training_curves.png", history.records))
            _log_media(accelerator, files, at_step)
        if ema is not None:
            ema.restore(unwrapped.parameters())
        unwrapped.train()
        accelerator.wait_for_everyone()
        return results

    # Accelerate syncs gradients at the end of every epoch, so an epoch is exactly steps_per_epoch steps.
    epoch, steps_into_epoch = divmod(step, steps_per_epoch)
    skip = steps_into_epoch * args.gradient_accumulation_steps
    progress = tqdm(total=max_steps, initial=step, desc="training", unit="step", dynamic_ncols=True,
                    disable=not accelerator.is_local_main_process)  # one bar per machine, not one per process
    started = time.monotonic()
    while step < max_steps:
        train_loader.set_epoch(epoch)
        loader = accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
        skip = 0
        model.train()
        for batch in loader:
            with accelerator.accumulate(model):
                losses = {}
                for name, optimizer in optimizers.items():
                    with _only_trainable(model, groups, name):
                        loss = objective.compute_loss(model, batch, group=name) if len(groups) > 1 else \
                            objective.compute_loss(model, batch)
                        accelerator.backward(loss)
                    if accelerator.sync_gradients and args.max_grad_norm is not None:
                        accelerator.clip_grad_norm_(groups[name]["params"], args.max_grad_norm)
                    optimizer.step()
                    schedulers[name].step()
                    optimizer.zero_grad()
                    losses[name] = loss.detach().item()
            if not accelerator.sync_gradients:
                continue
            if ema is not None:
                ema.step(accelerator.unwrap_model(model).parameters())
            step += 1
            progress.update()
            progress.set_postfix({name: f"{value:.4g}" for name, value in losses.items()}, refresh=False)
            prefix = {name: "train/" if len(groups) == 1 else f"train/{name}_" for name in groups}
            _log(accelerator, history, {
                **{f"{prefix[name]}loss": value for name, value in losses.items()},
                **{f"{prefix[name]}lr": schedulers[name].get_last_lr()[0] for name in groups},
            }, step)
            if args.checkpointing_steps and step % args.checkpointing_steps == 0:
                _save_checkpoint(accelerator, output_dir, step, args.checkpoints_total_limit)
            if args.max_train_minutes:
                if time.monotonic() - started >= 60 * args.max_train_minutes:
                    accelerator.set_trigger()  # any process past the time stops them all, at this step
                if accelerator.check_trigger():
                    logger.info("max_train_minutes=%g reached at step %d of %d: stopping", args.max_train_minutes,
                                step, max_steps)
                    max_steps = step
            if args.validation_steps and step % args.validation_steps == 0 and step < max_steps:
                validate(step)
            if step >= max_steps:
                break
        epoch += 1
    progress.close()

    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    if ema is not None:
        ema.copy_to(unwrapped.parameters())  # the averaged weights are the result
        ema = None
    metrics = validate(step)
    if accelerator.is_main_process:
        pipeline = objective.save(unwrapped, output_dir)
        card = build_model_card(args, getattr(objective, "args", None), metrics, step, objective,
                                type(pipeline).__name__)
        for folder in ("model", "pipeline"):  # the pipeline folder is what is pushed: it carries this card
            if (output_dir / folder).is_dir():
                card.save(output_dir / folder / "README.md")
        if args.push_to_hub:
            url = push_folder_to_hub(output_dir / "pipeline", args.hub_model_id)
            logger.info("pushed %s to the Hub as %s: %s", type(pipeline).__name__, args.hub_model_id, url)
    accelerator.wait_for_everyone()  # no rank tears the process group down while the main one still saves
    accelerator.end_training()
    return {**metrics, "step": step}


def _parameter_groups(objective, model: torch.nn.Module) -> dict[str, dict]:
    """``{name: {"params": [...], **AdamW kwargs}}``; one group ``model`` unless the objective splits the model."""
    specs = objective.parameter_groups(model) if hasattr(objective, "parameter_groups") else None
    if not specs:
        return {"model": {"params": list(model.parameters())}}
    groups = {name: dict(spec) if isinstance(spec, dict) else {"params": spec} for name, spec in specs.items()}
    for spec in groups.values():
        spec["params"] = list(spec["params"])
    ids = [id(p) for spec in groups.values() for p in spec["params"]]
    if len(ids) != len(set(ids)):
        raise ValueError("parameter_groups: a parameter belongs to more than one group")
    return groups


@contextmanager
def _only_trainable(model: torch.nn.Module, groups: dict, name: str):
    """Within the block only group ``name``'s parameters require gradients (a no-op with one group)."""
    if len(groups) == 1:
        yield
        return
    keep = {id(p) for p in groups[name]["params"]}
    frozen = [p for p in model.parameters() if p.requires_grad and id(p) not in keep]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


class History:
    """Every logged scalar as JSON lines (main process), so curves survive a resume: records after the resumed
    step, from the interrupted run, are dropped."""

    def __init__(self, path: Path, resume_step: int, enabled: bool):
        self.path, self.enabled, self.records = path, enabled, []
        if not enabled:
            return
        if resume_step and path.exists():
            lines = path.read_text().splitlines()
            self.records = [r for r in map(json.loads, filter(None, lines)) if r["step"] <= resume_step]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in self.records))

    def append(self, record: dict) -> None:
        if self.enabled:
            self.records.append(record)
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")


def _log(accelerator: Accelerator, history: History, values: dict, step: int) -> None:
    accelerator.log(values, step=step)
    history.append({"step": step, **values})


def _log_media(accelerator: Accelerator, files: list, step: int) -> None:
    """Send sample ``.wav`` audio and ``.png`` pictures to the trackers (tensorboard and wandb)."""
    for tracker in accelerator.trackers:
        for path in map(Path, files):
            tag = f"{path.parent.parent.name}/{path.stem}" if path.parent.name.startswith("step-") else path.stem
            if tracker.name == "tensorboard":
                if path.suffix == ".wav":
                    audio, rate = sf.read(path, dtype="float32", always_2d=True)
                    tracker.writer.add_audio(tag, to_mono(torch.from_numpy(audio.T)), step, sample_rate=rate)
                elif path.suffix == ".png":
                    image = np.asarray(Image.open(path).convert("RGB"))
                    tracker.writer.add_image(tag, image, step, dataformats="HWC")
            elif tracker.name == "wandb":
                import wandb

                media = wandb.Audio(str(path)) if path.suffix == ".wav" else wandb.Image(str(path))
                tracker.log({tag: media}, step=step)
        if tracker.name == "tensorboard":
            tracker.writer.flush()


def _resolve_checkpoint(output_dir: Path, which: str) -> Optional[Path]:
    if which != "latest":
        path = Path(which)
        if not (path.is_dir() and CHECKPOINT.fullmatch(path.name)):
            raise FileNotFoundError(f"resume_from_checkpoint={which!r} is not a checkpoint-<step> folder")
        return path
    found = checkpoints(output_dir)
    if not found:
        logger.info("no checkpoint in %s: starting from scratch", output_dir)
    return found[-1] if found else None


def _save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, limit: Optional[int]) -> None:
    """``save_state`` into a temporary folder renamed into place (atomic), then prune old checkpoints."""
    accelerator.wait_for_everyone()
    final, partial = output_dir / f"checkpoint-{step}", output_dir / f".checkpoint-{step}.partial"
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():  # a re-run over an old checkpoint of the same step
            shutil.rmtree(final)
        partial.rename(final)
        for old in checkpoints(output_dir)[: -limit] if limit else []:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
