"""The seed's music-specific losses: harmonic (chroma), rhythmic (onset-strength envelope) and timbral (spectral
centroid / bandwidth / flatness), and their weighted sum.

Each takes ``estimate`` and ``target`` ``[..., samples]`` and returns a scalar: 0 for identical inputs, positive
otherwise, differentiable. STFTs come from ``audio.spectrogram`` (through ``losses.spectral.stft_magnitude``), the
timbral descriptors from ``audio.features``.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from ..audio.features import spectral_bandwidth, spectral_centroid, spectral_flatness
from .spectral import _check_pair, mel_magnitude, stft_magnitude


@lru_cache(maxsize=16)
def chroma_filterbank(sampling_rate: int, n_fft: int) -> torch.Tensor:
    """librosa's chroma filterbank ``[12, freqs]`` (pitch classes from C)."""
    import librosa

    return torch.from_numpy(librosa.filters.chroma(sr=sampling_rate, n_fft=n_fft, n_chroma=12)).float()


class HarmonicLoss(nn.Module):
    """L1 between frame-normalised chromagrams (12 pitch classes from the STFT power): harmonic content.

    Args:
        sampling_rate (`int`, defaults to 44100), n_fft (`int`, defaults to 4096), hop_length (`int`, 1024).
    """

    def __init__(self, sampling_rate: int = 44100, n_fft: int = 4096, hop_length: int = 1024):
        super().__init__()
        self.sampling_rate, self.n_fft, self.hop_length = sampling_rate, n_fft, hop_length

    def chroma(self, audio: torch.Tensor) -> torch.Tensor:
        """``[..., samples]`` -> ``[..., 12, frames]``, each frame summing to 1 (energy-weighted)."""
        power = stft_magnitude(audio, self.sampling_rate, self.n_fft, self.hop_length).square()
        chroma = chroma_filterbank(self.sampling_rate, self.n_fft).to(power.device) @ power
        return chroma / chroma.sum(dim=-2, keepdim=True).clamp_min(1e-8)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        return F.l1_loss(self.chroma(estimate), self.chroma(target))


class RhythmicLoss(nn.Module):
    """L1 between onset-strength envelopes (half-wave rectified frame difference of dB mels, averaged over bands,
    as librosa's ``onset_strength``), divided by the target envelope's mean: rhythmic pattern.

    Args:
        sampling_rate (`int`, defaults to 44100), n_fft (`int`, 2048), hop_length (`int`, 512), n_mels (`int`, 64).
    """

    def __init__(self, sampling_rate: int = 44100, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 64):
        super().__init__()
        self.sampling_rate, self.n_fft, self.hop_length, self.n_mels = sampling_rate, n_fft, hop_length, n_mels

    def onset_strength(self, audio: torch.Tensor) -> torch.Tensor:
        """``[..., samples]`` -> ``[..., frames - 1]``."""
        mel = mel_magnitude(audio, self.sampling_rate, self.n_fft, self.hop_length, self.n_mels)
        db = 20.0 * mel.clamp_min(1e-5).log10()
        return F.relu(db[..., 1:] - db[..., :-1]).mean(dim=-2)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        e, t = self.onset_strength(estimate), self.onset_strength(target)
        return (e - t).abs().mean() / t.mean().detach().clamp_min(1.0)


class TimbralLoss(nn.Module):
    """L1 between spectral centroid and bandwidth (as fractions of Nyquist) and spectral flatness, per frame.

    Args:
        sampling_rate (`int`, defaults to 44100), n_fft (`int`, 2048), hop_length (`int`, 512).
    """

    def __init__(self, sampling_rate: int = 44100, n_fft: int = 2048, hop_length: int = 512):
        super().__init__()
        self.sampling_rate, self.n_fft, self.hop_length = sampling_rate, n_fft, hop_length

    def descriptors(self, audio: torch.Tensor) -> torch.Tensor:
        """``[..., samples]`` -> ``[..., 3, frames]``: centroid / Nyquist, bandwidth / Nyquist, flatness."""
        spec = stft_magnitude(audio, self.sampling_rate, self.n_fft, self.hop_length)
        nyquist = self.sampling_rate / 2
        return torch.stack([spectral_centroid(spec, self.sampling_rate) / nyquist,
                            spectral_bandwidth(spec, self.sampling_rate) / nyquist,
                            spectral_flatness(spec)], dim=-2)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(estimate, target)
        return F.l1_loss(self.descriptors(estimate), self.descriptors(target))


class MusicLoss(nn.Module):
    """``harmonic_weight x HarmonicLoss + rhythmic_weight x RhythmicLoss + timbral_weight x TimbralLoss``.

    Args:
        sampling_rate (`int`, defaults to 44100), harmonic_weight, rhythmic_weight, timbral_weight (`float`, 1.0).

    Example:

    ```python
    >>> loss = MusicLoss(44100)
    >>> x = torch.randn(1, 2, 16384)
    >>> float(loss(x, x)), float(loss(x, 0.5 * x + 0.1 * torch.randn_like(x))) > 0
    (0.0, True)
    ```
    """

    def __init__(self, sampling_rate: int = 44100, harmonic_weight: float = 1.0, rhythmic_weight: float = 1.0,
                 timbral_weight: float = 1.0):
        super().__init__()
        self.weights = {"harmonic": harmonic_weight, "rhythmic": rhythmic_weight, "timbral": timbral_weight}
        self.harmonic, self.rhythmic = HarmonicLoss(sampling_rate), RhythmicLoss(sampling_rate)
        self.timbral = TimbralLoss(sampling_rate)

    def terms(self, estimate: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each unweighted term (only those with a non-zero weight)."""
        return {name: getattr(self, name)(estimate, target) for name, w in self.weights.items() if w}

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        terms = self.terms(estimate, target)
        return sum((self.weights[name] * value for name, value in terms.items()),
                   estimate.new_zeros((), dtype=torch.float32))
