"""Build an ``imagefolder`` dataset of spectrogram images with one caption per slice, for image diffusion models.

Output: ``output_dir/<track>_ch<channel>_<slice:03d>.png`` (16-bit RGB, see ``audio.spectrogram_images``) and
``output_dir/metadata.jsonl`` with one line per image: ``file_name``, ``text`` (the caption), ``track``,
``channel``, ``slice``, ``start_seconds``, ``bpm`` and, for tag captions, ``tags`` (the chosen tags per category).
Every channel's image of a slice gets the same caption, computed on the slice's audio (channels averaged).

``datasets.load_dataset("imagefolder", data_dir=output_dir)`` loads it with the metadata as columns; but its
``image`` column is decoded by Pillow, which reads 16-bit RGB as 8-bit (the high byte), so for decoding back to
audio use ``load_image_dataset`` (the column cast to ``Image(decode=False)``) and ``spectrogram_image_of``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from ..audio.io import AudioLoadError, load_audio
from ..audio.spectrogram_images import (
    SpectrogramImage,
    SpectrogramImageConfig,
    audio_to_images,
    default_track_name,
    image_file_name,
    parse_spectrogram_png,
    read_spectrogram_image,
    write_spectrogram_image,
)
from ..logging_utils import get_logger

logger = get_logger(__name__)
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".mp4", ".aiff", ".aif", ".opus"}
CAPTION_MODES = ("tags", "narrative", "none")


@dataclass
class BuildReport:
    """What ``build_image_dataset`` did: files encoded, images written, and the files skipped with the reason."""

    num_files: int = 0
    num_images: int = 0
    skipped: list = field(default_factory=list)
    output_dir: str = ""

    def summary(self) -> str:
        text = (f"{self.num_images} images from {self.num_files} audio files in {self.output_dir}; "
                f"{len(self.skipped)} files skipped")
        return text + "".join(f"\n  skipped {path}: {reason}" for path, reason in self.skipped)


def find_audio_files(input_dir: Union[str, Path]) -> list[Path]:
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found: {input_dir}")
    return sorted(p for p in input_dir.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def build_image_dataset(
    input_dir: Union[str, Path],
    output_dir: Union[str, Path],
    config: Optional[SpectrogramImageConfig] = None,
    captions: str = "tags",
    tagger=None,
    narrator=None,
    artist: Optional[str] = None,
    title: Optional[str] = None,
    channels: Union[str, int] = "all",
    with_bpm: bool = True,
    progress: bool = True,
) -> BuildReport:
    """Encode every audio file under ``input_dir`` and caption every slice.

    Args:
        captions: ``"tags"`` (``tagger``: a ``captioning.ClapTagger``), ``"narrative"`` (``narrator``: a
            ``captioning.NarrativeCaptioner``) or ``"none"`` (empty captions, or only the style prefix / BPM).
        artist, title: the optional ``"In the style of ..."`` prefix of every caption.
        with_bpm: estimate each slice's tempo (beat tracking) and put it in tag captions and the metadata.
        progress: show tqdm progress bars (files, and slices of each file).
    Unreadable files are skipped and listed in the report (one bad file never stops the build).
    """
    from tqdm.auto import tqdm

    from ..captioning import estimate_tempo, style_prefix

    if captions not in CAPTION_MODES:
        raise ValueError(f"captions={captions!r}; choose one of {CAPTION_MODES}")
    if captions == "tags" and tagger is None:
        raise ValueError("captions='tags' needs a tagger (audiogen_hf.captioning.ClapTagger(model_id=...))")
    if captions == "narrative" and narrator is None:
        raise ValueError("captions='narrative' needs a narrator (audiogen_hf.captioning.NarrativeCaptioner(...))")
    config = config or SpectrogramImageConfig()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files = find_audio_files(input_dir)
    if not files:
        raise ValueError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {input_dir}")
    report, rows, used_tracks = BuildReport(output_dir=str(output_dir)), [], set()
    for path in tqdm(files, desc="audio files", unit="file", disable=not progress):
        try:
            audio, rate = load_audio(path, sampling_rate=config.sampling_rate)
        except (AudioLoadError, FileNotFoundError) as error:
            logger.warning("skipping %s: %s", path, error)
            report.skipped.append((str(path), str(error)))
            continue
        track = default_track_name(path)
        if track in used_tracks:  # two files with the same name in different folders
            track = "_".join(path.relative_to(input_dir).with_suffix("").parts)
        used_tracks.add(track)
        images = audio_to_images(audio, rate, config, track=track, channels=channels)
        slice_samples = images[0].metadata["slice_frames"] * config.hop_length
        slices = images[0].metadata["num_slices"]
        for index in tqdm(range(slices), desc=track[:30], unit="slice", leave=False, disable=not progress):
            segment = audio[:, index * slice_samples : (index + 1) * slice_samples]
            bpm = estimate_tempo(segment, rate).bpm if with_bpm and segment.shape[-1] >= rate else float("nan")
            bpm = None if math.isnan(bpm) else round(bpm, 2)
            extra = {}
            if captions == "tags":
                text, tags = tagger.caption(segment, rate, bpm=bpm, artist=artist, title=title)
                extra["tags"] = {category: tags.top(category, tagger.top_k[category]) for category in tags.scores}
            elif captions == "narrative":
                text = narrator.caption(segment, rate, artist=artist, title=title)
            else:
                text = (style_prefix(artist, title) + (f"{int(round(bpm))} BPM." if bpm is not None else "")).strip()
            for image in images:
                if image.metadata["slice"] != index:
                    continue
                name = image_file_name(image.metadata)
                write_spectrogram_image(output_dir / name, image)
                rows.append({"file_name": name, "text": text, "track": track, "channel": image.metadata["channel"],
                             "slice": index, "start_seconds": round(index * slice_samples / rate, 3), "bpm": bpm,
                             **extra})
                report.num_images += 1
        report.num_files += 1
    with open(output_dir / "metadata.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report


def load_image_dataset(output_dir: Union[str, Path], split: str = "train"):
    """The built folder through ``datasets``' ``imagefolder``, with ``image`` kept undecoded (path + bytes) so the
    16-bit pixels survive; decode a row with ``spectrogram_image_of(row["image"])``."""
    from datasets import Image, load_dataset

    dataset = load_dataset("imagefolder", data_dir=str(output_dir), split=split)
    return dataset.cast_column("image", Image(decode=False))


def spectrogram_image_of(value: dict) -> SpectrogramImage:
    """A ``datasets`` ``Image(decode=False)`` value (``{"path", "bytes"}``) -> the full-precision image."""
    if value.get("bytes") is not None:
        return parse_spectrogram_png(value["bytes"], value.get("path") or "<bytes>")
    return read_spectrogram_image(value["path"])


DATASET_CARD = """---
{{ card_data }}
---

