"""FID and KID of generated images, in the feature space of a small classifier trained here (or Inception's).

InceptionV3 weights cannot be downloaded on an offline machine, so by default the features are the penultimate
activations of an ``ImageClassifierModel`` trained on the training split (:func:`train_feature_classifier`, saved with
``save_pretrained``). torchmetrics' ``FrechetInceptionDistance(feature=module)`` / ``KernelInceptionDistance`` do the
statistics. A generated FID means little alone: always report the real-vs-real floor (training images vs test
images, :func:`real_vs_real_floor`) beside it. ``features="inception"`` uses torch-fidelity's InceptionV3 where its
weights are already cached.

Images everywhere here: float ``[batch, channels, height, width]`` in [0, 1].
"""

import logging
import math
import os
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from tqdm.auto import tqdm

from ..models import ImageClassifierConfig, ImageClassifierModel

logger = logging.getLogger(__name__)
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception


class ClassifierFeatures(nn.Module):
    """The classifier's penultimate features as a torchmetrics feature extractor (``num_features`` attribute)."""

    def __init__(self, classifier: ImageClassifierModel):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.config.feature_dim

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images.float().to(self.classifier.device)).features.double()


class InceptionFeatures(nn.Module):
    """torch-fidelity's InceptionV3 pool features (2048) of [0, 1] grey or RGB images, from cached weights only."""

    def __init__(self):
        super().__init__()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as exc:
            raise RuntimeError("--fid_features inception needs torch-fidelity (`pip install torch-fidelity`) and its "
                               "cached InceptionV3 weights; use the default classifier features offline") from exc
        cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS
        if not cached.is_file():
            raise FileNotFoundError(
                f"Inception weights not cached at {cached}: they cannot be downloaded on an offline machine. Copy "
                f"{INCEPTION_WEIGHTS} there (TORCH_HOME selects the folder) or use the default classifier features.")
        self.inception = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                     feature_extractor_weights_path=str(cached))
        self.num_features = 2048

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        return self.inception((images.clamp(0, 1) * 255).to(torch.uint8))[0].double()


def feature_extractor(features: Union[str, ImageClassifierModel, nn.Module] = "classifier",
                      classifier: Optional[Union[str, Path, ImageClassifierModel]] = None) -> nn.Module:
    """``"classifier"`` (``classifier``: a folder or model), ``"inception"``, or a module given directly."""
    if isinstance(features, nn.Module) and not isinstance(features, ImageClassifierModel):
        return features
    if isinstance(features, ImageClassifierModel):
        return ClassifierFeatures(features)
    if features == "inception":
        return InceptionFeatures()
    if features != "classifier":
        raise ValueError(f"fid_features must be 'classifier' or 'inception', got {features!r}")
    if classifier is None:
        raise ValueError("classifier features need a trained classifier (a folder saved by train_feature_classifier)")
    if not isinstance(classifier, ImageClassifierModel):
        if not (Path(classifier) / "config.json").is_file():
            raise FileNotFoundError(f"no classifier saved in {classifier}: train one with train_feature_classifier "
                                    "(scripts/evaluate_images.py does when it is missing)")
        classifier = ImageClassifierModel.from_pretrained(classifier)
    return ClassifierFeatures(classifier)


