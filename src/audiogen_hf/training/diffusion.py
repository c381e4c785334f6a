"""The DDPM image objective (the seed's digit-image system): noise-prediction MSE on 28 x 28 MNIST-format images.

Validation samples ``fid_num_samples`` images with DDIM (``fid_inference_steps``) from the EMA weights, and reports
FID and KID against the validation images in the feature space of a classifier trained on the training split (see
``evaluation/fid.py``), beside the real-vs-real floor of as many training images; a grid of samples is written.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from torch.utils.data import Dataset

from ..data.mnist import load_mnist
from ..evaluation.fid import (
    classify,
    feature_extractor,
    fid_kid,
    images_from_dataset,
    real_vs_real_floor,
    train_feature_classifier,
)
from ..logging_utils import get_logger
from ..models import ImageClassifierModel, SimpleUNetModel
from ..pipelines.image_diffusion import ImageDiffusionPipeline, image_grid, null_class_label

logger = get_logger(__name__)
UNET_TYPES = ("simple", "unet2d")


@dataclass
class ImageDiffusionArguments:
    """Data, U-Net and noise schedule (the seed: 1000 linear betas 1e-4 .. 0.02), and how validation measures."""

    dataset: str = field(default="data/corpus/fashion_mnist", metadata={
        "help": "Folder of MNIST-format IDX files, or a Hub id (ylecun/mnist needs the network)."})
    train_size: Optional[int] = field(default=None, metadata={"help": "Use only the first N training images."})
    valid_size: int = field(default=1000, metadata={"help": "Test images used for validation loss and FID."})
    unet_type: str = field(default="simple", metadata={"help": "simple (the seed's SimpleUNetModel) or unet2d "
                                                               "(diffusers' UNet2DModel)."})
    block_out_channels: list[int] = field(default_factory=lambda: [64, 128])
    layers_per_block: int = 2
    norm_num_groups: int = 8
    class_conditional: bool = field(default=False, metadata={
        "help": "Condition on the label (classifier-free guidance: labels dropped at condition_dropout)."})
    condition_dropout: float = 0.1
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    fid_num_samples: int = field(default=256, metadata={"help": "Generated images per validation FID (0: none)."})
    fid_inference_steps: int = field(default=50, metadata={"help": "DDIM steps for validation samples."})
    ddim_eta: float = field(default=1.0, metadata={
        "help": "DDIM eta of validation samples: 0 deterministic, 1 as stochastic as DDPM (measured best)."})
    guidance_scale: float = field(default=1.5, metadata={
        "help": "Guidance of class-conditional validation samples (1.5 measured best on Fashion-MNIST, eta 1)."})
    fid_features: str = field(default="classifier", metadata={"help": "classifier or inception (cached weights)."})
    fid_classifier: Optional[str] = field(default=None, metadata={
        "help": "Folder of the FID feature classifier; trained there on the training split when missing "
                "(default: outputs/fid_classifier/<dataset folder name>)."})
    fid_classifier_epochs: int = 2

    def __post_init__(self):
        if self.unet_type not in UNET_TYPES:
            raise ValueError(f"unet_type must be one of {UNET_TYPES}, got {self.unet_type!r}")
        if not 0.0 <= self.condition_dropout < 1.0:
            raise ValueError(f"condition_dropout must be in [0, 1), got {self.condition_dropout}")
        if self.fid_num_samples == 1 or self.fid_num_samples < 0:
            raise ValueError(f"fid_num_samples must be 0 (no FID) or >= 2, got {self.fid_num_samples}")
        if not 0.0 <= self.ddim_eta <= 1.0:
            raise ValueError(f"ddim_eta must be in [0, 1] (0: deterministic, 1: as stochastic as DDPM), got "
                             f"{self.ddim_eta}")
        if self.guidance_scale < 1.0:
            raise ValueError(f"guidance_scale must be >= 1, got {self.guidance_scale}")
        if self.fid_features not in ("classifier", "inception"):
            raise ValueError(f"fid_features must be 'classifier' or 'inception', got {self.fid_features!r}")
        if self.valid_size < 2:
            raise ValueError(f"valid_size must be >= 2, got {self.valid_size}")


class ImageTensors(Dataset):
    """``pixel_values`` ``[1, 28, 28]`` in [-1, 1] and ``labels`` from an MNIST-format dataset, held as tensors."""

    def __init__(self, dataset, limit: Optional[int] = None):
        self.images = images_from_dataset(dataset, limit) * 2 - 1
        self.labels = torch.tensor(dataset["label"][: len(self.images)], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return {"pixel_values": self.images[index], "labels": self.labels[index]}


def build_unet(args: ImageDiffusionArguments, num_classes: int, sample_size: int = 28):
    """The seed's ``SimpleUNetModel`` or a diffusers ``UNet2DModel`` of the same widths (null label = last class)."""
    classes = num_classes if args.class_conditional else None
    if args.unet_type == "simple":
        return SimpleUNetModel(sample_size=sample_size, block_out_channels=tuple(args.block_out_channels),
                               layers_per_block=args.layers_per_block, num_class_embeds=classes,
                               norm_num_groups=args.norm_num_groups)
    depth = len(args.block_out_channels)
    return UNet2DModel(sample_size=sample_size, in_channels=1, out_channels=1,
                       block_out_channels=tuple(args.block_out_channels), layers_per_block=args.layers_per_block,
                       down_block_types=("DownBlock2D",) * depth, up_block_types=("UpBlock2D",) * depth,
                       norm_num_groups=args.norm_num_groups, num_class_embeds=classes + 1 if classes else None)


