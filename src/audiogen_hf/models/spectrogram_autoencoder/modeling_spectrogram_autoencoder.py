"""The GTZAN system: a 2-D convolutional autoencoder over min-max-normalised log-STFT spectrograms."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init

from ..autoencoding import GaussianLatentMixin
from ..modeling_utils import AutoMapMixin
from .configuration_spectrogram_autoencoder import SpectrogramAutoencoderConfig


class SpectrogramAutoencoderPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = SpectrogramAutoencoderConfig
    base_model_prefix = "spectrogram_autoencoder"
    main_input_name = "input_spectrograms"

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)  # keeps the initial posterior variance (and KL) moderate
            init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
            init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class SpectrogramAutoencoderModel(GaussianLatentMixin, SpectrogramAutoencoderPreTrainedModel):
    """Encoder: ``Conv2d(stride 2) + ReLU + BatchNorm`` blocks, then a dense layer to ``latent_dim`` (twice that for
    the mean and log-variance when ``variational``). Decoder: dense layer, then mirrored ``ConvTranspose2d + ReLU +
    BatchNorm`` blocks and a sigmoid, since the inputs are min-max normalised to [0, 1]."""

    def __init__(self, config: SpectrogramAutoencoderConfig):
        super().__init__(config)
        depth = len(config.channels)
        self.padded_shape = tuple(math.ceil(n / 2**depth) * 2**depth for n in (config.num_bins, config.num_frames))
        self.bottleneck_shape = (config.channels[-1], *(n // 2**depth for n in self.padded_shape))
        widths = [1, *config.channels]
        self.encoder = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(b))
            for a, b in zip(widths[:-1], widths[1:])
        ])
        flat = math.prod(self.bottleneck_shape)
        self.to_latent = nn.Linear(flat, config.latent_dim * (2 if config.variational else 1))
        self.from_latent = nn.Linear(config.latent_dim, flat)
        reverse = widths[::-1]
        self.decoder = nn.Sequential(*[
            nn.Sequential(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                          nn.BatchNorm2d(b))
            for a, b in zip(reverse[:-2], reverse[1:-1])
        ], nn.ConvTranspose2d(reverse[-2], 1, 3, stride=2, padding=1, output_padding=1))
        self.register_buffer("kl_steps", torch.zeros((), dtype=torch.long))
        self.post_init()

    @property
    def latent_shape(self) -> tuple:
        return (self.config.latent_dim,)

    @property
    def spectrogram_shape(self) -> tuple:
        """``(bins, frames)`` of the spectrograms the model encodes and decodes."""
        return self.config.num_bins, self.config.num_frames

    def _check(self, spectrograms: torch.Tensor) -> torch.Tensor:
        if spectrograms.dim() != 3 or tuple(spectrograms.shape[1:]) != self.spectrogram_shape:
            raise ValueError(f"expected spectrograms [batch, {self.config.num_bins} bins, {self.config.num_frames} "
                             f"frames], got shape {tuple(spectrograms.shape)}; cut clips to num_frames frames")
        return spectrograms

    def encode(self, input_spectrograms: torch.Tensor, return_dict: bool = True):
        """``[batch, bins, frames]`` -> latents ``[batch, latent_dim]`` (and the posterior when variational)."""
        x = self._check(input_spectrograms)[:, None]
        x = F.pad(x, (0, self.padded_shape[1] - x.shape[-1], 0, self.padded_shape[0] - x.shape[-2]))
        encoded = self._posterior(self.to_latent(self.encoder(x).flatten(1)))
        return encoded if return_dict else encoded.to_tuple()

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """``[batch, latent_dim]`` -> spectrograms ``[batch, bins, frames]`` in [0, 1]."""
        if latents.dim() != 2 or latents.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected latents [batch, {self.config.latent_dim}], got {tuple(latents.shape)}")
        x = self.from_latent(latents).view(-1, *self.bottleneck_shape)
        bins, frames = self.spectrogram_shape
        return torch.sigmoid(self.decoder(x)[:, 0, :bins, :frames])

    def reconstruction_loss(self, reconstruction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(reconstruction, labels)
