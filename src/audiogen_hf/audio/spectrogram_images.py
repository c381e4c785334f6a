"""Audio <-> 16-bit PNG spectrogram images (the wav_diff encoding), with everything decoding needs stored in the PNG.

Encoding of one channel (``SpectrogramImageConfig`` defaults: n_fft 2048, hop 512):

* the centred STFT of ``SpectrogramConverter`` (``[frames, 1025 bins]``) is cut into square slices of
  ``n_fft // 2 + 1`` frames (1025 x 1025); the last slice is padded with silent frames;
* pixel rows are frequency bins, **low frequencies at the bottom** (row 0 is the Nyquist bin); columns are frames;
* red = magnitude in dB (``20 log10 |X|``, ``|X|`` the raw STFT magnitude, so a full-scale signal peaks near
  +60 dB at n_fft 2048) mapped linearly from ``db_range`` to ``[0, 65535]`` and clipped;
  green = ``(cos(phase) + 1) / 2``, blue = ``(sin(phase) + 1) / 2``, both on ``[0, 65535]``;
* optionally each slice is resized to ``size x size`` (Lanczos, on the float image before quantising); decoding
  resizes back, so that is lossy (``scripts/benchmarks/bench_spectrogram_images.py`` measures how much);
* the PNG is 16-bit RGB written with OpenCV (Pillow cannot write 16-bit RGB), and one ``tEXt`` chunk with keyword
  ``audiogen_hf`` holds JSON metadata: format/version, track, sample rate, n_fft, hop, dB range, original length in
  samples, channel / number of channels, slice / number of slices, slice size and the resize. A folder of images
  therefore decodes alone, whatever the file names or their order.

Stereo: **one image set per channel** (``channels="all"``, the default; metadata ``channel`` 0 = left, 1 = right),
or an explicit choice: ``channels="mix"`` (mono downmix) or ``channels=<index>`` (that channel only).

Round trip at native size is limited by the 16-bit quantisation only: ~90 dB SNR on real music.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import torch

from ..configuration_utils import check_field
from ..utils.import_utils import require
from .io import load_audio, resample, to_channels
from .png_chunks import describe, insert_text_chunk, read_png_header_and_text  # noqa: F401 (re-exported)
from .spectrogram import SpectrogramConverter, denormalize_range, from_db, normalize_range, to_db

FORMAT_NAME = "audiogen_hf.spectrogram_image"
FORMAT_VERSION = 1
TEXT_KEYWORD = "audiogen_hf"
MAX_16BIT = 65535.0
PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class SpectrogramImageConfig:
    """How audio becomes images.

    Args:
        n_fft, hop_length: STFT size and hop (periodic Hann window of ``n_fft``); slices are ``n_fft // 2 + 1``
            frames wide so that they are square.
        db_range: ``(low, high)`` dB of the raw STFT magnitude mapped to red 0 and 65535. The default covers
            16-bit audio's noise floor (about -72 dB at n_fft 2048) up to a full-scale signal (+60 dB).
        size: resize each slice to ``size x size`` pixels (Lanczos); ``None`` keeps the native size.
        sampling_rate: resample the audio to this rate before encoding; ``None`` keeps the file's rate.
    """

    n_fft: int = 2048
    hop_length: int = 512
    db_range: tuple = (-80.0, 65.0)
    size: Optional[int] = None
    sampling_rate: Optional[int] = None

    def __post_init__(self):
        def check(ok, name, value, allowed):
            check_field("SpectrogramImageConfig", ok, name, value, allowed)

        check(isinstance(self.n_fft, int) and self.n_fft >= 16, "n_fft", self.n_fft, "an integer >= 16")
        check(isinstance(self.hop_length, int) and 0 < self.hop_length <= self.n_fft // 2, "hop_length",
              self.hop_length, f"an integer in (0, n_fft // 2 = {self.n_fft // 2}]")
        check(len(self.db_range) == 2 and self.db_range[0] < self.db_range[1], "db_range", self.db_range,
              "a pair (low, high) with low < high")
        check(self.size is None or (isinstance(self.size, int) and self.size >= 8), "size", self.size,
              "None (native size) or an integer >= 8")
        check(self.sampling_rate is None or (isinstance(self.sampling_rate, int) and self.sampling_rate > 0),
              "sampling_rate", self.sampling_rate, "None (keep the file's rate) or a positive integer")
        object.__setattr__(self, "db_range", (float(self.db_range[0]), float(self.db_range[1])))

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1


@dataclass
class SpectrogramImage:
    """One slice of one channel: ``pixels`` uint16 ``[height, width, 3]`` in RGB order, and its ``metadata``."""

    pixels: np.ndarray
    metadata: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        """``(track, channel, slice)``: where this image belongs."""
        return self.metadata["track"], self.metadata["channel"], self.metadata["slice"]


# ---------------------------------------------------------------------------------------------- encode / decode
def _converter(sampling_rate: int, n_fft: int, hop_length: int) -> SpectrogramConverter:
    return SpectrogramConverter(sampling_rate=sampling_rate, n_fft=n_fft, hop_length=hop_length, mode="linear",
                                power=1.0, scale="none")


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos resize of a float32 ``[H, W, 3]`` image (OpenCV), clipped back to [0, 1]."""
    cv2 = require("cv2", "16-bit spectrogram images (OpenCV)")

    if image.shape[:2] == (height, width):
        return image
    return np.clip(cv2.resize(image, (width, height), interpolation=cv2.INTER_LANCZOS4), 0.0, 1.0)


