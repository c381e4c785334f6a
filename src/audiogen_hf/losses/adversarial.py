"""Discriminators and adversarial losses for GAN-trained codecs.

- ``MultiScaleDiscriminator`` (MelGAN): the same grouped-convolution waveform critic at several average-pooled
  rates.
- ``MultiResolutionSTFTDiscriminator`` (EnCodec): 2-D convolutions over the real and imaginary parts of complex
  STFTs at several resolutions (dilated in time, strided in frequency).
- ``HybridDiscriminator``: the seed's hybrid, both of the above side by side.

Every discriminator maps audio ``[batch, channels, samples]`` to a ``DiscriminatorOutput``: one logit map per
scale / resolution and, per scale, the feature maps of every layer (for the feature-matching loss). ``hinge`` and
``least_squares`` (LSGAN) losses are chosen by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .spectral import stft_converter

ADVERSARIAL_LOSSES = ("hinge", "least_squares")
DISCRIMINATORS = ("multi_scale", "multi_resolution_stft", "hybrid")
LEAK = 0.2


@dataclass
class DiscriminatorOutput:
    """
    logits: one tensor per scale / resolution (``[batch, 1, frames]`` waveform, ``[batch, 1, frames, bins]`` STFT).
    feature_maps: per scale, the activations of each layer before the logits.
    """

    logits: list
    feature_maps: list


class ScaleDiscriminator(nn.Module):
    """MelGAN's waveform critic: a wide convolution, strided grouped convolutions, two narrow ones."""

    def __init__(self, audio_channels: int = 2, channels: int = 16, max_channels: int = 128, num_downsamples: int = 3):
        super().__init__()
        layers, width = [weight_norm(nn.Conv1d(audio_channels, channels, 15, padding=7))], channels
        for _ in range(num_downsamples):
            out = min(width * 4, max_channels)
            layers.append(weight_norm(nn.Conv1d(width, out, 41, stride=4, padding=20, groups=max(out // 64, 1))))
            width = out
        layers.append(weight_norm(nn.Conv1d(width, width, 5, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.logits = weight_norm(nn.Conv1d(width, 1, 3, padding=1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list]:
        features, x = [], audio
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LEAK)
            features.append(x)
        return self.logits(x), features


class MultiScaleDiscriminator(nn.Module):
    """MelGAN's multi-scale discriminator: ``num_scales`` critics on the audio average-pooled by 1, 2, 4, ...

    Args:
        audio_channels (`int`, defaults to 2), num_scales (`int`, defaults to 3), channels (`int`, 16),
        max_channels (`int`, 128), num_downsamples (`int`, 3).

    Example:

    ```python
    >>> d = MultiScaleDiscriminator(audio_channels=2, num_scales=2)
    >>> out = d(torch.randn(1, 2, 8192))
    >>> len(out.logits), len(out.feature_maps[0])
    (2, 5)
    ```
    """

    def __init__(self, audio_channels: int = 2, num_scales: int = 3, channels: int = 16, max_channels: int = 128,
                 num_downsamples: int = 3):
        super().__init__()
        self.critics = nn.ModuleList([ScaleDiscriminator(audio_channels, channels, max_channels, num_downsamples)
                                      for _ in range(num_scales)])
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        logits, features = [], []
        for index, critic in enumerate(self.critics):
            if index:
                audio = self.pool(audio)
            logit, feature = critic(audio)
            logits.append(logit)
            features.append(feature)
        return DiscriminatorOutput(logits, features)


class STFTDiscriminator(nn.Module):
    """EnCodec's critic at one resolution: ``[batch, 2 x channels (real, imag), frames, bins]`` -> logits."""

    def __init__(self, sampling_rate: int, n_fft: int, audio_channels: int = 2, channels: int = 16,
                 dilations: Sequence[int] = (1, 2, 4)):
        super().__init__()
        self.sampling_rate, self.n_fft = sampling_rate, n_fft
        layers = [weight_norm(nn.Conv2d(2 * audio_channels, channels, (3, 9), padding=(1, 4)))]
        for dilation in dilations:
            layers.append(weight_norm(nn.Conv2d(channels, channels, (3, 9), stride=(1, 2), dilation=(dilation, 1),
                                                padding=(dilation, 4))))
        layers.append(weight_norm(nn.Conv2d(channels, channels, 3, padding=1)))
        self.layers = nn.ModuleList(layers)
        self.logits = weight_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list]:
        n_fft = self.n_fft
        x = audio.float()
        if x.shape[-1] < n_fft:
            x = F.pad(x, (0, n_fft - x.shape[-1]))
        stft = stft_converter(self.sampling_rate, n_fft, n_fft // 4).stft(x)  # [batch, channels, frames, bins]
        x = torch.cat([stft.real, stft.imag], dim=1).to(audio.dtype)
        features = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LEAK)
            features.append(x)
        return self.logits(x), features


class MultiResolutionSTFTDiscriminator(nn.Module):
    """EnCodec's multi-resolution STFT discriminator: one ``STFTDiscriminator`` per FFT size (hop = size // 4).

    Args:
        sampling_rate (`int`, defaults to 44100), audio_channels (`int`, 2), fft_sizes (`Sequence[int]`,
        `(2048, 1024, 512)`), channels (`int`, 16).
    """

    def __init__(self, sampling_rate: int = 44100, audio_channels: int = 2,
                 fft_sizes: Sequence[int] = (2048, 1024, 512), channels: int = 16):
        super().__init__()
        self.critics = nn.ModuleList([STFTDiscriminator(sampling_rate, n, audio_channels, channels)
                                      for n in fft_sizes])

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        pairs = [critic(audio) for critic in self.critics]
        return DiscriminatorOutput([p[0] for p in pairs], [p[1] for p in pairs])


class HybridDiscriminator(nn.Module):
    """The seed's hybrid: a ``MultiScaleDiscriminator`` and a ``MultiResolutionSTFTDiscriminator``; their logits
    and feature maps concatenated (waveform scales first)."""

    def __init__(self, sampling_rate: int = 44100, audio_channels: int = 2, num_scales: int = 3,
                 fft_sizes: Sequence[int] = (2048, 1024, 512), channels: int = 16, max_channels: int = 128):
        super().__init__()
        self.waveform = MultiScaleDiscriminator(audio_channels, num_scales, channels, max_channels)
        self.spectral = MultiResolutionSTFTDiscriminator(sampling_rate, audio_channels, fft_sizes, channels)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        a, b = self.waveform(audio), self.spectral(audio)
        return DiscriminatorOutput(a.logits + b.logits, a.feature_maps + b.feature_maps)


def build_discriminator(kind: str, sampling_rate: int = 44100, audio_channels: int = 2, num_scales: int = 3,
                        fft_sizes: Sequence[int] = (2048, 1024, 512), channels: int = 16,
                        max_channels: int = 128) -> nn.Module:
    """One of ``DISCRIMINATORS`` by name."""
    if kind == "multi_scale":
        return MultiScaleDiscriminator(audio_channels, num_scales, channels, max_channels)
    if kind == "multi_resolution_stft":
        return MultiResolutionSTFTDiscriminator(sampling_rate, audio_channels, fft_sizes, channels)
    if kind == "hybrid":
        return HybridDiscriminator(sampling_rate, audio_channels, num_scales, fft_sizes, channels, max_channels)
    raise ValueError(f"discriminator must be one of {DISCRIMINATORS}, got {kind!r}")


def _check_kind(kind: str) -> None:
    if kind not in ADVERSARIAL_LOSSES:
        raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {kind!r}")


def discriminator_loss(real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor],
                       kind: str = "hinge") -> torch.Tensor:
    """Mean over scales. Hinge: ``relu(1 - D(x)) + relu(1 + D(G(z)))``; least squares: ``(D(x) - 1)^2 + D(G(z))^2``.
    Minimised when real logits are high and fake ones low."""
    _check_kind(kind)
    total = 0.0
    for real, fake in zip(real_logits, fake_logits, strict=True):
        real, fake = real.float(), fake.float()
        if kind == "hinge":
            total = total + F.relu(1 - real).mean() + F.relu(1 + fake).mean()
        else:
            total = total + (real - 1).square().mean() + fake.square().mean()
    return total / len(real_logits)


def generator_loss(fake_logits: Sequence[torch.Tensor], kind: str = "hinge") -> torch.Tensor:
    """Mean over scales. Hinge (EnCodec/SoundStream): ``relu(1 - D(G(z)))``; least squares: ``(D(G(z)) - 1)^2``.
    Minimised when the discriminator scores the fakes as real."""
    _check_kind(kind)
    total = 0.0
    for fake in fake_logits:
        fake = fake.float()
        total = total + (F.relu(1 - fake).mean() if kind == "hinge" else (fake - 1).square().mean())
    return total / len(fake_logits)


def feature_matching_loss(real_features: Sequence[Sequence[torch.Tensor]],
                          fake_features: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """EnCodec's relative feature matching: ``mean_layers |f(x) - f(G(z))|_1 / mean |f(x)|``, averaged over scales
    (the real features are treated as constants)."""
    total, count = 0.0, 0
    for real_scale, fake_scale in zip(real_features, fake_features, strict=True):
        for real, fake in zip(real_scale, fake_scale, strict=True):
            real = real.detach().float()
            total = total + F.l1_loss(fake.float(), real) / real.abs().mean().clamp_min(1e-8)
            count += 1
    return total / max(count, 1)
