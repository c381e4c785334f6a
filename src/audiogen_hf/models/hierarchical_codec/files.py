"""Audio files <-> ``.agc`` files with the hierarchical codec (what ``scripts/codec.py`` runs)."""

import json
import os
import time
from pathlib import Path
from typing import Optional, Union

from ...audio.io import load_audio, save_audio
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


def compress_file(model: HierarchicalCodecModel, source: PathLike, target: PathLike,
                  num_quantizers: Optional[int] = None, progress: bool = True) -> dict:
    """Read ``source`` (any rate or channel count ``load_audio`` converts: resampled to the codec's rate, mono and
    stereo converted), write the ``.agc`` bitstream to ``target``; return sizes, ratio and bitrate."""
    start = time.perf_counter()
    c = model.config
    audio, _ = load_audio(source, sample_rate=c.sampling_rate, channels=c.audio_channels)
    data = model.compress(audio, num_quantizers=num_quantizers, progress=progress)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_bytes(data)
    report = bitstream.stats(data)
    return {"input": str(source), "output": str(target), "seconds_of_audio": report.seconds, "bytes": report.bytes,
            "pcm16_bytes": report.pcm_bytes, "compression_ratio": report.ratio, "bitrate_kbps": report.bitrate / 1000,
            "elapsed_s": time.perf_counter() - start}


def decompress_file(model: HierarchicalCodecModel, source: PathLike, target: PathLike, progress: bool = True) -> dict:
    """Decode the ``.agc`` file ``source`` to a 16-bit wav/flac ``target`` at the codec's rate."""
    start = time.perf_counter()
    data = Path(source).read_bytes()
    audio = model.decompress(data, progress=progress)
    save_audio(target, audio.clamp(-1, 1), model.config.sampling_rate)
    seconds = audio.shape[-1] / model.config.sampling_rate
    return {"input": str(source), "output": str(target), "seconds_of_audio": seconds, "channels": audio.shape[0],
            "elapsed_s": time.perf_counter() - start}
