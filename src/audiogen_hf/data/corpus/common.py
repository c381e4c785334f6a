"""Constants and small helpers shared by the corpus builders: audio levels, atomic JSON, running tools."""

import json
import os
import subprocess
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf
import torch

from ...audio.io import resample as resample_waveform

CORPUS_VERSION = 2
STEMS = ("drums", "bass", "other", "vocals")
MUSDB_SR = 44100
GTZAN_SR = 22050
CLIP_S = 30.0
CLIP_OFFSET_S = 10.0  # skip intros: GTZAN slots start at 10 s, 40 s, 70 s, ...
FRAME_S = 0.5  # activity frames
ACTIVE_REL_DB = -30.0  # a frame is active within 30 dB of the stem's loud (95th percentile) level
ACTIVE_FLOOR = 1e-3  # ... and above -60 dBFS
MIN_ACTIVE = 0.5  # every stem must be active in at least half of an excerpt's frames
STEM_RMS = 0.1  # rendered stems are levelled to -20 dBFS RMS over their active frames
PEAK = 0.99
SILENT_CLIP_RMS = 0.01  # GTZAN clips quieter than -40 dBFS RMS are skipped
VOICE_PROGRAMS = (52, 53, 54, 85)  # GM choir aahs, voice oohs, synth voice, voice lead
BASS_PROGRAMS = range(32, 40)
DRUM_CHANNEL = 9
FLUIDSYNTH_TIMEOUT_S = 120  # a runaway render writes ~40 MB/s


def run_tool(cmd: list, error: str, cwd: Optional[Path] = None, timeout: Optional[float] = None) -> None:
    """Run ``cmd``; on failure raise RuntimeError(error) with the tool's own message appended."""
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise RuntimeError(f"{error}\n`{' '.join(cmd)}` said: {detail.strip()}") from exc


def read_mix(paths: list, start_s: float = 0.0, seconds: Optional[float] = None) -> tuple:
    """Sum of the audio files ``paths`` (float32, (samples, channels)), optionally only a region."""
    sr = sf.info(paths[0]).samplerate
    frames = -1 if seconds is None else round(seconds * sr)
    arrays = [sf.read(p, start=round(start_s * sr), frames=frames, dtype="float32", always_2d=True)[0] for p in paths]
    length = min(len(a) for a in arrays)
    return sum(a[:length] for a in arrays), sr


def slice_audio(audio: np.ndarray, sr: int, start_s: float, seconds: float) -> tuple:
    start = round(start_s * sr)
    return audio[start:start + round(seconds * sr)], sr


def frame_rms(audio: np.ndarray, sr: int) -> np.ndarray:
    hop = round(FRAME_S * sr)
    frames = len(audio) // hop
    return np.sqrt(np.mean(np.square(audio[:frames * hop].reshape(frames, -1)), axis=1))


def active_frames(audio: np.ndarray) -> np.ndarray:
    """Boolean activity per ``FRAME_S`` frame (within 30 dB of the loud level and above -60 dBFS)."""
    rms = frame_rms(audio, MUSDB_SR)
    return rms > max(ACTIVE_FLOOR, np.percentile(rms, 95) * 10 ** (ACTIVE_REL_DB / 20))


def write_json(path: Path, data) -> None:
    """Write ``data`` as indented JSON atomically (a temporary file renamed over ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit ``audio`` ((samples, channels); WAV or FLAC by suffix) atomically: an interrupted build never
    leaves a truncated file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    sf.write(tmp, audio, sample_rate, subtype="PCM_16")
    os.replace(tmp, path)


def resample(audio: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """(samples, channels) float32 at ``target_sr``: the signal layer's ``resample`` on the numpy layout the corpus
    builder uses (no-op at the same rate)."""
    if sr == target_sr:
        return audio
    return resample_waveform(torch.from_numpy(np.ascontiguousarray(audio.T)), sr, target_sr).T.numpy()
