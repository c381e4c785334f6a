"""Spectral features of linear-frequency magnitude spectrograms, batched and differentiable (the Jam metrics).

Every function takes ``spec`` ``[..., bins, frames]`` (non-negative magnitudes) and returns ``[..., frames]``.
Bins are rfft bins (``n_fft // 2 + 1``, frequencies from ``sampling_rate``) unless ``frequencies`` gives each bin's
frequency in Hz, e.g. ``mel_frequencies`` for mel spectrograms. Centroid, bandwidth and flatness follow librosa's
definitions; silent frames stay finite (centroid, bandwidth and entropy 0; flatness 1, as in librosa).
"""

from __future__ import annotations

from typing import Optional

import torch
import torchaudio

_EPS = 1e-10


def fft_frequencies(sampling_rate: int, num_freqs: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Centre frequency in Hz of each of ``num_freqs`` rfft bins."""
    return torch.linspace(0, sampling_rate / 2, num_freqs, device=device, dtype=dtype)


def mel_frequencies(sampling_rate: int, n_mels: int, f_min: float = 0.0,
                    f_max: Optional[float] = None) -> torch.Tensor:
    """Centre frequency in Hz of each Slaney mel band (the peak of its triangular filter, to within 1 Hz)."""
    f_max = sampling_rate / 2 if f_max is None else f_max
    grid = int(sampling_rate / 2) + 1  # a 1 Hz grid
    filters = torchaudio.functional.melscale_fbanks(grid, f_min, f_max, n_mels, sampling_rate, "slaney", "slaney")
    return torch.linspace(0, sampling_rate / 2, grid)[filters.argmax(dim=0)]


def _frequencies(spec: torch.Tensor, sampling_rate: Optional[int],
                 frequencies: Optional[torch.Tensor]) -> torch.Tensor:
    if frequencies is None:
        if sampling_rate is None:
            raise ValueError("pass sampling_rate (rfft bins) or frequencies (Hz of each bin)")
        return fft_frequencies(sampling_rate, spec.shape[-2], spec.device, spec.dtype)
    if frequencies.shape != spec.shape[-2:-1]:
        raise ValueError(f"frequencies has shape {tuple(frequencies.shape)}, expected ({spec.shape[-2]},)")
    return frequencies.to(spec.device, spec.dtype)


def _distribution(spec: torch.Tensor) -> torch.Tensor:
    """Each frame's spectrum as weights summing to 1 (0 for silent frames)."""
    total = spec.sum(dim=-2, keepdim=True)
    return spec / total.clamp_min(_EPS) * (total > _EPS)


def spectral_centroid(spec: torch.Tensor, sampling_rate: Optional[int] = None,
                      frequencies: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Magnitude-weighted mean frequency in Hz (``librosa.feature.spectral_centroid``)."""
    freqs = _frequencies(spec, sampling_rate, frequencies)
    return (_distribution(spec) * freqs[:, None]).sum(dim=-2)


def spectral_bandwidth(spec: torch.Tensor, sampling_rate: Optional[int] = None,
                       frequencies: Optional[torch.Tensor] = None, p: float = 2.0) -> torch.Tensor:
    """Weighted p-th-order deviation around the centroid in Hz (``librosa.feature.spectral_bandwidth``)."""
    freqs = _frequencies(spec, sampling_rate, frequencies)[:, None]
    weights = _distribution(spec)
    centroid = (weights * freqs).sum(dim=-2, keepdim=True)
    # A tiny offset keeps the gradient of |x|**(1/p) finite for frames with zero spread.
    return ((weights * (freqs - centroid).abs().pow(p)).sum(dim=-2) + _EPS).pow(1.0 / p) * (weights.sum(dim=-2) > 0)


def spectral_flatness(spec: torch.Tensor, power: float = 2.0, amin: float = 1e-10) -> torch.Tensor:
    """Geometric over arithmetic mean of ``spec ** power`` in [0, 1] (``librosa.feature.spectral_flatness``)."""
    values = spec.pow(power).clamp_min(amin)
    return values.log().mean(dim=-2).exp() / values.mean(dim=-2)


def spectral_entropy(spec: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """Shannon entropy of the frame's normalised ``spec ** power``, divided by ``log(freqs)``: in [0, 1]."""
    weights = _distribution(spec.pow(power))
    entropy = -(weights * (weights + _EPS).log()).sum(dim=-2)
    return entropy / torch.log(torch.tensor(float(spec.shape[-2])))


def spectral_features(spec: torch.Tensor, sampling_rate: Optional[int] = None,
                      frequencies: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
    """All four features of ``[..., bins, frames]``, each ``[..., frames]``."""
    return {
        "centroid": spectral_centroid(spec, sampling_rate, frequencies),
        "bandwidth": spectral_bandwidth(spec, sampling_rate, frequencies),
        "flatness": spectral_flatness(spec),
        "entropy": spectral_entropy(spec),
    }
