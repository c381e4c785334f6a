"""MelAutoencoderModel: a 1-D convolutional autoencoder with residual blocks over normalised log-mel frames.

Origin: the "ImageAudioGen" audio-regeneration system, an autoencoder over 128-band log-mel spectrograms of 256
frames (~5 s of 16 kHz MUSDB18 mixtures or single stems): ``Conv1d`` layers with the mel bands as channels, residual
blocks with dropout, stride-2 downsampling to a latent sequence of 128 channels, and the mirror image back, trained
with MSE + L1; a variational variant adds a KL term. Here it is a transformers ``PreTrainedModel``; the variational
latent is diffusers' ``DiagonalGaussianDistribution``.

Shapes (``B`` batch, ``M`` = ``n_mels`` bands, ``T`` = ``num_frames`` frames, ``L = ceil(T / 2 ** num_downsamples)``):

- ``input_spectrograms`` / ``labels``: ``[B, M, T]`` log-mels over a fixed dB range, normalised to [0, 1];
- latents: ``[B, latent_channels, L]``;
- ``reconstruction``: ``[B, M, T]`` in [0, 1] (a sigmoid output).
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..modeling_utils import AutoMapMixin
from .configuration_mel_autoencoder import MelAutoencoderConfig

if TYPE_CHECKING:
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution


@dataclass
class MelAutoencoderEncoderOutput(ModelOutput):
    """
    Args:
        latents (`torch.Tensor` of shape `[batch, latent_channels, latent frames]`): the posterior mean (the code of
            a plain autoencoder).
        latent_dist (`DiagonalGaussianDistribution`, *optional*): the Gaussian posterior (``variational`` models
            only): ``.sample(generator)``, ``.kl()``, ``.mode()``.
    """

    latents: Optional[torch.Tensor] = None
    latent_dist: Optional["DiagonalGaussianDistribution"] = None


@dataclass
class MelAutoencoderDecoderOutput(ModelOutput):
    """
    Args:
        spectrograms (`torch.Tensor` of shape `[batch, n_mels, frames]`): decoded mels in [0, 1].
    """

    spectrograms: Optional[torch.Tensor] = None


@dataclass
class MelAutoencoderOutput(ModelOutput):
    """
    Args:
        loss (`torch.Tensor`, *optional*): reconstruction loss (+ weighted KL for ``variational`` models), when
            ``labels`` are given.
        reconstruction (`torch.Tensor` of shape `[batch, n_mels, frames]`): decoded mels, in [0, 1].
        latents (`torch.Tensor` of shape `[batch, latent_channels, latent frames]`): the codes that were decoded
            (posterior samples during training).
        reconstruction_loss (`torch.Tensor`, *optional*): the MSE + L1 term of ``loss``.
        kl_loss (`torch.Tensor`, *optional*): the unweighted KL (mean over latent dimensions), variational only.
    """

    loss: Optional[torch.Tensor] = None
    reconstruction: Optional[torch.Tensor] = None
    latents: Optional[torch.Tensor] = None
    reconstruction_loss: Optional[torch.Tensor] = None
    kl_loss: Optional[torch.Tensor] = None


class ResidualOutputConv1d(nn.Conv1d):
    """The last convolution of a residual block; initialised to zero so that each block starts as the identity."""


class LatentProjectionConv1d(nn.Conv1d):
    """The encoder's last layer (to the latent, or to its mean and log-variance); initialised small, for a moderate
    initial posterior (and KL)."""


class ResidualBlock1d(nn.Module):
    """``x + Conv1d(Dropout(ReLU(Conv1d(ReLU(x)))))``, length-preserving."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.block = nn.Sequential(nn.ReLU(), nn.Conv1d(channels, channels, 3, padding=1), nn.ReLU(),
                                   nn.Dropout(dropout), ResidualOutputConv1d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class MelAutoencoderPreTrainedModel(AutoMapMixin, PreTrainedModel):
    config_class = MelAutoencoderConfig
    base_model_prefix = "mel_autoencoder"
    main_input_name = "input_spectrograms"

    def _init_weights(self, module):
        if isinstance(module, ResidualOutputConv1d):
            init.zeros_(module.weight)  # each block starts as the identity: activations keep their scale
        elif isinstance(module, LatentProjectionConv1d):
            init.xavier_uniform_(module.weight, gain=0.1)
        elif isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            init.zeros_(module.bias)