# {{ pretty_name }}

Spectrogram images of music made with [audiogen_hf](https://github.com/) (`audiogen images dataset`): one 16-bit RGB
PNG per STFT slice and channel (red: magnitude in dB over {{ db_range }}, green/blue: cos/sin of the phase), with
one caption per slice in `text`. {{ num_images }} images from {{ num_tracks }} tracks; STFT n_fft {{ n_fft }},
hop {{ hop_length }}, {{ sampling_rate }} Hz.

Every image carries its decoding metadata in a PNG `tEXt` chunk, so it decodes back to audio on its own:

```python
from datasets import Image, load_dataset
from audiogen_hf.audio.spectrogram_images import images_to_audio
from audiogen_hf.data.image_dataset import spectrogram_image_of

rows = load_dataset("{{ repo_id }}", split="train").cast_column("image", Image(decode=False))
images = [spectrogram_image_of(row["image"]) for row in rows]
audio, sampling_rate = images_to_audio(images, track=rows[0]["track"])  # [channels, samples]
```

Pillow decodes the images to 8 bits: keep the column undecoded (as above) for full precision.

## Captions

{{ captions }}

## Tracks

{{ tracks }}
"""


def push_image_dataset(dataset_dir: Union[str, Path], repo_id: str, private: Optional[bool] = None,
                       token: Optional[str] = None, license: Optional[str] = None) -> str:
    """Push a folder built by ``build_image_dataset`` with ``datasets``' ``push_to_hub`` (the PNG bytes embedded,
    16 bits intact) and then its dataset card (``README.md``: layout, decoding snippet, captions, tracks); returns
    the repository id."""
    from huggingface_hub import DatasetCard, DatasetCardData

    dataset_dir = Path(dataset_dir)
    if not (dataset_dir / "metadata.jsonl").is_file():
        raise FileNotFoundError(f"{dataset_dir} holds no metadata.jsonl: build it with `audiogen images dataset`")
    dataset = load_image_dataset(dataset_dir)
    if len(dataset) == 0:
        raise ValueError(f"{dataset_dir} holds no images")
    first = spectrogram_image_of(dataset[0]["image"]).metadata
    dataset.push_to_hub(repo_id, private=private, token=token)
    texts = [t for t in dataset["text"] if t]
    tracks = sorted(set(dataset["track"]))
    card = DatasetCard.from_template(
        DatasetCardData(license=license, pretty_name=f"{repo_id.split('/')[-1]} spectrogram images",
                        tags=["audio", "music", "spectrogram", "audiogen_hf"],
                        task_categories=["text-to-image", "unconditional-image-generation"],
                        configs=[{"config_name": "default", "data_files": [{"split": "train",
                                                                            "path": "data/train-*"}]}]),
        template_str=DATASET_CARD, pretty_name=f"{repo_id.split('/')[-1]}: spectrogram images", repo_id=repo_id,
        db_range=(first.get("db_min"), first.get("db_max")), num_images=len(dataset), num_tracks=len(tracks),
        n_fft=first.get("n_fft"), hop_length=first.get("hop_length"), sampling_rate=first.get("sample_rate"),
        captions=(f"{len(texts)} of {len(dataset)} images captioned, e.g. \"{texts[0]}\"" if texts
                  else "No captions (built with `--captions none`)."),
        tracks="\n".join(f"- {track}" for track in tracks))
    card.push_to_hub(repo_id, repo_type="dataset", token=token)
    return repo_id
