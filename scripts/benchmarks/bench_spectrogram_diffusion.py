#!/usr/bin/env python
"""Spectrogram diffusion: generation speed (DDIM) and genre accuracy of generated clips.

    python scripts/benchmarks/bench_spectrogram_diffusion.py --model outputs/spectrogram_diffusion_gtzan/pipeline \
        --gtzan_root data/corpus_full/gtzan [--clips_per_genre 8 --num_inference_steps 50 --guidance_scale 2]

- seconds of compute per second of generated audio (DDIM, every genre, guidance as given), and the share of that
  time spent outside the U-Net (scheduler, guidance arithmetic, de-normalisation, Griffin-Lim): goal <= 10 %;
- genre accuracy of the generated clips by a genre classifier (``ImageClassifierModel`` on the same normalised mel
  spectrograms) trained on the corpus's train + valid clips, with its accuracy on the test clips and the chance level.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from diffusers import DDIMScheduler

from audiogen_hf.data.clips import cache_spectrograms, window_clips
from audiogen_hf.data.gtzan import load_gtzan
from audiogen_hf.evaluation.fid import classify, train_feature_classifier
from audiogen_hf.models import ImageClassifierConfig
from audiogen_hf.pipelines import MelDiffusionPipeline


def corpus_spectrograms(pipe, root: str, split: str) -> tuple:
    """Normalised mel clips ``[N, 1, n_mels, frames]`` (half-clip hops) and genre ids of a split."""
    frames = pipe.unet.config.sample_size[1]
    rate, hop = pipe.converter.config.sampling_rate, pipe.converter.config.hop_length
    seconds = (frames - 1) * hop / rate
    sources = load_gtzan(root, split=split)
    names = sources.features["label"].names
    if names != pipe.genres:
        raise SystemExit(f"the corpus's genres {names} differ from the pipeline's {pipe.genres}")
    windows = window_clips(sources, seconds, rate, channels=1, hop_seconds=seconds / 2)
    cached = cache_spectrograms(windows, pipe.converter, audio_column="audio").with_format("torch")[:]
    return cached["spectrogram"][..., :frames].float(), cached["label"].long()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--gtzan_root", default="data/corpus_full/gtzan")
    parser.add_argument("--clips_per_genre", type=int, default=8)
    parser.add_argument("--num_inference_steps", type=int, default=50)
    parser.add_argument("--guidance_scale", type=float, default=2.0)
    parser.add_argument("--classifier_epochs", type=int, default=30)
    parser.add_argument("--output", default="outputs/bench_spectrogram_diffusion.json")
    args = parser.parse_args()
    pipe = MelDiffusionPipeline.from_pretrained(args.model)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    genres = pipe.genres
    if not genres:
        raise SystemExit("the pipeline is unconditional: genre accuracy needs a genre-conditioned model")

    unet_seconds = [0.0]
    started = {}
    pipe.unet.register_forward_pre_hook(lambda *_: started.__setitem__("t", time.perf_counter()))
    pipe.unet.register_forward_hook(lambda *_: unet_seconds.__setitem__(0, unet_seconds[0] +
                                                                        time.perf_counter() - started["t"]))
    labels = [g for g in genres for _ in range(args.clips_per_genre)]
    pipe(genre=genres[0], num_samples=1, num_inference_steps=2)  # warm-up
    unet_seconds[0] = 0.0
    begin = time.perf_counter()
    output = pipe(genre=labels, num_samples=len(labels), num_inference_steps=args.num_inference_steps,
                  guidance_scale=args.guidance_scale, generator=torch.Generator().manual_seed(0), output_type="pt")
    total = time.perf_counter() - begin
    audio_seconds = output.audios.shape[-1] / output.sampling_rate * len(labels)

    train_x, train_y = corpus_spectrograms(pipe, args.gtzan_root, "train")
    try:
        valid_x, valid_y = corpus_spectrograms(pipe, args.gtzan_root, "valid")
    except FileNotFoundError:  # a corpus without valid files: the classifier trains on the train split alone
        valid_x, valid_y = train_x[:0], train_y[:0]
    test_x, test_y = corpus_spectrograms(pipe, args.gtzan_root, "test")
    config = ImageClassifierConfig(channels=[16, 32, 64], feature_dim=64, num_labels=len(genres), class_names=genres,
                                   dropout=0.3)
    classifier, test_accuracy = train_feature_classifier(
        torch.cat([train_x, valid_x]), torch.cat([train_y, valid_y]), test_x, test_y, config=config,
        epochs=args.classifier_epochs, batch_size=16, learning_rate=3e-3, augment_shift=32)
    normalised = ((output.spectrograms - pipe.converter.config.norm_range[0])
                  / (pipe.converter.config.norm_range[1] - pipe.converter.config.norm_range[0])).clamp(0, 1)
    predicted = classify(classifier, normalised[:, None])
    target = torch.tensor([genres.index(g) for g in labels])
    result = {
        "clips": len(labels), "clip_seconds": output.audios.shape[-1] / output.sampling_rate,
        "num_inference_steps": args.num_inference_steps, "guidance_scale": args.guidance_scale,
        "seconds_per_generated_second": total / audio_seconds, "unet_seconds": unet_seconds[0],
        "total_seconds": total, "share_outside_unet": 1 - unet_seconds[0] / total,
        "genre_classifier_test_accuracy": test_accuracy, "genre_classifier_test_clips": len(test_y),
        "genre_accuracy_generated": float((predicted == target).float().mean()), "chance": 1 / len(genres),
        "per_genre_generated": {g: float((predicted[target == i] == i).float().mean()) for i, g in enumerate(genres)},
        "threads": torch.get_num_threads(),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"| DDIM-{args.num_inference_steps}, guidance {args.guidance_scale} | value |\n|---|---|")
    print(f"| seconds per generated second | {result['seconds_per_generated_second']:.3f} |")
    print(f"| share outside the U-Net (goal <= 10 %) | {100 * result['share_outside_unet']:.1f} % |")
    print(f"| genre classifier, test clips ({len(test_y)}) | {test_accuracy:.3f} |")
    print(f"| genre accuracy of {len(labels)} generated clips | {result['genre_accuracy_generated']:.3f} "
          f"(chance {result['chance']:.3f}) |")


if __name__ == "__main__":
    main()
