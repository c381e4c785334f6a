"""Audio files <-> ``.agc`` files with the hierarchical codec (what ``scripts/codec.py`` runs)."""

import json
import os
import time
from pathlib import Path
from typing import Optional, Union

import soundfile as sf
import torch

from ...audio.io import AudioLoadError, load_audio, to_channels
from . import bitstream
from .modeling_hierarchical_codec import HierarchicalCodecModel

PathLike = Union[str, os.PathLike]


def load_codec(path: PathLike) -> HierarchicalCodecModel:
    """A codec from a model folder (``config.json`` + safetensors) or a pipeline folder (its ``model`` part)."""
    path = Path(path)
    if (path / "model_index.json").is_file():
        index = json.loads((path / "model_index.json").read_text())
        if "model" not in index:
            raise ValueError(f"{path} is a pipeline folder without a 'model' component")
        path = path / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no codec at {path}: expected a model folder (config.json + model.safetensors, "
                                "from model.save_pretrained) or a pipeline folder (model_index.json)")
    return HierarchicalCodecModel.from_pretrained(path).eval()


def _file_reader(source: PathLike, model: HierarchicalCodecModel):
    """``(read(start, stop), length)`` reading windows of ``source`` straight from the file, when libsndfile reads
    it at the codec's rate with a channel count the codec takes; else ``None``."""
    try:
        info = sf.info(str(source))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    c = model.config
    if info.samplerate != c.sampling_rate or info.channels not in (1, 2) or info.frames <= 0:
        return None

    def read(start: int, stop: int) -> torch.Tensor:
        with sf.SoundFile(str(source)) as handle:
            handle.seek(start)
            block = torch.from_numpy(handle.read(stop - start, dtype="float32", always_2d=True).T.copy())
        if block.shape[-1] != stop - start:
            raise AudioLoadError(f"{source}: could only read {block.shape[-1]} of samples {start}..{stop}")
        return to_channels(block, c.audio_channels)[None]

    return read, info.frames


def compress_file(model: HierarchicalCodecModel, source: PathLike, target: PathLike,
                  num_quantizers: Optional[int] = None, progress: bool = True) -> dict:
    """Read ``source``, write the ``.agc`` bitstream to ``target``; return sizes, ratio and bitrate.

    A file libsndfile reads at the codec's rate is read window by window (memory bounded by the chunk size, whatever
    the length); other files (another rate, mp4, ...) are decoded whole with ``load_audio``, resampled to the codec's
    rate and converted between mono and stereo."""
    start = time.perf_counter()
    c = model.config
    reader = _file_reader(source, model)
    if reader is not None:
        read, length = reader
        data = model.compress(read, num_quantizers=num_quantizers, progress=progress, length=length)
    else:
        audio, _ = load_audio(source, sampling_rate=c.sampling_rate, channels=c.audio_channels)
        data = model.compress(audio, num_quantizers=num_quantizers, progress=progress)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_bytes(data)
    report = bitstream.stats(data)
    return {"input": str(source), "output": str(target), "seconds_of_audio": report.seconds, "bytes": report.bytes,
            "pcm16_bytes": report.pcm_bytes, "compression_ratio": report.ratio, "bitrate_kbps": report.bitrate / 1000,
            "elapsed_s": time.perf_counter() - start}


def decompress_file(model: HierarchicalCodecModel, source: PathLike, target: PathLike, progress: bool = True) -> dict:
    """Decode the ``.agc`` file ``source`` to a 16-bit wav/flac ``target`` at the codec's rate, written piece by
    piece (bounded memory)."""
    start = time.perf_counter()
    stream = bitstream.read(Path(source).read_bytes())
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_16" if target.suffix.lower() in (".wav", ".flac") else None
    with sf.SoundFile(str(target), "w", samplerate=stream.sampling_rate, channels=stream.channels,
                      subtype=subtype) as handle:
        for piece in model.decompress_chunks(stream, progress=progress):
            handle.write(piece.clamp(-1, 1).T.numpy())
    seconds = stream.length / stream.sampling_rate
    return {"input": str(source), "output": str(target), "seconds_of_audio": seconds, "channels": stream.channels,
            "elapsed_s": time.perf_counter() - start}
