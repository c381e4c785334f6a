"""The MUSDB system: a 1-D convolutional autoencoder with residual blocks over normalised log-mel frames."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init

from ..autoencoding import GaussianLatentMixin
from ..modeling_utils import AutoMapMixin
from .configuration_mel_autoencoder import MelAutoencoderConfig


class ResidualBlock1d(nn.Module):
    """``x + Conv1d(Dropout(ReLU(Conv1d(ReLU(x)))))``, length-preserving."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.block = nn.Sequential(nn.ReLU(), nn.Conv1d(channels, channels, 3, padding=1), nn.ReLU(),
                                   nn.Dropout(dropout), nn.Conv1d(channels, channels, 3, padding=1))
        self.block[-1].is_residual_output = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class MelAutoencoderPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = MelAutoencoderConfig
    base_model_prefix = "mel_autoencoder"
    main_input_name = "input_spectrograms"

    def _init_weights(self, module):
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            if getattr(module, "is_residual_output", False):
                init.zeros_(module.weight)  # each block starts as the identity: activations keep their scale
            elif module is self.encoder[-1]:  # the latent projection: a moderate initial posterior (and KL)
                init.xavier_uniform_(module.weight, gain=0.1)
            else:
                init.kaiming_normal_(module.weight, nonlinearity="relu")
            init.zeros_(module.bias)


class MelAutoencoderModel(GaussianLatentMixin, MelAutoencoderPreTrainedModel):
    """Encoder: ``Conv1d(n_mels -> hidden)``, then per level residual blocks and a stride-2 ``Conv1d``, then residual
    blocks and ``Conv1d(hidden -> latent_channels)`` (twice that for mean and log-variance when ``variational``).
    Decoder: the mirror image with ``ConvTranspose1d`` upsampling, ending in a sigmoid (inputs are in [0, 1])."""

    def __init__(self, config: MelAutoencoderConfig):
        super().__init__(config)
        hidden, dropout, blocks = config.hidden_channels, config.dropout, config.num_residual_blocks
        self.factor = 2**config.num_downsamples
        self.padded_frames = math.ceil(config.num_frames / self.factor) * self.factor

        def residual():
            return [ResidualBlock1d(hidden, dropout) for _ in range(blocks)]

        down = [layer for _ in range(config.num_downsamples)
                for layer in (*residual(), nn.Conv1d(hidden, hidden, 4, stride=2, padding=1))]
        up = [layer for _ in range(config.num_downsamples)
              for layer in (*residual(), nn.ConvTranspose1d(hidden, hidden, 4, stride=2, padding=1))]
        out_latent = config.latent_channels * (2 if config.variational else 1)
        self.encoder = nn.Sequential(nn.Conv1d(config.n_mels, hidden, 7, padding=3), *down, *residual(),
                                     nn.ReLU(), nn.Conv1d(hidden, out_latent, 3, padding=1))
        self.decoder = nn.Sequential(nn.Conv1d(config.latent_channels, hidden, 3, padding=1), *residual(), *up,
                                     nn.ReLU(), nn.Conv1d(hidden, config.n_mels, 7, padding=3))
        self.register_buffer("kl_steps", torch.zeros((), dtype=torch.long))
        self.post_init()

    @property
    def latent_shape(self) -> tuple:
        return self.config.latent_channels, self.padded_frames // self.factor

    @property
    def spectrogram_shape(self) -> tuple:
        """``(n_mels, frames)`` of the spectrograms the model encodes and decodes."""
        return self.config.n_mels, self.config.num_frames

    def _check(self, spectrograms: torch.Tensor) -> torch.Tensor:
        if spectrograms.dim() != 3 or tuple(spectrograms.shape[1:]) != self.spectrogram_shape:
            raise ValueError(f"expected mels [batch, {self.config.n_mels} bands, {self.config.num_frames} frames], "
                             f"got shape {tuple(spectrograms.shape)}; cut clips to num_frames frames")
        return spectrograms

    def encode(self, input_spectrograms: torch.Tensor, return_dict: bool = True):
        """``[batch, n_mels, frames]`` -> latents ``[batch, latent_channels, latent frames]`` (+ posterior)."""
        x = F.pad(self._check(input_spectrograms), (0, self.padded_frames - self.config.num_frames))
        encoded = self._posterior(self.encoder(x))
        return encoded if return_dict else encoded.to_tuple()

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """``[batch, latent_channels, latent frames]`` -> mels ``[batch, n_mels, frames]`` in [0, 1]."""
        if latents.dim() != 3 or tuple(latents.shape[1:]) != self.latent_shape:
            raise ValueError(f"expected latents [batch, {', '.join(map(str, self.latent_shape))}], "
                             f"got {tuple(latents.shape)}")
        return torch.sigmoid(self.decoder(latents)[..., : self.config.num_frames])

    def reconstruction_loss(self, reconstruction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """MSE + ``mel_l1_weight`` x L1."""
        return F.mse_loss(reconstruction, labels) + self.config.mel_l1_weight * F.l1_loss(reconstruction, labels)
