#!/usr/bin/env python
"""Sample images from a trained DDPM (the seed's `--mode infer`): a grid and one PNG per sample.

    python scripts/generate_images.py --model outputs/ddpm_fashion_mnist/pipeline --num_samples 16 \
        [--class_label 3 | --class_label Sneaker] [--scheduler ddim --num_inference_steps 50 --eta 1] \
        [--guidance_scale 1.5]

``--model`` is a saved ``ImageDiffusionPipeline`` folder (``pipeline/`` of a training run) or a training run's
output folder. Without ``--class_label`` a class-conditional model samples the classes in turn (guided if
``--guidance_scale`` > 1); an unconditional one samples freely.
"""

import argparse
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DDPMScheduler

from audiogen_hf.pipelines import ImageDiffusionPipeline
from audiogen_hf.pipelines.image_diffusion import image_grid, null_class_label

SCHEDULERS = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="ImageDiffusionPipeline folder (or a run's output_dir)")
    parser.add_argument("--num_samples", type=int, default=16)
    parser.add_argument("--class_label", default=None, help="class id or name (default: classes in turn)")
    parser.add_argument("--scheduler", choices=sorted(SCHEDULERS), default="ddpm")
    parser.add_argument("--num_inference_steps", type=int, default=None,
                        help="default: every training step for ddpm, 50 for ddim")
    parser.add_argument("--guidance_scale", type=float, default=1.0)
    parser.add_argument("--eta", type=float, default=None,
                        help="ddim only: 0 deterministic, 1 as stochastic as DDPM (the default for ddim: more samples "
                             "in the asked class, scripts/benchmarks/bench_ddpm_fashion_mnist.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default="outputs/generated_images")
    args = parser.parse_args(argv)
    if args.eta is not None and args.scheduler != "ddim":
        parser.error("--eta is an option of the ddim scheduler (add --scheduler ddim)")
    folder = Path(args.model)
    if not (folder / "model_index.json").is_file() and (folder / "pipeline" / "model_index.json").is_file():
        folder = folder / "pipeline"
    if not (folder / "model_index.json").is_file():
        raise SystemExit(f"{args.model} holds no saved pipeline (model_index.json); pass a training run's "
                         "output_dir or its pipeline/ folder")
    pipe = ImageDiffusionPipeline.from_pretrained(folder)
    pipe.scheduler = SCHEDULERS[args.scheduler].from_config(pipe.scheduler.config)
    eta = args.eta if args.eta is not None else (1.0 if args.scheduler == "ddim" else None)
    steps = args.num_inference_steps or (50 if args.scheduler == "ddim" else pipe.scheduler.config.num_train_timesteps)
    labels = None
    null = null_class_label(pipe.unet)
    if args.class_label is not None:
        labels = int(args.class_label) if args.class_label.isdigit() else args.class_label
    elif null is not None:
        labels = [i % null for i in range(args.num_samples)]
    images = pipe(num_samples=args.num_samples, class_labels=labels, guidance_scale=args.guidance_scale,
                  num_inference_steps=steps, generator=torch.Generator().manual_seed(args.seed), eta=eta,
                  output_type="pt").images
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = pipe.config.class_names
    ids = pipe.class_ids(labels, args.num_samples) if labels is not None else None
    files = [out / "grid.png"]
    image_grid(images).save(files[0])
    for index, image in enumerate(images):
        tag = "" if ids is None else f"_{(names[ids[index]] if names else str(int(ids[index]))).replace('/', '-')}"
        files.append(out / f"sample_{index:03d}{tag}.png")
        image_grid(image[None], pad=0).save(files[-1])
    print(f"wrote {len(files) - 1} samples and {files[0]} ({args.scheduler}, {steps} steps, guidance "
          f"{args.guidance_scale})")
    return files


if __name__ == "__main__":
    main()
