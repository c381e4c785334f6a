"""Reconstruction metrics, batched over leading dimensions: spectrogram-domain errors, SNR, and wide-band PESQ."""

import math
from typing import Optional

import numpy as np
import torch

from ..audio.io import resample
from ..audio.spectrogram import SpectrogramConverter
from ..utils.import_utils import require

PESQ_RATE = 16000


def mse(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """``[..., bins, frames]`` -> ``[...]`` mean squared error."""
    return (reference - estimate).square().mean(dim=(-2, -1))


def mae(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """``[..., bins, frames]`` -> ``[...]`` mean absolute error."""
    return (reference - estimate).abs().mean(dim=(-2, -1))


def cosine_similarity(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """``[..., bins, frames]`` -> ``[...]`` cosine of the angle between the flattened spectrograms."""
    return torch.nn.functional.cosine_similarity(reference.flatten(-2), estimate.flatten(-2), dim=-1, eps=1e-12)


def spectral_convergence_db(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Magnitudes ``[..., bins, frames]`` -> ``[...]`` ``20 log10(||S - S_hat||_F / ||S||_F)`` (lower is better)."""
    error = (reference - estimate).flatten(-2).norm(dim=-1)
    return 20 * torch.log10(error / reference.flatten(-2).norm(dim=-1).clamp_min(1e-12))


def log_spectral_distance(reference: torch.Tensor, estimate: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Power spectrograms ``[..., bins, frames]`` -> ``[...]`` LSD in dB: the RMS over bins of the dB difference,
    averaged over frames."""
    difference = 10 * (torch.log10(reference.clamp_min(eps)) - torch.log10(estimate.clamp_min(eps)))
    return difference.square().mean(dim=-2).sqrt().mean(dim=-1)


def snr_db(reference: torch.Tensor, estimate: torch.Tensor, dim: Optional[int] = -1) -> torch.Tensor:
    """Signal-to-noise ratio in dB (``inf`` where identical), summed in float64 and returned in the inputs' dtype.

    ``dim=-1``: per waveform, ``[..., samples]`` -> ``[...]``. ``dim=None``: one figure for the whole signal (all
    channels), a 0-d tensor (``float(...)`` it for a number).
    """
    reference, estimate = torch.as_tensor(reference), torch.as_tensor(estimate)
    dtype = reference.dtype if reference.is_floating_point() else torch.float32
    reference, estimate = reference.double(), estimate.double()
    dims = tuple(range(reference.dim())) if dim is None else dim
    noise = (reference - estimate).square().sum(dim=dims)
    return (10 * torch.log10(reference.square().sum(dim=dims).clamp_min(1e-20) / noise)).to(dtype)


def audio_spectral_convergence_db(reference: torch.Tensor, estimate: torch.Tensor, sampling_rate: int = 22050,
                                  n_fft: int = 2048, hop_length: int = 512) -> float:
    """Spectral convergence in dB of the STFT magnitudes of whole waveforms ``[..., samples]`` (``-inf`` where
    identical): judges audio whose phase was estimated (Griffin-Lim), where waveform SNR is meaningless."""
    stft = SpectrogramConverter(sampling_rate=sampling_rate, n_fft=n_fft, hop_length=hop_length, mode="linear").stft
    magnitudes = [stft(torch.as_tensor(x).double()).abs().flatten(0, -2) for x in (reference, estimate)]
    return float(spectral_convergence_db(*magnitudes))


def pesq_wideband(reference: torch.Tensor, estimate: torch.Tensor, sampling_rate: int) -> list[float]:
    """Wide-band PESQ (ITU-T P.862.2, the ``pesq`` package) of mono ``[samples]`` or ``[batch, samples]`` audio,
    resampled to 16 kHz: from about 1.0 (bad) to 4.64 (identical).

    PESQ is a speech measure: where its voice-activity detector finds no "utterance" in a music clip the score is
    undefined and returned as NaN (average with ``nanmean`` and count them).
    """
    pesq_module = require("pesq", "PESQ (wide-band, ITU-T P.862.2)")
    PesqError, pesq = pesq_module.PesqError, pesq_module.pesq

    reference, estimate = torch.atleast_2d(reference).float(), torch.atleast_2d(estimate).float()
    if reference.shape != estimate.shape:
        raise ValueError(f"reference {tuple(reference.shape)} and estimate {tuple(estimate.shape)} differ in shape")
    if sampling_rate != PESQ_RATE:
        reference = resample(reference, sampling_rate, PESQ_RATE)
        estimate = resample(estimate, sampling_rate, PESQ_RATE)
    if reference.shape[-1] < PESQ_RATE // 4:
        raise ValueError(f"PESQ needs at least 0.25 s of audio, got {reference.shape[-1] / PESQ_RATE:.3f} s")
    scores = []
    for ref, deg in zip(reference.cpu().numpy().astype(np.float64), estimate.cpu().numpy().astype(np.float64)):
        score = pesq(PESQ_RATE, ref, deg, "wb", on_error=PesqError.RETURN_VALUES)
        scores.append(float(score) if score >= 0 else math.nan)
    return scores


def si_sdr_db(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Waveforms ``[..., samples]`` -> ``[...]`` scale-invariant signal-to-distortion ratio in dB (Le Roux et al.
    2019): the SNR after projecting ``estimate`` onto ``reference`` (means removed); ``inf`` where proportional."""
    reference = reference - reference.mean(dim=-1, keepdim=True)
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    scale = (estimate * reference).sum(dim=-1, keepdim=True) / reference.square().sum(dim=-1, keepdim=True).clamp_min(
        1e-20)
    target = scale * reference
    return 10 * torch.log10(target.square().sum(dim=-1).clamp_min(1e-20) / (estimate - target).square().sum(dim=-1))