def audio_to_images(
    audio: torch.Tensor,
    sampling_rate: int,
    config: Optional[SpectrogramImageConfig] = None,
    track: str = "track",
    channels: Union[str, int] = "all",
) -> list[SpectrogramImage]:
    """Encode ``[channels, samples]`` (or ``[samples]``) audio into slices, channel-major then slice order.

    ``channels``: ``"all"`` (one image set per channel), ``"mix"`` (mono downmix) or a channel index.
    """
    config = config or SpectrogramImageConfig()
    audio = torch.as_tensor(audio)
    if audio.dim() == 1:
        audio = audio[None]
    if audio.dim() != 2 or audio.shape[-1] == 0:
        raise ValueError(f"expected a non-empty [channels, samples] waveform, got shape {tuple(audio.shape)}")
    if config.sampling_rate is not None and config.sampling_rate != sampling_rate:
        audio, sampling_rate = resample(audio.float(), sampling_rate, config.sampling_rate), config.sampling_rate
    audio = _select_channels(audio, channels)
    length = audio.shape[-1]
    signal = torch.nn.functional.pad(audio.double(), (0, max(0, config.n_fft - length)))  # STFT needs >= n_fft
    stft = _converter(sampling_rate, config.n_fft, config.hop_length).stft(signal)  # [C, frames, bins] complex
    bins = config.num_bins
    num_slices = math.ceil(stft.shape[-2] / bins)
    stft = torch.nn.functional.pad(stft, (0, 0, 0, num_slices * bins - stft.shape[-2]))  # silent padding frames

    low, high = config.db_range
    red = normalize_range(to_db(stft.abs(), power=False, amin=1e-12), low, high)
    phase = stft.angle()
    planes = torch.stack([red, (phase.cos() + 1) / 2, (phase.sin() + 1) / 2], dim=-1)  # [C, frames, bins, 3]
    planes = planes.transpose(-3, -2).flip(-3).float().numpy()  # [C, bins (high first), frames, 3]

    images = []
    for channel in range(planes.shape[0]):
        for index in range(num_slices):
            image = planes[channel, :, index * bins : (index + 1) * bins]
            if config.size is not None:
                image = _resize(np.ascontiguousarray(image), config.size, config.size)
            pixels = np.round(image * MAX_16BIT).astype(np.uint16)
            # "sample_rate": the stored format keeps its key (files written before the API rename stay readable)
            metadata = {
                "format": FORMAT_NAME, "version": FORMAT_VERSION, "track": str(track),
                "sample_rate": int(sampling_rate), "n_fft": config.n_fft, "hop_length": config.hop_length,
                "db_min": low, "db_max": high, "length": int(length),
                "channel": channel, "num_channels": int(planes.shape[0]), "channels": str(channels),
                "slice": index, "num_slices": num_slices, "slice_frames": bins,
                "size": config.size,
            }
            images.append(SpectrogramImage(pixels, metadata))
    return images


