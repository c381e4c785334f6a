"""SpectrogramAutoencoderModel: a 2-D convolutional autoencoder over min-max-normalised log-STFT spectrograms.

Origin: the "Generative-Music" GTZAN system, a deep convolutional autoencoder with mirrored encoder and decoder
(``Conv2d + ReLU + BatchNorm`` blocks, a dense bottleneck, ``ConvTranspose2d`` blocks) trained with MSE on
per-clip min-max normalised log spectrograms of GTZAN clips, from which audio is resynthesised. Here it is a
transformers ``PreTrainedModel`` with an optional Gaussian (variational) latent so that new spectrograms can be
sampled from the prior.

Shapes (``B`` batch, ``F`` = ``num_bins`` frequency bins, ``T`` = ``num_frames`` frames):

- ``input_spectrograms`` / ``labels``: ``[B, F, T]`` in [0, 1] (n_fft 512, hop 256 at 22.05 kHz: 257 x 256, ~3 s);
- latents: ``[B, latent_dim]``;
- ``reconstruction``: ``[B, F, T]`` in [0, 1] (a sigmoid output).
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
from .configuration_spectrogram_autoencoder import SpectrogramAutoencoderConfig

if TYPE_CHECKING:
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution


@dataclass
class SpectrogramAutoencoderEncoderOutput(ModelOutput):
    """
    Args:
        latents (`torch.Tensor` of shape `[batch, latent_dim]`): the posterior mean (the code of a plain autoencoder).
        latent_dist (`DiagonalGaussianDistribution`, *optional*): the Gaussian posterior (``variational`` models
            only): ``.sample(generator)``, ``.kl()``, ``.mode()``.
    """

    latents: Optional[torch.Tensor] = None
    latent_dist: Optional["DiagonalGaussianDistribution"] = None


@dataclass
class SpectrogramAutoencoderDecoderOutput(ModelOutput):
    """
    Args:
        spectrograms (`torch.Tensor` of shape `[batch, bins, frames]`): decoded spectrograms in [0, 1].
    """

    spectrograms: Optional[torch.Tensor] = None


@dataclass
class SpectrogramAutoencoderOutput(ModelOutput):
    """
    Args:
        loss (`torch.Tensor`, *optional*): reconstruction loss (+ weighted KL for ``variational`` models), when
            ``labels`` are given.
        reconstruction (`torch.Tensor` of shape `[batch, bins, frames]`): decoded spectrograms, in [0, 1].
        latents (`torch.Tensor` of shape `[batch, latent_dim]`): the codes that were decoded (posterior samples
            during training).
        reconstruction_loss (`torch.Tensor`, *optional*): the MSE term of ``loss``.
        kl_loss (`torch.Tensor`, *optional*): the unweighted KL (mean over latent dimensions), variational only.
    """

    loss: Optional[torch.Tensor] = None
    reconstruction: Optional[torch.Tensor] = None
    latents: Optional[torch.Tensor] = None
    reconstruction_loss: Optional[torch.Tensor] = None
    kl_loss: Optional[torch.Tensor] = None


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


class SpectrogramAutoencoderModel(SpectrogramAutoencoderPreTrainedModel):
    """The GTZAN spectrogram autoencoder.

    Encoder: ``len(channels)`` blocks of ``Conv2d(stride 2) + ReLU + BatchNorm``, then a dense layer to ``latent_dim``
    (twice that for the mean and log-variance when ``variational``). Decoder: a dense layer, mirrored
    ``ConvTranspose2d + ReLU + BatchNorm`` blocks and a sigmoid, since the inputs are min-max normalised to [0, 1].
    Inputs are padded to a multiple of ``2 ** len(channels)`` inside the model and the output cropped back.

    With ``variational=True`` the latent is Gaussian (diffusers' ``DiagonalGaussianDistribution``); the loss adds
    ``kl_weight`` x KL, the weight rising linearly over ``kl_warmup_steps`` training batches counted in the
    persistent ``kl_steps`` buffer (saved with the weights, like BatchNorm's ``num_batches_tracked``, so a resumed run
    continues the warm-up).

    Args:
        config ([`SpectrogramAutoencoderConfig`]): the model's sizes and loss weights.

    Example:

    ```python
    >>> import torch
    >>> from audiogen_hf.models import SpectrogramAutoencoderConfig, SpectrogramAutoencoderModel

    >>> config = SpectrogramAutoencoderConfig(num_bins=33, num_frames=32, channels=[4, 8], latent_dim=8)
    >>> model = SpectrogramAutoencoderModel(config)
    >>> spectrograms = torch.rand(2, 33, 32)  # min-max normalised log-STFT
    >>> out = model(spectrograms, labels=spectrograms)
    >>> out.reconstruction.shape, out.loss.shape
    (torch.Size([2, 33, 32]), torch.Size([]))
    >>> model.decode(model.encode(spectrograms).latents).spectrograms.shape
    torch.Size([2, 33, 32])

    ```
    """

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
        """``(latent_dim,)``: the shape of one latent."""
        return (self.config.latent_dim,)

    @property
    def spectrogram_shape(self) -> tuple:
        """``(bins, frames)`` of the spectrograms the model encodes and decodes."""
        return self.config.num_bins, self.config.num_frames

    def _check(self, spectrograms: torch.Tensor) -> torch.Tensor:
        if spectrograms.dim() != 3 or tuple(spectrograms.shape[1:]) != self.spectrogram_shape:
            raise ValueError(f"expected spectrograms [batch, {self.config.num_bins} bins, {self.config.num_frames} "
                             f"frames], got shape {tuple(spectrograms.shape)}; cut clips to num_frames frames")
        return spectrograms.to(self.dtype)

    def encode(self, input_spectrograms: torch.Tensor, return_dict: bool = True):
        """``[batch, bins, frames]`` -> latents ``[batch, latent_dim]`` (and the posterior when variational).

        Returns:
            [`SpectrogramAutoencoderEncoderOutput`] or a tuple ``(latents, latent_dist)``.
        """
        x = self._check(input_spectrograms)[:, None]
        x = F.pad(x, (0, self.padded_shape[1] - x.shape[-1], 0, self.padded_shape[0] - x.shape[-2]))
        encoded = self._posterior(self.to_latent(self.encoder(x).flatten(1)))
        return encoded if return_dict else encoded.to_tuple()

    def decode(self, latents: torch.Tensor, return_dict: bool = True):
        """``[batch, latent_dim]`` -> spectrograms ``[batch, bins, frames]`` in [0, 1].

        Returns:
            [`SpectrogramAutoencoderDecoderOutput`] or a tuple ``(spectrograms,)``.
        """
        if latents.dim() != 2 or latents.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected latents [batch, {self.config.latent_dim}], got {tuple(latents.shape)}")
        x = self.from_latent(latents.to(self.dtype)).view(-1, *self.bottleneck_shape)
        bins, frames = self.spectrogram_shape
        spectrograms = torch.sigmoid(self.decoder(x)[:, 0, :bins, :frames])
        decoded = SpectrogramAutoencoderDecoderOutput(spectrograms=spectrograms)
        return decoded if return_dict else decoded.to_tuple()

    def reconstruction_loss(self, reconstruction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """MSE."""
        return F.mse_loss(reconstruction, labels)

    # Copied from audiogen_hf.models.mel_autoencoder.modeling_mel_autoencoder.MelAutoencoderModel (Gaussian latent)
    def _posterior(self, parameters: torch.Tensor) -> SpectrogramAutoencoderEncoderOutput:
        """``parameters``: ``[batch, 2 * C, ...]`` (mean and log-variance stacked on dim 1) when variational, else the
        latents themselves."""
        if not self.config.variational:
            return SpectrogramAutoencoderEncoderOutput(latents=parameters)
        from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

        batch, channels, *rest = parameters.shape
        # the distribution sums its KL over dims 1-3: give it [batch, 2 * C, everything else, 1]
        dist = DiagonalGaussianDistribution(parameters.reshape(batch, channels, -1, 1))
        latents = dist.mode().reshape(batch, channels // 2, *rest)
        return SpectrogramAutoencoderEncoderOutput(latents=latents, latent_dist=dist)

    def _sample_latents(self, encoded: SpectrogramAutoencoderEncoderOutput, sample: bool,
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
    ) -> Union[SpectrogramAutoencoderOutput, tuple]:
        """Reconstruct ``input_spectrograms``.

        Args:
            input_spectrograms (`torch.Tensor` of shape `[batch, bins, frames]`): normalised spectrograms in [0, 1].
            labels (`torch.Tensor` of the same shape, *optional*): the target (usually the input itself); with it
                the loss is ``reconstruction_loss`` plus the weighted KL.
            sample_posterior (`bool`, *optional*, defaults to `self.training`): decode a posterior sample rather
                than its mean (variational models).
            generator (`torch.Generator`, *optional*): for the posterior sample.
            return_dict (`bool`, *optional*, defaults to `config.return_dict`): a `ModelOutput` or a tuple.

        Returns:
            [`SpectrogramAutoencoderOutput`] or a tuple of its non-``None`` fields.
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
        output = SpectrogramAutoencoderOutput(loss=loss, reconstruction=reconstruction, latents=latents,
                                              reconstruction_loss=reconstruction_loss, kl_loss=kl)
        return output if return_dict else output.to_tuple()
