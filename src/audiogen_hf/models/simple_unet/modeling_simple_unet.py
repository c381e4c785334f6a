"""The seed's DDPM noise predictor: a small U-Net for 28 x 28 digit images, as a diffusers model.

From the original image-generation system (a DDPM on MNIST): a sinusoidal positional encoding of the timestep, an
encoder of convolution blocks each followed by max-pooling, a decoder of transposed-convolution blocks that restore
the size, and skip connections by concatenation. Here widths and depth come from the config, the timestep embedding
(plus an optional class embedding, with one extra "null" label for classifier-free guidance) is added inside every
block, and the model is a diffusers ``ModelMixin`` + ``ConfigMixin`` returning ``UNet2DOutput``, so diffusers' own
``DDPMPipeline(unet=SimpleUNetModel(...), scheduler=DDPMScheduler(...))`` samples from it unchanged.

Shapes: ``sample`` ``[batch, in_channels, sample_size, sample_size]`` (any height and width divisible by
``2 ** len(block_out_channels)``), ``timestep`` a number or ``[batch]``, ``class_labels`` ``[batch]`` integers in
``[0, num_class_embeds]`` (``num_class_embeds`` is the null label) -> ``sample`` ``[batch, out_channels, H, W]``.
"""

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_2d import UNet2DOutput
from torch import nn

from .configuration_simple_unet import check_simple_unet_config