def _select_channels(audio: torch.Tensor, channels: Union[str, int]) -> torch.Tensor:
    if channels == "all":
        return audio
    if channels == "mix":
        return to_channels(audio, 1)
    if isinstance(channels, int) and not isinstance(channels, bool) and 0 <= channels < audio.shape[0]:
        return audio[channels : channels + 1]
    raise ValueError(f"channels={channels!r} is not valid for {audio.shape[0]}-channel audio: use 'all' (one image "
                     f"set per channel), 'mix' (mono downmix) or a channel index in [0, {audio.shape[0] - 1}]")


_CONSISTENT_KEYS = ("track", "sample_rate", "n_fft", "hop_length", "db_min", "db_max", "length", "num_channels",
                    "num_slices", "slice_frames", "size")


def images_to_audio(images: Union[PathLike, Sequence[Union[PathLike, SpectrogramImage]]],
                    track: Optional[str] = None) -> tuple[torch.Tensor, int]:
    """Decode a folder (or a list of files / ``SpectrogramImage``) back to ``([channels, samples] float32, rate)``.

    Slices are put in order from their metadata, not from file names; the resize is undone (Lanczos). A folder
    holding several tracks needs ``track``. Raises ``ValueError`` for missing or duplicate slices and for
    metadata that disagrees between images.
    """
    loaded = _gather(images)
    tracks = sorted({image.metadata["track"] for image in loaded})
    if track is not None:
        loaded = [image for image in loaded if image.metadata["track"] == track]
        if not loaded:
            raise ValueError(f"no image of track {track!r}; the images hold tracks {tracks}")
    elif len(tracks) > 1:
        raise ValueError(f"the images hold {len(tracks)} tracks {tracks}; pass track=... to choose one")
    first = loaded[0].metadata
    for image in loaded[1:]:
        different = [key for key in _CONSISTENT_KEYS if image.metadata.get(key) != first.get(key)]
        if different:
            raise ValueError(
                f"inconsistent metadata across the images of track {first['track']!r}: "
                + ", ".join(f"{key}={image.metadata.get(key)!r} vs {first.get(key)!r}" for key in different)
                + "; were images of different encodings mixed in one folder?")
    by_key = {}
    for image in loaded:
        key = (image.metadata["channel"], image.metadata["slice"])
        if key in by_key:
            raise ValueError(f"duplicate image for channel {key[0]} slice {key[1]} of track {first['track']!r}")
        by_key[key] = image
    expected = [(c, s) for c in range(first["num_channels"]) for s in range(first["num_slices"])]
    missing = [key for key in expected if key not in by_key]
    if missing:
        raise ValueError(f"missing slices of track {first['track']!r} (channel, slice): {missing}; "
                         f"{len(by_key)} of {len(expected)} images found")

    bins, frames_per_slice = first["n_fft"] // 2 + 1, first["slice_frames"]
    low, high = first["db_min"], first["db_max"]
    converter = _converter(first["sample_rate"], first["n_fft"], first["hop_length"])
    num_frames = converter.num_frames(max(first["length"], first["n_fft"]))
    channels = []
    for channel in range(first["num_channels"]):
        planes = []
        for index in range(first["num_slices"]):
            image = by_key[(channel, index)].pixels.astype(np.float32) / MAX_16BIT
            planes.append(_resize(image, bins, frames_per_slice))
        plane = torch.from_numpy(np.concatenate(planes, axis=1)).double().flip(0).transpose(0, 1)  # [frames, bins, 3]
        plane = plane[:num_frames]  # drop the padding frames of the last slice
        magnitude = from_db(denormalize_range(plane[..., 0], low, high), power=False)
        phase = torch.atan2(plane[..., 2] * 2 - 1, plane[..., 1] * 2 - 1)
        channels.append(converter.istft(torch.polar(magnitude, phase), length=first["length"]))
    return torch.stack(channels).float(), int(first["sample_rate"])


def _gather(images) -> list[SpectrogramImage]:
    if isinstance(images, (str, os.PathLike)):
        folder = Path(images)
        if not folder.is_dir():
            raise FileNotFoundError(f"image folder not found: {folder}")
        images = sorted(folder.glob("*.png"))
        if not images:
            raise ValueError(f"no .png files in {folder}")
    loaded = [image if isinstance(image, SpectrogramImage) else read_spectrogram_image(image) for image in images]
    if not loaded:
        raise ValueError("no images to decode")
    return loaded


