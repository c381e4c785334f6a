#!/usr/bin/env python
"""Fashion-MNIST: the seed's SimpleUNetModel vs diffusers' UNet2DModel of similar size, same wall time of training.

Each model is class-conditional (classifier-free guidance), trained through the engine for ``--minutes`` (the step
count comes from timing a few steps first, on this machine, under its load), then measured with
``--num_samples`` DDIM-50 samples: FID / KID vs as many test images, in the feature space of the FID classifier, beside
the real-vs-real floor (as many training vs test images), and the share of guided samples the classifier assigns to
the asked class at each of ``--guidance_scales``. Each run writes ``<output_dir>/<unet_type>.json``; the table (with
the FID ratio) is printed when both are there, so the two can run in parallel under the same load
(``--evaluate_only`` measures a finished run again, e.g. at other guidance scales or ``--eta``: DDIM's
stochasticity, 0 deterministic, 1 as stochastic as DDPM):

    python scripts/benchmarks/bench_ddpm_fashion_mnist.py --unet_type simple --minutes 20 &
    python scripts/benchmarks/bench_ddpm_fashion_mnist.py --unet_type unet2d --minutes 20
"""

import argparse
import json
import logging
import time
from pathlib import Path

import torch
from diffusers import DDIMScheduler

from audiogen_hf.data import load_mnist
from audiogen_hf.evaluation.fid import classify, feature_extractor, fid_kid, images_from_dataset, real_vs_real_floor
from audiogen_hf.models import ImageClassifierModel
from audiogen_hf.pipelines import ImageDiffusionPipeline
from audiogen_hf.training import ImageDiffusionArguments, ImageDiffusionObjective, TrainingArguments, train

SIZES = {"simple": ([32, 64], 2), "unet2d": ([24, 48], 1)}  # ~0.31 M vs ~0.37 M parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unet_type", choices=sorted(SIZES), required=True)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--num_samples", type=int, default=1000)
    parser.add_argument("--accuracy_samples", type=int, default=200)
    parser.add_argument("--guidance_scales", default="1.25,1.5,2,3", help="comma-separated scales (class accuracy)")
    parser.add_argument("--eta", type=float, default=1.0, help="DDIM eta of every sample (0 deterministic, 1 as "
                        "stochastic as DDPM: measured better, README)")
    parser.add_argument("--evaluate_only", action="store_true", help="reuse <output_dir>/<unet_type> (no training)")
    parser.add_argument("--dataset", default="data/corpus/fashion_mnist")
    parser.add_argument("--fid_classifier", default="outputs/fid_classifier/fashion_mnist")
    parser.add_argument("--output_dir", default="outputs/bench_ddpm")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.output_dir)
    channels, layers = SIZES[args.unet_type]
    model_args = ImageDiffusionArguments(dataset=args.dataset, unet_type=args.unet_type, block_out_channels=channels,
                                         layers_per_block=layers, class_conditional=True, fid_num_samples=0,
                                         valid_size=256, fid_classifier=args.fid_classifier)
    objective = ImageDiffusionObjective(model_args)
    train_set, _ = objective.datasets()
    run_dir = out / args.unet_type
    if args.evaluate_only:
        previous = json.loads((out / f"{args.unet_type}.json").read_text())
        parameters, max_steps, train_s = previous["parameters"], previous["train_steps"], previous["train_seconds"]
    else:
        parameters, max_steps, train_s = train_for(objective, train_set, args.minutes, run_dir, args.unet_type)

    pipe = ImageDiffusionPipeline.from_pretrained(run_dir / "pipeline")
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    classifier = ImageClassifierModel.from_pretrained(args.fid_classifier).eval()
    features = feature_extractor(classifier)
    generator = torch.Generator().manual_seed(0)

    def sample(count: int, guidance: float) -> tuple:
        labels = torch.arange(count) % 10
        images = [pipe(num_samples=len(chunk), class_labels=chunk.tolist(), guidance_scale=guidance,
                       num_inference_steps=50, generator=generator, eta=args.eta, output_type="pt").images
                  for chunk in labels.split(100)]
        return torch.cat(images), labels

    started = time.perf_counter()
    fake, _ = sample(args.num_samples, 1.0)
    sample_s = time.perf_counter() - started
    test = images_from_dataset(load_mnist(args.dataset, "test").shuffle(seed=1), args.num_samples)
    scores = fid_kid(test, fake, features)
    floor = real_vs_real_floor((train_set.images + 1) / 2, test, features, args.num_samples)
    accuracy, samples = {}, {}
    for scale in [float(x) for x in args.guidance_scales.split(",")]:
        samples[scale] = sample(args.accuracy_samples, scale)
        guided, labels = samples[scale]
        accuracy[scale] = float((classify(classifier, guided) == labels).float().mean())
        print(f"guidance {scale:g}: {accuracy[scale]:.3f} of {args.accuracy_samples} samples in the asked class")
    best = max(accuracy, key=accuracy.get)
    guided, labels = samples[best]  # the grid shows the best scale's samples
    unguided_accuracy = float((classify(classifier, fake) == torch.arange(len(fake)) % 10).float().mean())
    result = {"unet_type": args.unet_type, "parameters": parameters, "train_seconds": train_s,
              "train_steps": max_steps, "train_images_seen": max_steps * 64, "num_samples": args.num_samples,
              "sampling_seconds": round(sample_s, 1), "eta": args.eta, **scores,
              **{f"{k}_real_vs_real": v for k, v in floor.items()},
              "guided_class_accuracy": accuracy[best], "guidance_scale": best,
              "guided_class_accuracy_by_scale": {f"{k:g}": v for k, v in accuracy.items()},
              "accuracy_samples": args.accuracy_samples, "unguided_class_accuracy": unguided_accuracy,
              "classifier_test_accuracy": (Path(args.fid_classifier) / "test_accuracy.txt").read_text().strip()}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.unet_type}.json").write_text(json.dumps(result, indent=2) + "\n")
    from PIL import Image  # noqa: F401  (grid of the guided samples, one row per class)

    from audiogen_hf.pipelines.image_diffusion import image_grid

    order = [i for c in range(10) for i in (labels == c).nonzero()[:10, 0].tolist()]
    image_grid(guided[order], rows=10).save(out / f"{args.unet_type}_guided_grid.png")
    report(out)


