"""Audio I/O: decode any file libsndfile reads (FFmpeg formats through torchcodec), resample, fix channels, save.

Waveforms are float32 tensors shaped ``[channels, samples]`` in ``[-1, 1]``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import soundfile as sf
import torch
import torchaudio

AudioSource = Union[str, os.PathLike, bytes, dict]
"""A path, raw file bytes, or a dict ``{"path", "bytes", "stream"}`` as ``datasets.Audio(decode=False)`` gives."""


class AudioLoadError(ValueError):
    """An audio source could not be decoded, or decoded to unusable samples (empty, NaN, ...)."""


@dataclass(frozen=True)
class AudioInfo:
    sampling_rate: int
    num_frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.sampling_rate


def _unpack(source: AudioSource) -> tuple[Optional[str], Optional[bytes], Optional[int]]:
    """Split a source into (path, bytes, stream index)."""
    if isinstance(source, dict):
        path, data, stream = source.get("path"), source.get("bytes"), source.get("stream")
    elif isinstance(source, (bytes, bytearray)):
        path, data, stream = None, bytes(source), None
    else:
        path, data, stream = os.fspath(source), None, None
    if data is None:
        if path is None:
            raise AudioLoadError("audio source has neither a path nor bytes")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"audio file not found: {path}")
    return path, data, (None if stream is None or stream < 0 else int(stream))


def _name(path: Optional[str]) -> str:
    return path if path is not None else "<bytes>"


def _use_soundfile(path: Optional[str], stream: Optional[int]) -> bool:
    """libsndfile for what it reads natively; FFmpeg (torchcodec) for containers and stream selection."""
    if stream is not None:
        return False
    if path is None:
        return True  # bytes: try libsndfile first, fall back to FFmpeg
    return Path(path).suffix.lower().lstrip(".").upper() in sf.available_formats()


def _torchcodec_decoder(path: Optional[str], data: Optional[bytes], stream: Optional[int]):
    from torchcodec.decoders import AudioDecoder

    return AudioDecoder(data if data is not None else path, stream_index=stream)


def audio_info(source: AudioSource) -> AudioInfo:
    """Read sample rate, length and channel count without decoding the samples."""
    path, data, stream = _unpack(source)
    try:
        if _use_soundfile(path, stream):
            try:
                info = sf.info(io.BytesIO(data) if data is not None else path)
                return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels))
            except sf.LibsndfileError:
                if path is not None and not _may_be_ffmpeg(path):
                    raise
        meta = _torchcodec_decoder(path, data, stream).metadata
        frames = int(round((meta.duration_seconds_from_header or 0.0) * meta.sample_rate))
        return AudioInfo(int(meta.sample_rate), frames, int(meta.num_channels))
    except (FileNotFoundError, AudioLoadError):
        raise
    except Exception as error:  # noqa: BLE001 - every decoder failure becomes one clear error type
        raise AudioLoadError(f"could not read audio header of {_name(path)}: {error}") from error


def _may_be_ffmpeg(path: str) -> bool:
    return Path(path).suffix.lower() in {".mp3", ".mp4", ".m4a", ".aac", ".opus", ".webm", ".ogg"}


def load_audio(
    source: AudioSource,
    sampling_rate: Optional[int] = None,
    channels: Optional[int] = None,
    offset: float = 0.0,
    duration: Optional[float] = None,
) -> tuple[torch.Tensor, int]:
    """Decode ``source`` to a float32 ``[channels, samples]`` tensor and its sample rate.

    Args:
        sampling_rate: resample to this rate (torchaudio, band-limited sinc); ``None`` keeps the file's.
        channels: ``1`` downmixes, ``2`` duplicates mono; ``None`` keeps the file's channels.
        offset, duration: the window to decode, in seconds of the source.

    Raises:
        FileNotFoundError: the path does not exist.
        AudioLoadError: the file is corrupt, empty, or holds NaN/Inf samples.
    """
    path, data, stream = _unpack(source)
    if channels is not None and channels < 1:
        raise ValueError(f"channels must be >= 1 or None, got {channels}")
    if offset < 0 or (duration is not None and duration <= 0):
        raise ValueError(f"offset must be >= 0 and duration > 0, got offset={offset}, duration={duration}")
    try:
        waveform, rate = None, None
        if _use_soundfile(path, stream):
            try:
                with sf.SoundFile(io.BytesIO(data) if data is not None else path) as handle:
                    rate = handle.samplerate
                    handle.seek(min(int(round(offset * rate)), handle.frames))
                    frames = -1 if duration is None else int(round(duration * rate))
                    waveform = torch.from_numpy(handle.read(frames, dtype="float32", always_2d=True).T.copy())
            except sf.LibsndfileError:
                if path is not None and not _may_be_ffmpeg(path):
                    raise
        if waveform is None:
            decoder = _torchcodec_decoder(path, data, stream)
            stop = None if duration is None else offset + duration
            samples = decoder.get_samples_played_in_range(offset, stop)
            waveform, rate = samples.data.float(), int(samples.sample_rate)
    except (FileNotFoundError, AudioLoadError):
        raise
    except Exception as error:  # noqa: BLE001
        raise AudioLoadError(
            f"could not decode {_name(path)}: {error}. Is it a valid audio file? "
            "Formats: anything libsndfile reads (wav, flac, ogg, mp3) and, through FFmpeg, mp4/m4a/stem.mp4."
        ) from error

    if waveform.numel() == 0:
        raise AudioLoadError(f"{_name(path)} holds no samples in the requested window (offset={offset}s)")
    if not torch.isfinite(waveform).all():
        raise AudioLoadError(f"{_name(path)} contains NaN or infinite samples")
    if channels is not None:
        try:
            waveform = to_channels(waveform, channels)
        except ValueError as error:
            raise AudioLoadError(f"{_name(path)}: {error}") from error
    if sampling_rate is not None and sampling_rate != rate:
        waveform, rate = resample(waveform, rate, sampling_rate), sampling_rate
    return waveform, rate


def resample(waveform: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Band-limited resampling of ``[..., samples]`` with torchaudio."""
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {target_sr}")
    if orig_sr == target_sr:
        return waveform
    return torchaudio.functional.resample(waveform, orig_sr, target_sr)


