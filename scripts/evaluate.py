"""Evaluate a trained Jam Assistant pipeline on MUSDB clips: next-frame metrics and target/prediction audio.

    python scripts/evaluate.py --model outputs/mel_lstm_musdb/pipeline --musdb_root data/corpus/musdb \
        --save_audio --audio_samples 2 --output_dir outputs/evaluation

Prints a metrics table and writes ``metrics.json`` (and ``sample_<i>_{target,prediction}.wav`` with their pictures).
"""

import json
from dataclasses import dataclass
from pathlib import Path

from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import HfArgumentParser

from audiogen_hf.pipelines import MelContinuationPipeline
from audiogen_hf.training import MelLSTMArguments, MelLSTMObjective


@dataclass
class EvaluateArguments:
    model: str = "outputs/mel_lstm_musdb/pipeline"
    musdb_root: str = "data/corpus/musdb"
    subset: str = "test"
    clip_seconds: float = 7.0
    batch_size: int = 8
    save_audio: bool = False
    audio_samples: int = 2
    output_dir: str = "outputs/evaluation"


def main(argv=None) -> dict:
    (args,) = HfArgumentParser(EvaluateArguments).parse_args_into_dataclasses(args=argv)
    pipe = MelContinuationPipeline.from_pretrained(args.model)
    model, converter = pipe.model.eval(), pipe.converter
    c = converter.config
    data = MelLSTMArguments(musdb_root=args.musdb_root, sampling_rate=c.sampling_rate, clip_seconds=args.clip_seconds)
    objective = MelLSTMObjective(data, converter=converter)  # the pipeline's own mel analysis
    clips = objective.mels(subsets=args.subset, split=None)
    metrics = objective.evaluate(model, DataLoader(clips, batch_size=args.batch_size), Accelerator())
    metrics["clips"] = len(clips)

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    print(f"{'metric':12s}{'value':>14s}")
    for name, value in metrics.items():
        print(f"{name:12s}{value:14.6g}")
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))

    if args.save_audio:
        objective.write_samples(model, clips, args.audio_samples, output_dir)
        print(f"audio samples and pictures in {output_dir}")
    return metrics


if __name__ == "__main__":
    main()