@torch.no_grad()
def fid_kid(real: torch.Tensor, fake: torch.Tensor, features: nn.Module, batch_size: int = 256,
            kid_subsets: int = 50, kid_subset_size: int = 1000, seed: int = 0) -> dict:
    """``{"fid", "kid_mean", "kid_std"}`` between two image sets (``[N, C, H, W]`` in [0, 1]).

    KID is the mean (and std) over ``kid_subsets`` random subsets of ``min(kid_subset_size, N // 2)`` images of each
    set, so the subsets differ and the std says how much KID varies with the draw."""
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(real)} real and {len(fake)} generated")
    for name, images in (("real", real), ("generated", fake)):
        if not torch.isfinite(images).all():
            raise ValueError(f"the {name} images contain NaN or infinite values")
    subset = max(2, min(kid_subset_size, len(real) // 2, len(fake) // 2))
    fid = FrechetInceptionDistance(feature=features, normalize=True).set_dtype(torch.float64)
    kid = KernelInceptionDistance(feature=features, normalize=True, subsets=kid_subsets, subset_size=subset)
    for images, is_real in ((real, True), (fake, False)):
        for start in range(0, len(images), batch_size):
            chunk = images[start: start + batch_size].float()
            fid.update(chunk, real=is_real)
            kid.update(chunk, real=is_real)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # KID draws random subsets
    try:
        kid_mean, kid_std = kid.compute()
    finally:
        torch.random.set_rng_state(state)
    return {"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std)}


def real_vs_real_floor(train_images: torch.Tensor, test_images: torch.Tensor, features: nn.Module,
                       num_images: Optional[int] = None, seed: int = 0) -> dict:
    """FID/KID of ``num_images`` training images vs as many test images: the best a generator of that many samples
    can expect (a perfect generator of the training distribution still pays for sampling noise)."""
    count = min(num_images or len(test_images), len(train_images), len(test_images))
    generator = torch.Generator().manual_seed(seed)
    train = train_images[torch.randperm(len(train_images), generator=generator)[:count]]
    test = test_images[torch.randperm(len(test_images), generator=generator)[:count]]
    return fid_kid(test, train, features, seed=seed)


def images_from_dataset(dataset, limit: Optional[int] = None) -> torch.Tensor:
    """An MNIST-format ``datasets.Dataset`` (``image`` uint8 28 x 28) -> float ``[N, 1, 28, 28]`` in [0, 1]."""
    rows = dataset if limit is None else dataset.select(range(min(limit, len(dataset))))
    images = rows.with_format("numpy")[:]["image"]
    return torch.from_numpy(images).float().div(255).unsqueeze(1)


def train_feature_classifier(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                             test_labels: torch.Tensor, output_dir: Optional[Union[str, Path]] = None,
                             class_names: Optional[list] = None, epochs: int = 3, batch_size: int = 128,
                             learning_rate: float = 2e-3, config: Optional[ImageClassifierConfig] = None,
                             seed: int = 0, augment_shift: int = 0) -> tuple[ImageClassifierModel, float]:
    """Train an ``ImageClassifierModel`` (AdamW, one-cycle cosine) and report its test accuracy.

    Images ``[N, C, H, W]`` in [0, 1]. ``augment_shift``: random circular shifts of up to this many pixels along the
    last axis (time, for spectrograms). Saves with ``save_pretrained`` (and ``test_accuracy.txt``) in ``output_dir``
    when given. Returns ``(model in eval mode, test accuracy)``.
    """
    torch.manual_seed(seed)
    num_labels = int(max(train_labels.max(), test_labels.max())) + 1
    if class_names is not None:
        num_labels = len(class_names)
    config = config or ImageClassifierConfig(num_channels=train_images.shape[1], num_labels=num_labels,
                                             class_names=class_names)
    model = ImageClassifierModel(config)
    steps = epochs * math.ceil(len(train_images) / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    progress = tqdm(total=steps, desc="feature classifier", disable=os.environ.get("TQDM_DISABLE") == "1")
    for _ in range(epochs):
        order = torch.randperm(len(train_images), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start: start + batch_size]
            images = train_images[index]
            if augment_shift:
                images = images.roll(int(torch.randint(-augment_shift, augment_shift + 1, (1,), generator=generator)),
                                     dims=-1)
            loss = model(images, labels=train_labels[index]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            progress.update()
            progress.set_postfix(loss=f"{loss.item():.3f}")
    progress.close()
    model.eval()
    accuracy = classifier_accuracy(model, test_images, test_labels)
    logger.info("feature classifier: test accuracy %.4f on %d images", accuracy, len(test_images))
    if output_dir is not None:
        model.save_pretrained(output_dir)
        (Path(output_dir) / "test_accuracy.txt").write_text(f"{accuracy:.6f}\n")
    return model, accuracy


@torch.no_grad()
def classify(model: ImageClassifierModel, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted class ids ``[N]``."""
    model.eval()
    return torch.cat([model(images[i: i + batch_size].float()).logits.argmax(-1)
                      for i in range(0, len(images), batch_size)])


def classifier_accuracy(model: ImageClassifierModel, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((classify(model, images) == labels.to(torch.long)).float().mean())
