"""Continuation metrics: does a generated continuation keep moving like music, or settle into a fixed pattern?

Each metric compares the generated continuation with the true continuation of the same prompt, both as log-mel
spectrograms in dB ``[n_mels, frames]`` at ``frame_rate`` frames per second:

- ``flux_ratio_s<k>``: spectral flux at 200 ms resolution in second ``k`` (1-based), generated / real. The log-mel
  is smoothed along time with a Gaussian of 200 ms full width at half maximum (its response at the frame rate's
  Nyquist frequency is below 1e-3, so frame-to-frame flicker is removed), sampled every 200 ms, and the mean absolute
  dB change between consecutive samples is the flux. A constant spectrogram has flux 0.
- ``band_change_ratio``: ``1 - corr`` of the smoothed spectrum's band pattern with itself 1 s later (Pearson
  correlation over bands, averaged over time), generated / real. A fixed band pattern (with or without flicker on
  top) scores about 0; music that moves like the real one scores 1.
- ``band_mean_db``: mean over bands of the absolute difference of each band's time-mean, in dB.
- ``band_std_error``: mean over bands of ``|std_generated - std_real| / max(std_real, 1 dB)`` (0.5 = 50 %).
- ``loudness_db``: RMS level of the generated continuation's audio minus the prompt audio's, in dB (and
  ``real_loudness_db`` for the true continuation); ``peak``: the continuation's largest absolute sample (> 1 clips).

``continuation_goals`` checks the Jam Assistant's targets (issue 15) on the median over clips.
"""

import math
from typing import Optional

import torch

SMOOTHING_S = 0.2  # full width at half maximum of the time smoothing, and the flux's sampling step
CORRELATION_LAG_S = 1.0
STD_FLOOR_DB = 1.0

GOALS = {
    "flux_ratio": (0.8, 1.25),  # every second
    "band_change_ratio": (0.7, 1.5),
    "band_mean_db": 3.0,
    "band_std_error": 0.5,
    "peak": 1.0,
    "loudness_db": 3.0,
}


