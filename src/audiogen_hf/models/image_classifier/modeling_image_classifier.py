"""A small CNN image classifier whose penultimate features replace InceptionV3's in FID and KID.

Inception weights cannot be downloaded on an offline machine, so the image systems (Fashion-MNIST / MNIST digits, and
spectrogram "images" of music for genre accuracy) measure sample quality in the feature space of this classifier,
trained on the training split. Origin: none of the seeds; it is the measuring instrument the DDPM system's FID
needs (the seed computed FID with Inception features).

Shapes: ``pixel_values`` ``[batch, num_channels, height, width]`` in [0, 1] (any size: global average pooling) ->
``logits`` ``[batch, num_labels]``, ``features`` ``[batch, feature_dim]``.
"""

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_image_classifier import ImageClassifierConfig


@dataclass
class ImageClassifierOutput(ModelOutput):
    """
    loss: cross-entropy, when ``labels`` are given.
    logits: ``[batch, num_labels]``.
    features: ``[batch, feature_dim]`` penultimate activations (after ReLU): what FID/KID compare.
    """

    loss: Optional[torch.FloatTensor] = None
    logits: Optional[torch.FloatTensor] = None
    features: Optional[torch.FloatTensor] = None


class ImageClassifierModel(PreTrainedModel):
    """Stages of two (3x3 conv, BatchNorm, ReLU) and 2x2 max-pooling, global average pooling, a ``feature_dim``
    layer (the features) and a linear classifier.

    Args:
        config (`ImageClassifierConfig`): widths, feature size, classes.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf.models import ImageClassifierConfig, ImageClassifierModel
    >>> model = ImageClassifierModel(ImageClassifierConfig(channels=[8, 16], feature_dim=32, num_labels=10))
    >>> out = model(torch.rand(4, 1, 28, 28), labels=torch.tensor([0, 1, 2, 3]))
    >>> out.loss.shape, out.logits.shape, out.features.shape
    (torch.Size([]), torch.Size([4, 10]), torch.Size([4, 32]))
    ```
    """

    config_class = ImageClassifierConfig
    base_model_prefix = "image_classifier"
    main_input_name = "pixel_values"

    def __init__(self, config: ImageClassifierConfig):
        super().__init__(config)
        layers, width = [], config.num_channels
        for channels in config.channels:
            for _ in range(2):
                layers += [nn.Conv2d(width, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()]
                width = channels
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        self.stages = nn.Sequential(*layers)
        self.features = nn.Linear(width, config.feature_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.feature_dim, config.num_labels)
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)

    def forward(self, pixel_values: torch.Tensor, labels: Optional[torch.Tensor] = None,
                return_dict: Optional[bool] = None):
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if pixel_values.dim() != 4 or pixel_values.shape[1] != self.config.num_channels:
            raise ValueError(f"pixel_values must be [batch, {self.config.num_channels}, height, width], got "
                             f"{tuple(pixel_values.shape)}")
        hidden = self.stages(pixel_values.to(self.dtype)).mean(dim=(2, 3))
        features = F.relu(self.features(hidden))
        logits = self.classifier(self.dropout(features))
        loss = F.cross_entropy(logits.float(), labels.long()) if labels is not None else None
        if not return_dict:
            return tuple(v for v in (loss, logits, features) if v is not None)
        return ImageClassifierOutput(loss=loss, logits=logits, features=features)