def sinusoidal_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """The seed's positional encoding of the diffusion step: ``[batch]`` -> ``[batch, dim]`` (sin half, cos half)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, device=timesteps.device) / half)
    angles = timesteps.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ConvBlock(nn.Module):
    """``layers`` x (3x3 conv, GroupNorm, SiLU); the step (+ class) embedding is added after the first conv."""

    def __init__(self, in_channels: int, out_channels: int, embedding_dim: int, layers: int, groups: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)
                                   for i in range(layers))
        self.norms = nn.ModuleList(nn.GroupNorm(groups, out_channels) for _ in range(layers))
        self.embedding = nn.Linear(embedding_dim, out_channels)

    def forward(self, hidden: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            hidden = conv(hidden)
            if index == 0:
                hidden = hidden + self.embedding(embedding)[:, :, None, None]
            hidden = F.silu(norm(hidden))
        return hidden


class SimpleUNetModel(ModelMixin, ConfigMixin):
    """The seed's small U-Net noise predictor (drop-in for diffusers' ``UNet2DModel`` in ``DDPMPipeline``).

    Args:
        sample_size (`int`, defaults to 28): image height and width (divisible by ``2 ** len(block_out_channels)``).
        in_channels (`int`, defaults to 1), out_channels (`int`, defaults to 1): image channels.
        block_out_channels (`tuple[int]`, defaults to `(64, 128)`): channels of each encoder block (each followed by
            2x2 max-pooling; the seed's two blocks); the decoder mirrors them with stride-2 transposed convolutions.
        layers_per_block (`int`, defaults to 2): 3x3 convolutions per block.
        time_embedding_dim (`int`, defaults to 128): size of the sinusoidal step encoding (an MLP maps it to
            ``4 * block_out_channels[0]``).
        num_class_embeds (`int`, *optional*): number of classes for class conditioning; the embedding table has one
            more row, the null label ``num_class_embeds``, used when ``class_labels`` is None (classifier-free
            guidance trains with labels randomly replaced by it).
        norm_num_groups (`int`, defaults to 8): GroupNorm groups.

    Example:

    ```python
    >>> import torch
    >>> from diffusers import DDPMPipeline, DDPMScheduler
    >>> from audiogen_hf.models import SimpleUNetModel
    >>> unet = SimpleUNetModel(sample_size=28, block_out_channels=(16, 32), num_class_embeds=10)
    >>> unet(torch.randn(2, 1, 28, 28), 10, class_labels=torch.tensor([3, 10])).sample.shape
    torch.Size([2, 1, 28, 28])
    >>> pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000))
    >>> images = pipe(batch_size=2, num_inference_steps=10, output_type="np").images   # [2, 28, 28, 1]
    ```
    """

    @register_to_config
    def __init__(
        self,
        sample_size: int = 28,
        in_channels: int = 1,
        out_channels: int = 1,
        block_out_channels: tuple = (64, 128),
        layers_per_block: int = 2,
        time_embedding_dim: int = 128,
        num_class_embeds: Optional[int] = None,
        norm_num_groups: int = 8,
    ):
        super().__init__()
        check_simple_unet_config(sample_size, in_channels, out_channels, block_out_channels, layers_per_block,
                                 time_embedding_dim, num_class_embeds, norm_num_groups)
        channels = list(block_out_channels)
        embedding_dim = 4 * channels[0]
        self.time_embedding = nn.Sequential(nn.Linear(time_embedding_dim, embedding_dim), nn.SiLU(),
                                            nn.Linear(embedding_dim, embedding_dim))
        self.class_embedding = nn.Embedding(num_class_embeds + 1, embedding_dim) if num_class_embeds else None
        widths = [channels[0]] + channels
        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            ConvBlock(widths[i], widths[i + 1], embedding_dim, layers_per_block, norm_num_groups)
            for i in range(len(channels)))
        self.mid_block = ConvBlock(channels[-1], channels[-1], embedding_dim, layers_per_block, norm_num_groups)
        self.upsamplers = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i + 1], 2, stride=2)
                                        for i in reversed(range(len(channels))))
        self.up_blocks = nn.ModuleList(
            ConvBlock(2 * widths[i + 1], widths[i], embedding_dim, layers_per_block, norm_num_groups)
            for i in reversed(range(len(channels))))
        self.conv_out = nn.Conv2d(channels[0], out_channels, 3, padding=1)

    @property
    def null_class_label(self) -> Optional[int]:
        """The label meaning "no class" (classifier-free guidance), or None for an unconditional model."""
        return self.config.num_class_embeds

    def forward(
        self,
        sample: torch.Tensor,
        timestep: Union[torch.Tensor, float, int],
        class_labels: Optional[torch.Tensor] = None,
        return_dict: bool = True,
    ) -> Union[UNet2DOutput, tuple]:
        """Predict the noise in ``sample`` at ``timestep`` (see the module docstring for shapes)."""
        if sample.dim() != 4 or sample.shape[1] != self.config.in_channels:
            raise ValueError(f"sample must be [batch, {self.config.in_channels}, height, width], got "
                             f"{tuple(sample.shape)}")
        factor = 2 ** len(self.config.block_out_channels)
        if sample.shape[2] % factor or sample.shape[3] % factor:
            raise ValueError(f"sample height and width must be divisible by {factor}, got {tuple(sample.shape[2:])}")
        batch = sample.shape[0]
        timesteps = torch.as_tensor(timestep, device=sample.device)
        timesteps = timesteps.reshape(-1).expand(batch) if timesteps.numel() == 1 else timesteps.reshape(batch)
        embedding = sinusoidal_embedding(timesteps, self.config.time_embedding_dim).to(sample.dtype)
        embedding = self.time_embedding(embedding)
        if self.class_embedding is not None:
            if class_labels is None:
                class_labels = torch.full((batch,), self.null_class_label, dtype=torch.long, device=sample.device)
            class_labels = torch.as_tensor(class_labels, device=sample.device).reshape(-1).expand(batch)
            if class_labels.min() < 0 or class_labels.max() > self.null_class_label:
                raise ValueError(f"class_labels must be in [0, {self.null_class_label}] ({self.null_class_label}: "
                                 f"the null label), got {class_labels.tolist()}")
            embedding = embedding + self.class_embedding(class_labels.long())
        elif class_labels is not None:
            raise ValueError("class_labels given, but this SimpleUNetModel is unconditional (num_class_embeds=None)")

        hidden = self.conv_in(sample)
        skips = []
        for block in self.down_blocks:
            hidden = block(hidden, embedding)
            skips.append(hidden)
            hidden = F.max_pool2d(hidden, 2)
        hidden = self.mid_block(hidden, embedding)
        for upsample, block in zip(self.upsamplers, self.up_blocks):
            hidden = torch.cat([upsample(hidden), skips.pop()], dim=1)
            hidden = block(hidden, embedding)
        output = self.conv_out(hidden)
        if not return_dict:
            return (output,)
        return UNet2DOutput(sample=output)
