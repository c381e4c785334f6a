"""``audiogen evaluate --model DIR_OR_HUB_ID``: a trained Jam Assistant pipeline on MUSDB clips.

Next-frame metrics in the mel domain (MSE, spectral-feature errors, the engine's validation metrics) on every clip,
and audio metrics through the shipped ``evaluate`` modules (spectral convergence, log-spectral distance,
spectral-feature errors of the STFT) on the Griffin-Lim audio of the first ``--audio_samples`` target/prediction
pairs, which ``--save_audio`` keeps (wavs + pictures) in ``--output_dir``. Writes ``metrics.json``.

Continuation metrics (``continuation/...``, ``audiogen_hf.evaluation.continuation``): the first ``--prompt_seconds``
of each window of the subset (hop ``--hop_seconds``) continued by ``--continuation_seconds`` and compared with the
true continuation, median over windows (and ``--seeds`` sampling seeds), with ``continuation/goals/...`` saying
which of the Jam Assistant's goals are met.
"""

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .common import UserError, hf_parser

AUDIO_METRICS = ["spectral_convergence", "log_spectral_distance", "spectral_feature_errors"]


@dataclass
class EvaluateArguments:
    model: str = field(default="outputs/mel_lstm_musdb/pipeline", metadata={"help": "Pipeline folder or Hub id."})
    musdb_root: str = field(default="data/corpus/musdb", metadata={"help": "MUSDB18(-HQ) folder or the corpus."})
    subset: str = "test"
    clip_seconds: float = 7.0
    batch_size: int = 8
    save_audio: bool = field(default=False, metadata={"help": "Keep the target/prediction wavs and pictures."})
    audio_samples: int = field(default=2, metadata={"help": "Clips whose audio is scored (and saved)."})
    output_dir: str = "outputs/evaluation"
    prompt_seconds: float = 5.0
    continuation_seconds: float = 5.0
    hop_seconds: float = 5.0
    seeds: int = field(default=1, metadata={"help": "Sampling seeds per continuation window."})
    temperature: Optional[float] = field(default=None, metadata={"help": "Default: the model's sampling_temperature."})
    level_control: Optional[float] = field(default=None, metadata={"help": "Default: the model's level_control."})


def evaluate_pipeline(args: EvaluateArguments) -> dict:
    import soundfile as sf
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    from ..evaluation.continuation import continuation_goals, median_metrics
    from ..evaluation.hf_metrics import combine_metrics
    from ..pipelines import MelContinuationPipeline
    from ..training import MelLSTMArguments, MelLSTMObjective
    from ..utils.hub_utils import load_pipeline

    pipe = load_pipeline(args.model)
    if not isinstance(pipe, MelContinuationPipeline):
        raise UserError(f"{args.model} is a {type(pipe).__name__}; audiogen evaluate scores MelContinuationPipeline "
                        "(autoencoders: their validation metrics are in the training run's model card, and "
                        "`audiogen reconstruct` scores one file)")
    model, converter = pipe.model.eval(), pipe.converter
    c = converter.config
    data = MelLSTMArguments(musdb_root=args.musdb_root, sampling_rate=c.sampling_rate, clip_seconds=args.clip_seconds,
                            continuation_prompt_seconds=args.prompt_seconds,
                            continuation_seconds=args.continuation_seconds)
    objective = MelLSTMObjective(data, converter=converter)  # the pipeline's own mel analysis
    clips = objective.mels(subsets=args.subset, split=None)
    if len(clips) == 0:
        raise UserError(f"no {args.clip_seconds} s clips in {args.musdb_root} ({args.subset})")
    metrics = objective.evaluate(model, DataLoader(clips, batch_size=args.batch_size), Accelerator())
    metrics["clips"] = len(clips)
    windows = objective.continuation_windows(subsets=args.subset, hop_seconds=args.hop_seconds)
    if len(windows):
        rows = [row for seed in range(args.seeds)
                for row in objective.continuations(model, windows, temperature=args.temperature, seed=seed,
                                                   level_control=args.level_control)]
        summary = median_metrics(rows)
        metrics.update({f"continuation/{k}": v for k, v in summary.items()})
        metrics.update({f"continuation/goals/{k}": float(v) for k, v in continuation_goals(summary).items()})
        metrics["continuation/clips"] = len(windows)

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if args.audio_samples:
        with tempfile.TemporaryDirectory() as scratch:
            directory = output_dir if args.save_audio else Path(scratch)
            objective.write_samples(model, clips, args.audio_samples, directory)
            pairs = [(sf.read(directory / f"sample_{i}_target.wav", dtype="float32")[0],
                      sf.read(directory / f"sample_{i}_prediction.wav", dtype="float32")[0])
                     for i in range(min(args.audio_samples, len(clips)))]
        scores = combine_metrics(AUDIO_METRICS).compute(
            predictions=[p for _, p in pairs], references=[t for t, _ in pairs], sampling_rate=c.sampling_rate)
        metrics.update({f"audio_{name}": value for name, value in scores.items()})
        metrics["audio_clips"] = len(pairs)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def main(argv=None, prog="audiogen evaluate") -> dict:
    (args,) = hf_parser(prog, EvaluateArguments, __doc__).parse_args_into_dataclasses(args=argv)
    metrics = evaluate_pipeline(args)
    width = max(map(len, metrics))
    print(f"{'metric':{width}s}{'value':>14s}")
    for name, value in metrics.items():
        print(f"{name:{width}s}{value:14.6g}")
    print(f"metrics.json{' and audio samples + pictures' if args.save_audio else ''} in {args.output_dir}")
    return metrics
