"""What the spectrogram autoencoders share: their output dataclasses and the optional Gaussian latent (diffusers'
``DiagonalGaussianDistribution``) with a warmed-up KL weight."""

from dataclasses import dataclass
from typing import Optional, Union

import torch
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from diffusers.utils.torch_utils import randn_tensor
from transformers.utils import ModelOutput


@dataclass
class AutoencoderEncoderOutput(ModelOutput):
    """
    latents: ``[batch, *latent_shape]`` the posterior mean (or the code of a plain autoencoder).
    latent_dist: the Gaussian posterior (``variational`` models only): ``.sample(generator)``, ``.kl()``, ``.mode()``.
    """

    latents: Optional[torch.Tensor] = None
    latent_dist: Optional[DiagonalGaussianDistribution] = None


@dataclass
class AutoencoderOutput(ModelOutput):
    """
    loss: reconstruction loss (+ weighted KL for ``variational`` models), when ``labels`` are given.
    reconstruction: ``[batch, bins, frames]`` decoded spectrograms, in [0, 1] like the inputs.
    latents: ``[batch, *latent_shape]`` the codes that were decoded (posterior samples during training).
    reconstruction_loss, kl_loss: the terms of ``loss`` (unweighted KL: mean over latent dimensions).
    """

    loss: Optional[torch.Tensor] = None
    reconstruction: Optional[torch.Tensor] = None
    latents: Optional[torch.Tensor] = None
    reconstruction_loss: Optional[torch.Tensor] = None
    kl_loss: Optional[torch.Tensor] = None


class GaussianLatentMixin:
    """The forward pass and optional Gaussian latent of the spectrogram autoencoders. For a ``PreTrainedModel`` with
    ``encode``, ``decode``, ``_check`` and ``reconstruction_loss``, whose config has ``variational``, ``kl_weight``
    and ``kl_warmup_steps``, and which registers a persistent ``kl_steps`` buffer (training batches seen, saved
    with the weights like BatchNorm's
    ``num_batches_tracked``, so a resumed run continues the warm-up where it stopped)."""

    def _posterior(self, parameters: torch.Tensor) -> AutoencoderEncoderOutput:
        """``parameters``: ``[batch, 2 * C, ...]`` (mean and log-variance stacked on dim 1) when variational, else the
        latents themselves."""
        if not self.config.variational:
            return AutoencoderEncoderOutput(latents=parameters)
        shape = parameters.shape
        four_d = parameters.reshape(shape[0], shape[1], -1, 1)  # the distribution sums its KL over dims 1-3
        dist = DiagonalGaussianDistribution(four_d)
        dist.latent_shape = (shape[0], shape[1] // 2, *shape[2:])
        return AutoencoderEncoderOutput(latents=dist.mode().reshape(dist.latent_shape), latent_dist=dist)

    def _sample_latents(self, encoded: AutoencoderEncoderOutput, sample: bool,
                        generator: Optional[torch.Generator]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(latents to decode, mean KL per latent dimension or None)."""
        dist = encoded.latent_dist
        if dist is None:
            return encoded.latents, None
        latents = dist.sample(generator).reshape(dist.latent_shape) if sample else encoded.latents
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
        """``[num_samples, *latent_shape]`` drawn from the standard normal prior (``variational`` models only)."""
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
    ) -> Union[AutoencoderOutput, tuple]:
        """Reconstruct ``[batch, bins, frames]``; with ``labels`` (usually the input itself) the loss is the model's
        ``reconstruction_loss`` plus the weighted KL. ``sample_posterior`` (default: while training) decodes a
        posterior sample, not its mean."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        encoded = self.encode(input_spectrograms)
        sample = self.training if sample_posterior is None else sample_posterior
        latents, kl = self._sample_latents(encoded, sample, generator)
        reconstruction = self.decode(latents)
        loss = reconstruction_loss = None
        if labels is not None:
            reconstruction_loss = self.reconstruction_loss(reconstruction, self._check(labels))
            loss = reconstruction_loss + self._kl_term(kl)
        output = AutoencoderOutput(loss=loss, reconstruction=reconstruction, latents=latents,
                                   reconstruction_loss=reconstruction_loss, kl_loss=kl)
        return output if return_dict else output.to_tuple()