class MelAutoencoderModel(MelAutoencoderPreTrainedModel):
    """The MUSDB mel autoencoder.

    Encoder: ``Conv1d(n_mels -> hidden_channels)``, then for each of ``num_downsamples`` levels
    ``num_residual_blocks`` residual blocks and a stride-2 ``Conv1d``, then residual blocks and
    ``Conv1d(hidden -> latent_channels)`` (twice that for mean and log-variance when ``variational``). Decoder: the
    mirror image with ``ConvTranspose1d`` upsampling, ending in a sigmoid (inputs are in [0, 1]). Frames are padded
    to a multiple of ``2 ** num_downsamples`` inside the model and the output cropped back.

    With ``variational=True`` the loss adds ``kl_weight`` x KL, the weight rising linearly over ``kl_warmup_steps``
    training batches counted in the persistent ``kl_steps`` buffer (saved with the weights, so a resumed run
    continues the warm-up).

    Args:
        config ([`MelAutoencoderConfig`]): the model's sizes and loss weights.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf.models import MelAutoencoderConfig, MelAutoencoderModel

    >>> config = MelAutoencoderConfig(n_mels=16, num_frames=32, hidden_channels=8, latent_channels=4,
    ...                               num_residual_blocks=1, variational=True)
    >>> model = MelAutoencoderModel(config)
    >>> mels = torch.rand(2, 16, 32)  # normalised log-mels
    >>> out = model(mels, labels=mels)
    >>> out.reconstruction.shape, out.latents.shape
    (torch.Size([2, 16, 32]), torch.Size([2, 4, 8]))
    >>> model.decode(model.prior_latents(3, generator=torch.Generator().manual_seed(0))).spectrograms.shape
    torch.Size([3, 16, 32])

    ```
    """

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
                                     nn.ReLU(), LatentProjectionConv1d(hidden, out_latent, 3, padding=1))
        self.decoder = nn.Sequential(nn.Conv1d(config.latent_channels, hidden, 3, padding=1), *residual(), *up,
                                     nn.ReLU(), nn.Conv1d(hidden, config.n_mels, 7, padding=3))
        self.register_buffer("kl_steps", torch.zeros((), dtype=torch.long))
        self.post_init()

    @property
    def latent_shape(self) -> tuple:
        """``(latent_channels, latent frames)``: the shape of one latent."""
        return self.config.latent_channels, self.padded_frames // self.factor

    @property
    def spectrogram_shape(self) -> tuple:
        """``(n_mels, frames)`` of the spectrograms the model encodes and decodes."""
        return self.config.n_mels, self.config.num_frames

    def _check(self, spectrograms: torch.Tensor) -> torch.Tensor:
        if spectrograms.dim() != 3 or tuple(spectrograms.shape[1:]) != self.spectrogram_shape:
            raise ValueError(f"expected mels [batch, {self.config.n_mels} bands, {self.config.num_frames} frames], "
                             f"got shape {tuple(spectrograms.shape)}; cut clips to num_frames frames")
        return spectrograms.to(self.dtype)

    def encode(self, input_spectrograms: torch.Tensor, return_dict: bool = True):
        """``[batch, n_mels, frames]`` -> latents ``[batch, latent_channels, latent frames]`` (+ posterior).

        Returns:
            [`MelAutoencoderEncoderOutput`] or a tuple ``(latents, latent_dist)``.
        """
        x = F.pad(self._check(input_spectrograms), (0, self.padded_frames - self.config.num_frames))
        encoded = self._posterior(self.encoder(x))
        return encoded if return_dict else encoded.to_tuple()

    def decode(self, latents: torch.Tensor, return_dict: bool = True):
        """``[batch, latent_channels, latent frames]`` -> mels ``[batch, n_mels, frames]`` in [0, 1].

        Returns:
            [`MelAutoencoderDecoderOutput`] or a tuple ``(spectrograms,)``.
        """
        if latents.dim() != 3 or tuple(latents.shape[1:]) != self.latent_shape:
            raise ValueError(f"expected latents [batch, {', '.join(map(str, self.latent_shape))}], "
                             f"got {tuple(latents.shape)}")
        mels = torch.sigmoid(self.decoder(latents.to(self.dtype))[..., : self.config.num_frames])
        decoded = MelAutoencoderDecoderOutput(spectrograms=mels)
        return decoded if return_dict else decoded.to_tuple()

    def reconstruction_loss(self, reconstruction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """MSE + ``mel_l1_weight`` x L1."""
        return F.mse_loss(reconstruction, labels) + self.config.mel_l1_weight * F.l1_loss(reconstruction, labels)

    # Copied from audiogen_hf.models.spectrogram_autoencoder.modeling_spectrogram_autoencoder.
    # SpectrogramAutoencoderModel (Gaussian latent), with SpectrogramAutoencoder->MelAutoencoder
    def _posterior(self, parameters: torch.Tensor) -> MelAutoencoderEncoderOutput:
        """``parameters``: ``[batch, 2 * C, ...]`` (mean and log-variance stacked on dim 1) when variational, else the
        latents themselves."""
        if not self.config.variational:
            return MelAutoencoderEncoderOutput(latents=parameters)
        from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

        batch, channels, *rest = parameters.shape
        # the distribution sums its KL over dims 1-3: give it [batch, 2 * C, everything else, 1]
        dist = DiagonalGaussianDistribution(parameters.reshape(batch, channels, -1, 1))
        latents = dist.mode().reshape(batch, channels // 2, *rest)
        return MelAutoencoderEncoderOutput(latents=latents, latent_dist=dist)

    def _sample_latents(self, encoded: MelAutoencoderEncoderOutput, sample: bool,
                        generator: Optional[torch.Generator]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(latents to decode, mean KL per latent dimension or None)."""
        dist = encoded.latent_dist
        if dist is None:
            return encoded.latents, None
        latents = dist.sample(generator).reshape(encoded.latents.shape) if sample else encoded.latents
        kl = dist.kl() / dist.mean[0].numel()
        return latents, kl.mean()

    def _kl_term(self, kl: Optional[torch.Tensor]) -> torch.Tensor:
        """``kl_weight * warm-up * kl``; counts a training batch when the model is training."""
        if kl is None:
            return torch.zeros((), device=self.kl_steps.device)
        warmup = self.config.kl_warmup_steps
        factor = min(1.0, float(self.kl_steps) / warmup) if warmup else 1.0
        if self.training:
            self.kl_steps += 1
        return self.config.kl_weight * factor * kl

    def prior_latents(self, num_samples: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``[num_samples, *latent_shape]`` drawn from the standard normal prior (``variational`` models only), with
        diffusers' ``randn_tensor`` (a CPU ``generator`` works with a model on any device)."""
        if not self.config.variational:
            raise ValueError(f"{type(self).__name__} was trained with variational=False: it has no prior to sample "
                             "from; train with variational=True, or pass audio to reconstruct")
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}")
        return randn_tensor((num_samples, *self.latent_shape), generator=generator, device=self.device,
                            dtype=self.dtype)

    def forward(
        self,
        input_spectrograms: torch.Tensor,
        labels: Optional[torch.Tensor] = None,
        sample_posterior: Optional[bool] = None,
        generator: Optional[torch.Generator] = None,
        return_dict: Optional[bool] = None,
    ) -> Union[MelAutoencoderOutput, tuple]:
        """Reconstruct ``input_spectrograms``.

        Args:
            input_spectrograms (`torch.Tensor` of shape `[batch, n_mels, frames]`): normalised mels in [0, 1].
            labels (`torch.Tensor` of the same shape, *optional*): the target (usually the input itself); with it
                the loss is ``reconstruction_loss`` plus the weighted KL.
            sample_posterior (`bool`, *optional*, defaults to `self.training`): decode a posterior sample rather
                than its mean (variational models).
            generator (`torch.Generator`, *optional*): for the posterior sample.
            return_dict (`bool`, *optional*, defaults to `config.return_dict`): a `ModelOutput` or a tuple.

        Returns:
            [`MelAutoencoderOutput`] or a tuple of its non-``None`` fields.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        encoded = self.encode(input_spectrograms)
        sample = self.training if sample_posterior is None else sample_posterior
        latents, kl = self._sample_latents(encoded, sample, generator)
        reconstruction = self.decode(latents).spectrograms
        loss = reconstruction_loss = None
        if labels is not None:
            reconstruction_loss = self.reconstruction_loss(reconstruction, self._check(labels))
            loss = reconstruction_loss + self._kl_term(kl)
        output = MelAutoencoderOutput(loss=loss, reconstruction=reconstruction, latents=latents,
                                      reconstruction_loss=reconstruction_loss, kl_loss=kl)
        return output if return_dict else output.to_tuple()
