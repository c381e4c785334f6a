"""Tempo in BPM from beat tracking (librosa's dynamic-programming beat tracker on an onset envelope), refined by a
least-squares fit of a constant beat period to the tracked beat times.

librosa's own tempo estimate is quantised by its onset-envelope hop (at 22.05 kHz / hop 256, neighbouring lags near
120 BPM are ~1.4 % apart); fitting the beat times gives the period to a small fraction of a percent on steady music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..audio.io import resample, to_mono
from ..utils.import_utils import require

ANALYSIS_RATE = 22050
ONSET_HOP = 256


@dataclass
class TempoEstimate:
    """``bpm``: the refined tempo (``nan`` when fewer than 4 beats were found); ``beat_times``: seconds ``[beats]``;
    ``tracker_bpm``: the beat tracker's own (quantised) estimate."""

    bpm: float
    beat_times: np.ndarray
    tracker_bpm: float


def estimate_tempo(audio: torch.Tensor, sampling_rate: int, start_bpm: float = 120.0) -> TempoEstimate:
    """Beat-track ``[channels, samples]`` (or ``[samples]``) audio (downmixed, resampled to 22.05 kHz).

    ``start_bpm`` is the beat tracker's prior centre: tempi far from it (below ~60 or above ~200 BPM) may come back
    halved or doubled.
    """
    librosa = require("librosa", "tempo estimation (beat tracking)")

    audio = torch.as_tensor(audio, dtype=torch.float32)
    if audio.dim() not in (1, 2) or audio.numel() == 0:
        raise ValueError(f"expected [channels, samples] or [samples] audio, got shape {tuple(audio.shape)}")
    mono = resample(to_mono(audio), sampling_rate, ANALYSIS_RATE).numpy()
    onset = librosa.onset.onset_strength(y=mono, sr=ANALYSIS_RATE, hop_length=ONSET_HOP)
    tracker_bpm, beats = librosa.beat.beat_track(onset_envelope=onset, sr=ANALYSIS_RATE, hop_length=ONSET_HOP,
                                                 start_bpm=start_bpm, units="time")
    tracker_bpm = float(np.atleast_1d(tracker_bpm)[0])
    beats = np.asarray(beats, dtype=np.float64)
    return TempoEstimate(bpm=refine_bpm(beats), beat_times=beats, tracker_bpm=tracker_bpm)


def refine_bpm(beat_times: np.ndarray) -> float:
    """Fit ``t_k = t_0 + k * period`` to beat times by least squares; beats skipped by the tracker are accounted for
    by numbering each beat with its rounded position in median intervals. ``nan`` for fewer than 4 beats."""
    beat_times = np.asarray(beat_times, dtype=np.float64)
    if len(beat_times) < 4:
        return float("nan")
    median = float(np.median(np.diff(beat_times)))
    if median <= 0:
        return float("nan")
    index = np.round((beat_times - beat_times[0]) / median)
    period = float(np.polyfit(index, beat_times, 1)[0])
    return 60.0 / period