def train_for(objective, train_set, minutes: float, run_dir: Path, name: str) -> tuple:
    """Train for about ``minutes``: the step count comes from timing a few steps first. -> (parameters, steps, s)."""
    model = objective.build_model()
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = {"pixel_values": train_set.images[:64], "labels": train_set.labels[:64]}
    for index in range(8):  # 3 warm-up steps, then time 5
        if index == 3:
            start = time.perf_counter()
        objective.compute_loss(model, batch).backward()
        optimizer.step()
        optimizer.zero_grad()
    step_s = (time.perf_counter() - start) / 5
    max_steps = max(10, int(minutes * 60 / step_s))
    print(f"{name}: {parameters / 1e6:.3f} M parameters, {step_s:.3f} s/step -> {max_steps} steps")
    training = TrainingArguments(output_dir=str(run_dir), batch_size=64, learning_rate=1e-3, max_steps=max_steps,
                                 use_ema=True, ema_decay=0.995, report_to="none", validation_samples=0)
    started = time.perf_counter()
    train(objective, training)
    return parameters, max_steps, round(time.perf_counter() - started, 1)


def report(out: Path) -> None:
    rows = {name: json.loads((out / f"{name}.json").read_text()) for name in SIZES if (out / f"{name}.json").is_file()}
    print("| model | params | train s | steps | FID | KID | FID real-vs-real | guided class acc (scale) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['parameters'] / 1e6:.2f} M | {r['train_seconds']:.0f} | {r['train_steps']} | "
              f"{r['fid']:.2f} | {r['kid_mean']:.4f} ± {r['kid_std']:.4f} | {r['fid_real_vs_real']:.2f} | "
              f"{r['guided_class_accuracy']:.3f} ({r['guidance_scale']:g}) |")
    if len(rows) == 2:
        ratio = rows["simple"]["fid"] / rows["unet2d"]["fid"]
        print(f"FID ratio simple / unet2d: {ratio:.2f} (goal <= 2); FID classifier test accuracy "
              f"{rows['simple']['classifier_test_accuracy']}")


if __name__ == "__main__":
    main()