class ImageDiffusionObjective:
    def __init__(self, args: ImageDiffusionArguments):
        self.args = args
        self.scheduler = DDPMScheduler(num_train_timesteps=args.num_train_timesteps, beta_schedule=args.beta_schedule,
                                       beta_start=args.beta_start, beta_end=args.beta_end)
        self.class_names: Optional[list] = None
        self._features = self._classifier = self._floor = self._train = None
        self._last_samples = self._last_labels = None

    # ------------------------------------------------------------------ data and model
    def datasets(self):
        a = self.args
        train_rows, test_rows = load_mnist(a.dataset, "train"), load_mnist(a.dataset, "test")
        self.class_names = train_rows.features["label"].names
        self._train = ImageTensors(train_rows, a.train_size)
        valid = ImageTensors(test_rows.shuffle(seed=0), a.valid_size)
        if a.fid_num_samples:
            self._prepare_features(train_rows, test_rows)
        return self._train, valid

    def _prepare_features(self, train_rows, test_rows) -> None:
        a = self.args
        folder = Path(a.fid_classifier or Path("outputs/fid_classifier") / Path(a.dataset).name)
        if a.fid_features == "inception":
            self._features = feature_extractor("inception")
        if (folder / "config.json").is_file():
            self._classifier = ImageClassifierModel.from_pretrained(folder).eval()
        else:
            logger.info("training the FID feature classifier into %s", folder)
            self._classifier, _ = train_feature_classifier(
                images_from_dataset(train_rows), torch.tensor(train_rows["label"]), images_from_dataset(test_rows),
                torch.tensor(test_rows["label"]), folder, class_names=self.class_names,
                epochs=a.fid_classifier_epochs)
        accuracy = folder / "test_accuracy.txt"
        if accuracy.is_file():
            logger.info("FID feature classifier %s: test accuracy %s", folder, accuracy.read_text().strip())
        self._features = self._features or feature_extractor(self._classifier)

    def build_model(self):
        return build_unet(self.args, len(self.class_names or []) or 10)

    def compute_loss(self, model, batch) -> torch.Tensor:
        images = batch["pixel_values"]
        noise = torch.randn_like(images)
        timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(images),), device=images.device)
        noisy = self.scheduler.add_noise(images, noise, timesteps)
        labels = self._training_labels(model, batch["labels"])
        return F.mse_loss(model(noisy, timesteps, class_labels=labels).sample.float(), noise.float())

    def _training_labels(self, model, labels: torch.Tensor) -> Optional[torch.Tensor]:
        null = null_class_label(_unwrap(model))
        if null is None:
            return None
        drop = torch.rand(len(labels), device=labels.device) < self.args.condition_dropout
        return torch.where(drop, torch.full_like(labels, null), labels)

    # ------------------------------------------------------------------ validation
    def pipeline(self, model) -> ImageDiffusionPipeline:
        pipe = ImageDiffusionPipeline(unet=model, scheduler=self.scheduler, class_names=self.class_names)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @torch.no_grad()
    def sample(self, model, count: int, seed: int = 0) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``count`` DDIM samples ``[count, 1, 28, 28]`` in [0, 1]; class-conditional: classes in turn, guided."""
        pipe = self.pipeline(model)
        pipe.scheduler = DDIMScheduler.from_config(self.scheduler.config)
        conditional = null_class_label(model) is not None
        labels = torch.arange(count) % len(self.class_names) if conditional else None
        generator = torch.Generator().manual_seed(seed)
        images = []
        for start in range(0, count, 128):
            chunk = None if labels is None else labels[start: start + 128].tolist()
            images.append(pipe(num_samples=min(128, count - start), class_labels=chunk,
                               guidance_scale=self.args.guidance_scale if conditional else 1.0,
                               num_inference_steps=self.args.fid_inference_steps, generator=generator,
                               eta=self.args.ddim_eta, output_type="pt").images.cpu())
        return torch.cat(images), labels

    @torch.no_grad()
    def evaluate(self, model, dataloader, accelerator) -> dict:
        """Denoising MSE at fixed (seeded) noise and steps; FID/KID of DDIM samples vs the validation images and the
        real-vs-real floor; class accuracy of guided samples by the FID classifier (class-conditional models)."""
        generator = torch.Generator().manual_seed(1234)
        losses, reals = [], []
        for batch in dataloader:
            images = batch["pixel_values"]
            noise = torch.randn(images.shape, generator=generator).to(images.device, images.dtype)
            timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(images),),
                                      generator=generator).to(images.device)
            noisy = self.scheduler.add_noise(images, noise, timesteps)
            labels = batch["labels"] if null_class_label(model) is not None else None
            prediction = model(noisy, timesteps, class_labels=labels).sample.float()
            losses.append(accelerator.gather_for_metrics(((prediction - noise.float()) ** 2).mean(dim=(1, 2, 3))))
            reals.append(accelerator.gather_for_metrics(images))
        results = {"loss": float(torch.cat(losses).mean())}
        if not self.args.fid_num_samples or self._features is None:
            return results
        real = (torch.cat(reals).float().cpu() + 1) / 2
        fake, labels = self.sample(model, self.args.fid_num_samples)
        self._last_samples, self._last_labels = fake, labels
        count = min(len(fake), len(real))
        results.update(fid_kid(real[:count], fake[:count], self._features))
        if self._floor is None:
            self._floor = real_vs_real_floor((self._train.images + 1) / 2, real, self._features, count)
        results.update({f"{k}_real_vs_real": v for k, v in self._floor.items() if k != "kid_std"})
        if labels is not None and self._classifier is not None:
            results["class_accuracy"] = float((classify(self._classifier, fake) == labels).float().mean())
        logger.info("FID %.3f (real-vs-real floor %.3f), KID %.4f, %d samples", results["fid"],
                    results["fid_real_vs_real"], results["kid_mean"], count)
        return results

    def write_samples(self, model, dataset, count: int, directory: Path) -> list[Path]:
        """A grid of the validation samples (one row per class for class-conditional models)."""
        samples = self._last_samples
        if samples is None:
            samples, self._last_labels = self.sample(model, 64)
        directory.mkdir(parents=True, exist_ok=True)
        rows = None
        if self._last_labels is not None:
            classes = len(self.class_names)
            per_class = min(8, len(samples) // classes) or 1
            order = [i for c in range(classes) for i in (self._last_labels == c).nonzero()[:per_class, 0].tolist()]
            samples, rows = samples[order], classes
        else:
            samples = samples[:64]
        path = directory / "samples_grid.png"
        image_grid(samples, rows=rows).save(path)
        self._last_samples = None
        return [path]

    def save(self, model, output_dir: Path) -> ImageDiffusionPipeline:
        model.save_pretrained(output_dir / "model")
        pipe = self.pipeline(model)
        pipe.save_pretrained(output_dir / "pipeline")
        if self._classifier is not None:
            (output_dir / "pipeline" / "fid_classifier.json").write_text(json.dumps(
                {"path": str(Path(self.args.fid_classifier or Path("outputs/fid_classifier") /
                                  Path(self.args.dataset).name).resolve())}) + "\n")
        return pipe

    def card_data(self) -> dict:
        a = self.args
        kind = "class-conditional " if a.class_conditional else ""
        name = "the seed's SimpleUNetModel" if a.unet_type == "simple" else "diffusers' UNet2DModel"
        return {
            "title": f"{kind}DDPM on {Path(a.dataset).name} (28 x 28)",
            "description": (f"{name} (block_out_channels {a.block_out_channels}) predicting the noise of a "
                            f"{a.num_train_timesteps}-step {a.beta_schedule} schedule ({a.beta_start} .. "
                            f"{a.beta_end}). Load `ImageDiffusionPipeline` from `../pipeline`; FID/KID are in the "
                            "feature space of a classifier trained on the training split (no Inception offline)."),
            "data": f"MNIST-format images from `{a.dataset}` (train split).",
            "datasets": ["zalando-datasets/fashion_mnist"] if "fashion" in a.dataset else ["ylecun/mnist"],
        }


def _unwrap(model):
    return getattr(model, "module", model)