def to_channels(waveform: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert ``[C, N]`` to ``[channels, N]``: downmix to mono by averaging, or duplicate mono."""
    if waveform.dim() != 2:
        raise ValueError(f"expected a [channels, samples] waveform, got shape {tuple(waveform.shape)}")
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    current = waveform.shape[0]
    if channels == current:
        return waveform
    if channels == 1:
        return waveform.mean(dim=0, keepdim=True)
    if current == 1:
        return waveform.expand(channels, -1).clone()
    raise ValueError(f"cannot convert {current} channels to {channels}; only mono<->N and N->mono are defined")


def to_mono(waveform: torch.Tensor) -> torch.Tensor:
    """``[samples]`` or ``[channels, samples]`` -> ``[samples]``, channels averaged (the library's one down-mix)."""
    waveform = torch.as_tensor(waveform)
    if waveform.dim() == 1:
        return waveform
    if waveform.dim() != 2:
        raise ValueError(f"expected [samples] or [channels, samples] audio, got shape {tuple(waveform.shape)}")
    return to_channels(waveform, 1)[0]


_INT_FULL_SCALE = {torch.int8: 2.0**7, torch.int16: 2.0**15, torch.int32: 2.0**31}


def prepare_audio(
    audio: Union[np.ndarray, torch.Tensor, list],
    sampling_rate: Optional[int],
    target_sampling_rate: int,
    device: Union[str, torch.device, None] = None,
    name: str = "audio",
) -> torch.Tensor:
    """Turn user audio into a pipeline's input: float32 ``[batch, samples]`` at ``target_sampling_rate`` on ``device``.

    Args:
        audio: a numpy array, torch tensor or list; mono ``[samples]`` or a batch of mono clips ``[batch, samples]``.
            Floats are taken as ``[-1, 1]`` samples; integer PCM (int8/16/32) is scaled by its full scale, uint8 (the
            WAV convention) is centred on 128 first.
        sampling_rate: the rate of ``audio`` in Hz (required: a wrong rate would silently change the pitch).
        target_sampling_rate: the rate the model works at; ``audio`` is resampled to it (band-limited sinc).
        device: where the returned tensor lives.
        name: how the error messages call the argument.

    Raises:
        ValueError: no ``sampling_rate``, a shape other than 1-D / 2-D, an empty clip, or NaN / infinite samples.
    """
    if sampling_rate is None:
        raise ValueError(f"pass sampling_rate=... (the rate of `{name}` in Hz); the model works at "
                         f"{target_sampling_rate} Hz and other rates are resampled")
    if not isinstance(sampling_rate, (int, np.integer)) or isinstance(sampling_rate, bool) or sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be a positive integer (Hz), got {sampling_rate!r}")
    tensor = torch.as_tensor(np.asarray(audio) if isinstance(audio, list) else audio)
    if tensor.dtype == torch.uint8:
        tensor = (tensor.float() - 128.0) / 128.0
    elif tensor.dtype in _INT_FULL_SCALE:
        tensor = tensor.float() / _INT_FULL_SCALE[tensor.dtype]
    elif tensor.is_floating_point():
        tensor = tensor.float()
    else:
        raise ValueError(f"`{name}` must hold float samples in [-1, 1] or integer PCM, got dtype {tensor.dtype}")
    if tensor.dim() == 1:
        tensor = tensor[None]
    if tensor.dim() != 2:
        raise ValueError(f"`{name}` must be mono [samples] or a batch [batch, samples], got shape "
                         f"{tuple(tensor.shape)}; down-mix stereo first (audiogen_hf.audio.to_mono)")
    if tensor.shape[-1] == 0:
        raise ValueError(f"`{name}` holds no samples")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"`{name}` contains NaN or infinite samples")
    tensor = tensor.to(device) if device is not None else tensor
    return resample(tensor, int(sampling_rate), int(target_sampling_rate))


def save_audio(path: Union[str, os.PathLike], waveform: torch.Tensor | np.ndarray, sampling_rate: int,
               subtype: Optional[str] = None) -> Path:
    """Write ``[channels, samples]`` (or ``[samples]``) to wav/flac/ogg, format from the suffix.

    ``subtype`` defaults to 16-bit PCM for wav/flac. Samples outside ``[-1, 1]`` are clipped by the format.
    """
    array = waveform.detach().cpu().numpy() if isinstance(waveform, torch.Tensor) else np.asarray(waveform)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.size == 0 or array.shape[0] > array.shape[1]:
        raise ValueError(f"expected a non-empty [channels, samples] waveform, got shape {array.shape}"
                         + (" (transpose a [samples, channels] array)" if array.ndim == 2 and array.size else ""))
    if int(sampling_rate) <= 0:
        raise ValueError(f"sampling_rate must be > 0, got {sampling_rate}")
    if not np.isfinite(array).all():
        raise ValueError("refusing to save audio with NaN or infinite samples")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if subtype is None and path.suffix.lower() in {".wav", ".flac"}:
        subtype = "PCM_16"
    sf.write(path, array.T.astype(np.float32), int(sampling_rate), subtype=subtype)
    return path
