"""Fixed-length clip windowing and spectrogram caching over ``datasets.Dataset`` rows.

``window_clips`` turns rows that reference audio (``Audio`` columns: MUSDB stems, GTZAN clips) into rows of decoded
``[channels, samples]`` float32 windows; ``cache_spectrograms`` adds the converter's spectrograms with
``Dataset.map(num_proc=...)``. Unreadable sources are skipped and counted (or raise with ``strict=True``): one bad
file never stops a long map.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from datasets import Array2D, Array3D, Array4D, Audio, Dataset, Features, Value

from ..audio.io import AudioLoadError, load_audio
from ..audio.spectrogram import SpectrogramConverter
from ..logging_utils import get_logger

logger = get_logger(__name__)


def window_starts(num_samples: int, clip_samples: int, hop_samples: int, pad_last: bool) -> list[int]:
    """Start sample of each window; with ``pad_last`` a partial last window (or a too-short source) is kept."""
    if clip_samples <= 0 or hop_samples <= 0:
        raise ValueError(f"clip and hop lengths must be > 0 samples, got {clip_samples} and {hop_samples}")
    starts = list(range(0, num_samples - clip_samples + 1, hop_samples))  # full windows
    following = starts[-1] + hop_samples if starts else 0
    if pad_last and following < num_samples and (not starts or starts[-1] + clip_samples < num_samples):
        starts.append(following)  # the partial last window (or the whole of a too-short source)
    return starts


def window_clips(
    dataset: Dataset,
    clip_seconds: float,
    sampling_rate: int,
    channels: int,
    hop_seconds: Optional[float] = None,
    audio_columns: Optional[Sequence[str]] = None,
    pad_last: bool = True,
    min_rms: Optional[float] = None,
    strict: bool = False,
    num_proc: Optional[int] = None,
    **map_kwargs,
) -> Dataset:
    """Cut every row's audio into ``clip_seconds`` windows, decoded, resampled and channel-converted.

    Args:
        dataset: rows with one or more ``Audio`` columns (all windowed identically, e.g. the stems of a track).
        clip_seconds, hop_seconds: window length and step (``hop_seconds`` ``None``: no overlap).
        sampling_rate, channels: the rate and channel count of the output windows (1 = mono downmix, 2 = stereo).
        audio_columns: the columns to window (``None``: every ``Audio`` column).
        pad_last: zero-pad the last partial window (and sources shorter than one clip) instead of dropping it.
        min_rms: drop windows where any audio column is quieter than this RMS (e.g. ``1e-4`` skips silence).
        strict: raise on an unreadable source instead of skipping it.
        map_kwargs: forwarded to ``Dataset.map`` (``cache_file_name``, ``writer_batch_size``, ...).

    Returns:
        A ``Dataset`` with the other columns of the source row, ``start`` (seconds), ``sampling_rate`` and each audio
        column as a float32 ``[channels, clip_samples]`` array (``set_format("torch")`` for tensors).
    """
    if clip_seconds <= 0 or (hop_seconds is not None and hop_seconds <= 0):
        raise ValueError(f"clip_seconds and hop_seconds must be > 0, got {clip_seconds} and {hop_seconds}")
    if sampling_rate <= 0 or channels not in (1, 2):
        raise ValueError(f"sampling_rate must be > 0 and channels 1 or 2, got {sampling_rate} and {channels}")
    if audio_columns is None:
        audio_columns = [name for name, feature in dataset.features.items() if isinstance(feature, Audio)]
    for column in audio_columns:
        if not isinstance(dataset.features.get(column), Audio):
            raise ValueError(f"column {column!r} is not an Audio column of the dataset: {dataset.features}")
    if not audio_columns:
        raise ValueError(f"the dataset has no Audio column to window: {dataset.features}")
    clip = int(round(clip_seconds * sampling_rate))
    hop = clip if hop_seconds is None else int(round(hop_seconds * sampling_rate))
    streams = {column: dataset.features[column].stream_index for column in audio_columns}
    other = [name for name in dataset.column_names if name not in audio_columns]

    features = Features({name: dataset.features[name] for name in other})
    features.update({"start": Value("float32"), "sampling_rate": Value("int32"), "error": Value("string")})
    features.update({column: Array2D(shape=(None, clip), dtype="float32") for column in audio_columns})

    def cut(batch: dict) -> dict:
        if num_proc:
            torch.set_num_threads(1)  # forked workers would deadlock in the parent's intra-op thread pool
        out = {name: [] for name in features}
        for index in range(len(batch[audio_columns[0]])):
            source = {column: batch[column][index] for column in audio_columns}
            try:
                audios = {
                    column: load_audio({**source[column], "stream": streams[column]}, sampling_rate, channels)[0]
                    for column in audio_columns
                }
            except (AudioLoadError, FileNotFoundError) as error:
                if strict:
                    raise
                logger.warning("skipping unreadable audio: %s", error)
                rows = [({}, 0.0, str(error) or type(error).__name__)]
            else:
                rows = _windows(audios, clip, hop, pad_last, min_rms)
            for arrays, start, error in rows:
                for name in other:
                    out[name].append(batch[name][index])
                out["start"].append(start / sampling_rate if not error else 0.0)
                out["sampling_rate"].append(sampling_rate)
                out["error"].append(error)
                for column in audio_columns:
                    out[column].append(arrays.get(column, np.zeros((0, clip), dtype=np.float32)))
        return out

    plain = dataset.cast(Features({**dataset.features, **{c: Audio(decode=False) for c in audio_columns}}))
    clips = plain.map(cut, batched=True, batch_size=1, remove_columns=plain.column_names, features=features,
                      num_proc=num_proc, desc="Windowing clips", **map_kwargs)
    errors = clips.filter(lambda error: bool(error), input_columns="error")
    if len(errors):
        logger.warning("skipped %d of %d sources that could not be decoded (pass strict=True to raise instead)",
                       len(errors), len(dataset))
    return clips.filter(lambda error: not error, input_columns="error").remove_columns("error")


def _windows(audios: dict, clip: int, hop: int, pad_last: bool, min_rms: Optional[float]):
    """``[(arrays by column, start sample, "")]`` for each kept window of equally long decoded sources."""
    length = min(audio.shape[-1] for audio in audios.values())
    rows = []
    for start in window_starts(length, clip, hop, pad_last):
        arrays = {}
        for column, audio in audios.items():
            window = audio[:, start : start + clip]
            if window.shape[-1] < clip:
                window = torch.nn.functional.pad(window, (0, clip - window.shape[-1]))
            arrays[column] = window.numpy()
        if min_rms is not None and min(float(np.sqrt(np.mean(a**2))) for a in arrays.values()) < min_rms:
            continue
        rows.append((arrays, float(start), ""))
    return rows


def cache_spectrograms(
    clips: Dataset,
    converter: SpectrogramConverter,
    audio_column: str = "audio",
    output_column: str = "spectrogram",
    batch_size: int = 16,
    num_proc: Optional[int] = None,
    **map_kwargs,
) -> Dataset:
    """Add ``output_column`` ``[channels, bins, frames]`` float32 (and ``<output_column>_stats``
    ``[channels, 2, 1, 1]`` min/max for ``per_clip`` normalisation, to pass back to
    ``converter.spectrogram_to_audio``) to windowed clips.

    The clips' ``sampling_rate`` must equal ``converter.config.sampling_rate``.
    """
    if audio_column not in clips.column_names:
        raise ValueError(f"no column {audio_column!r} in {clips.column_names}")
    rates = set(clips.unique("sampling_rate")) if "sampling_rate" in clips.column_names else set()
    if rates and rates != {converter.config.sampling_rate}:
        raise ValueError(f"clips are at {sorted(rates)} Hz but the converter expects "
                         f"{converter.config.sampling_rate} Hz; "
                         "window them with sampling_rate=converter.config.sampling_rate")
    channels, samples = clips.features[audio_column].shape
    bins, frames = converter.num_bins, converter.num_frames(samples)
    per_clip = converter.config.normalization == "per_clip"
    features = clips.features.copy()
    features[output_column] = Array3D(shape=(None, bins, frames), dtype="float32")
    if per_clip:
        features[f"{output_column}_stats"] = Array4D(shape=(None, 2, 1, 1), dtype="float32")

    def compute(batch: dict) -> dict:
        if num_proc:
            torch.set_num_threads(1)  # forked workers would deadlock in the parent's intra-op thread pool
        audio = torch.as_tensor(np.stack(batch[audio_column]), dtype=torch.float32)
        with torch.no_grad():
            output = converter.audio_to_spectrogram(audio)
        result = {output_column: output.spectrogram.numpy()}
        if per_clip:
            result[f"{output_column}_stats"] = output.stats.numpy()
        return result

    return clips.with_format("numpy", columns=[audio_column], output_all_columns=True).map(
        compute, batched=True, batch_size=batch_size, features=features, num_proc=num_proc,
        desc="Caching spectrograms", **map_kwargs,
    ).with_format(None)