def smooth_time(log_mel: torch.Tensor, frame_rate: float, fwhm_s: float = SMOOTHING_S) -> torch.Tensor:
    """Gaussian smoothing along the last (time) axis of ``[..., frames]``; edges are reflected."""
    sigma = fwhm_s * frame_rate / (2 * math.sqrt(2 * math.log(2)))
    radius = max(1, math.ceil(4 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(log_mel.dtype if log_mel.is_floating_point() else torch.float32)
    shape = log_mel.shape
    x = log_mel.reshape(-1, 1, shape[-1]).to(kernel.dtype)
    pad = min(radius, shape[-1] - 1)
    x = torch.nn.functional.pad(x, (pad, pad), mode="reflect") if pad > 0 else x
    if pad < radius:  # clips shorter than the kernel: pad the rest with the edge values
        x = torch.nn.functional.pad(x, (radius - pad, radius - pad), mode="replicate")
    return torch.nn.functional.conv1d(x, kernel.view(1, 1, -1).to(x.device)).reshape(shape)


def flux_per_second(log_mel: torch.Tensor, frame_rate: float, seconds: Optional[int] = None) -> torch.Tensor:
    """``[n_mels, frames]`` dB -> ``[seconds]`` mean absolute dB change of the smoothed log-mel per 200 ms step.

    Second ``k`` holds the changes between the 200 ms samples at ``t`` and ``t + 200 ms`` for ``t`` in ``[k, k+1)`` s
    (its last step reaches into the next second, if there is one)."""
    smoothed = smooth_time(log_mel.double(), frame_rate)
    step = SMOOTHING_S * frame_rate
    total = log_mel.shape[-1]
    seconds = seconds or int(total // frame_rate)
    flux = []
    for k in range(seconds):
        times = torch.arange(k * frame_rate, (k + 1) * frame_rate - 1e-9, step)
        starts = times.round().long()
        ends = (times + step).round().long()
        keep = ends < total
        if not keep.any():
            raise ValueError(f"second {k + 1} needs at least {step:.1f} frames, the clip has {total}")
        starts, ends = starts[keep], ends[keep]
        flux.append((smoothed[:, ends] - smoothed[:, starts]).abs().mean())
    return torch.stack(flux)


def band_pattern_change(log_mel: torch.Tensor, frame_rate: float, lag_s: float = CORRELATION_LAG_S) -> float:
    """``1 -`` the mean Pearson correlation (over bands) of the smoothed log-mel at ``t`` and ``t + lag_s``.

    Patterns with no variation over bands count as fully correlated with each other (a constant is fixed)."""
    smoothed = smooth_time(log_mel.double(), frame_rate)
    lag = round(lag_s * frame_rate)
    if smoothed.shape[-1] <= lag:
        raise ValueError(f"band_pattern_change needs more than {lag} frames ({lag_s} s), got {smoothed.shape[-1]}")
    a, b = smoothed[:, :-lag], smoothed[:, lag:]
    a, b = a - a.mean(dim=0), b - b.mean(dim=0)
    norms = a.norm(dim=0) * b.norm(dim=0)
    flat = norms < 1e-9
    correlation = torch.where(flat, torch.ones_like(norms), (a * b).sum(dim=0) / norms.clamp_min(1e-12))
    return float(1 - correlation.mean())


def rms_db(audio: torch.Tensor) -> float:
    return float(10 * torch.log10(torch.as_tensor(audio, dtype=torch.float64).square().mean().clamp_min(1e-20)))


def continuation_metrics(
    generated_db: torch.Tensor,
    real_db: torch.Tensor,
    frame_rate: float,
    prompt_audio: Optional[torch.Tensor] = None,
    generated_audio: Optional[torch.Tensor] = None,
    real_audio: Optional[torch.Tensor] = None,
) -> dict:
    """Generated vs true continuation, log-mels in dB ``[n_mels, frames]`` (same shape) -> a dict of floats (see the
    module docstring). The audio (mono ``[samples]``) adds ``peak`` and ``loudness_db`` (``real_loudness_db``)."""
    generated_db, real_db = torch.as_tensor(generated_db).double(), torch.as_tensor(real_db).double()
    if generated_db.shape != real_db.shape or generated_db.dim() != 2:
        raise ValueError(f"generated {tuple(generated_db.shape)} and real {tuple(real_db.shape)} must be the same "
                         "[n_mels, frames]")
    if not (torch.isfinite(generated_db).all() and torch.isfinite(real_db).all()):
        raise ValueError("continuation_metrics: the log-mels must be finite (dB with a floor, not -inf)")
    seconds = int(real_db.shape[-1] // frame_rate)
    if seconds < 2:
        raise ValueError("continuation_metrics needs at least 2 s of frames, got "
                         f"{real_db.shape[-1] / frame_rate:.2f} s")
    metrics = {}
    real_flux = flux_per_second(real_db, frame_rate, seconds)
    flux = flux_per_second(generated_db, frame_rate, seconds)
    for k in range(seconds):
        metrics[f"flux_ratio_s{k + 1}"] = float(flux[k] / real_flux[k].clamp_min(1e-9))
    metrics["real_flux_db"] = float(real_flux.mean())
    real_change = band_pattern_change(real_db, frame_rate)
    metrics["band_change_ratio"] = band_pattern_change(generated_db, frame_rate) / max(real_change, 1e-9)
    metrics["real_band_change"] = real_change
    metrics["band_mean_db"] = float((generated_db.mean(dim=-1) - real_db.mean(dim=-1)).abs().mean())
    real_std = real_db.std(dim=-1)
    metrics["band_std_error"] = float(((generated_db.std(dim=-1) - real_std).abs() / real_std.clamp_min(STD_FLOOR_DB))
                                      .mean())
    if generated_audio is not None:
        generated_audio = torch.as_tensor(generated_audio)
        metrics["peak"] = float(generated_audio.abs().max())
        if prompt_audio is not None:
            metrics["loudness_db"] = rms_db(generated_audio) - rms_db(prompt_audio)
            if real_audio is not None:
                metrics["real_loudness_db"] = rms_db(real_audio) - rms_db(prompt_audio)
    return metrics


def median_metrics(rows: list[dict]) -> dict:
    """Median over clips of every metric the rows share."""
    if not rows:
        raise ValueError("median_metrics: no clips")
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    return {k: float(torch.tensor([float(r[k]) for r in rows], dtype=torch.float64).median()) for k in keys}


def continuation_goals(summary: dict) -> dict:
    """Which of issue 15's goals the (median) metrics meet: ``{goal: bool}`` plus ``all``."""
    low, high = GOALS["flux_ratio"]
    fluxes = [v for k, v in summary.items() if k.startswith("flux_ratio_s")]
    goals = {"flux_ratio": bool(fluxes) and all(low <= v <= high for v in fluxes)}
    low, high = GOALS["band_change_ratio"]
    goals["band_change_ratio"] = low <= summary["band_change_ratio"] <= high
    goals["band_mean_db"] = summary["band_mean_db"] <= GOALS["band_mean_db"]
    goals["band_std_error"] = summary["band_std_error"] <= GOALS["band_std_error"]
    if "peak" in summary:
        goals["peak"] = summary["peak"] <= GOALS["peak"]
    if "loudness_db" in summary:
        goals["loudness_db"] = abs(summary["loudness_db"]) <= GOALS["loudness_db"]
    goals["all"] = all(goals.values())
    return goals


def is_collapsed(metrics: dict, threshold: float = 0.5) -> bool:
    """A continuation has collapsed when its band pattern barely changes (``band_change_ratio`` < ``threshold``) or
    its smoothed flux falls below ``threshold`` of the real music's in any second."""
    fluxes = [v for k, v in metrics.items() if k.startswith("flux_ratio_s")]
    return metrics["band_change_ratio"] < threshold or min(fluxes) < threshold