# -------------------------------------------------------------------------------------------------- files
def encode_file(
    audio_path: PathLike,
    output_dir: PathLike,
    config: Optional[SpectrogramImageConfig] = None,
    track: Optional[str] = None,
    channels: Union[str, int] = "all",
) -> list[Path]:
    """Encode one audio file into ``output_dir/<track>_ch<channel>_<slice:03d>.png``; returns the paths.

    ``track`` defaults to the file name without suffix (a MUSDB ``mixture.wav`` takes its folder's name).
    """
    config = config or SpectrogramImageConfig()
    audio, rate = load_audio(audio_path, sampling_rate=config.sampling_rate)
    track = track or default_track_name(audio_path)
    return [write_spectrogram_image(Path(output_dir) / image_file_name(image.metadata), image)
            for image in audio_to_images(audio, rate, config, track=track, channels=channels)]


def default_track_name(audio_path: PathLike) -> str:
    path = Path(audio_path)
    return path.parent.name if path.stem in {"mixture", "mix", "song"} else path.stem


def image_file_name(metadata: dict) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in metadata["track"]).strip("_") or "track"
    return f"{safe}_ch{metadata['channel']}_{metadata['slice']:03d}.png"


def write_spectrogram_image(path: PathLike, image: SpectrogramImage, compression: int = 3) -> Path:
    """Write a 16-bit RGB PNG (OpenCV) with the metadata in a ``tEXt`` chunk right after ``IHDR``."""
    cv2 = require("cv2", "16-bit spectrogram images (OpenCV)")

    pixels = image.pixels
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected uint16 [height, width, 3] pixels, got {pixels.dtype} {pixels.shape}")
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]),  # OpenCV wants BGR
                               [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path}")
    data = insert_text_chunk(encoded.tobytes(), TEXT_KEYWORD, json.dumps(image.metadata, ensure_ascii=True))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read_spectrogram_image(path: PathLike) -> SpectrogramImage:
    """Read an image written by ``write_spectrogram_image``.

    Raises ``ValueError`` for a PNG without audiogen_hf metadata and for one that is not 16-bit RGB (an 8-bit
    copy made by an image editor or by Pillow has lost the precision decoding needs).
    """
    return parse_spectrogram_png(Path(path).read_bytes(), str(path))


def parse_spectrogram_png(data: bytes, path: str = "<bytes>") -> SpectrogramImage:
    """``read_spectrogram_image`` for PNG bytes (e.g. a ``datasets`` ``Image(decode=False)`` value's ``bytes``)."""
    cv2 = require("cv2", "16-bit spectrogram images (OpenCV)")

    header, texts = read_png_header_and_text(data, path)
    kind = describe(header)
    if TEXT_KEYWORD not in texts:
        raise ValueError(f"{path} is not an audiogen_hf spectrogram image: it has no '{TEXT_KEYWORD}' text chunk "
                         f"(it is a {kind} PNG). Make spectrogram images with audio_to_images/encode_file or "
                         "scripts/build_image_dataset.py")
    try:
        metadata = json.loads(texts[TEXT_KEYWORD])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its '{TEXT_KEYWORD}' text chunk is not valid JSON ({error})") from error
    if metadata.get("format") != FORMAT_NAME or metadata.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not an audiogen_hf spectrogram image of format {FORMAT_NAME} "
                         f"v{FORMAT_VERSION} (found {metadata.get('format')!r} v{metadata.get('version')!r})")
    if header["bit_depth"] != 16 or header["color_type"] != 2:
        raise ValueError(f"{path} is a {kind} PNG but spectrogram images are 16-bit RGB: it was probably converted "
                         "(e.g. by Pillow or an image editor), which loses the precision decoding needs. Use the "
                         "original 16-bit file")
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError(f"{path}: OpenCV could not decode the PNG pixels (corrupt file?)")
    pixels = np.ascontiguousarray(pixels[..., ::-1])  # BGR -> RGB
    side = metadata["size"] or None
    expected = (side, side) if side else (metadata["n_fft"] // 2 + 1, metadata["slice_frames"])
    if pixels.shape[:2] != expected:
        raise ValueError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]} pixels but its metadata says "
                         f"{expected[1]}x{expected[0]}; was it resized after encoding?")
    return SpectrogramImage(pixels, metadata)


def read_spectrogram_images(paths: Iterable[PathLike]) -> list[SpectrogramImage]:
    return [read_spectrogram_image(path) for path in paths]
