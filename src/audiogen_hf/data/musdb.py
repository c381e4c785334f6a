"""MUSDB18 as a ``datasets.Dataset``: one row per track, one stereo ``Audio`` column per stem.

Layouts read from a local ``root``:
- MUSDB18-HQ: ``{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav``;
- MUSDB18 and its 7-second preview (``MUSDB18-7``): ``{train,test}/<Artist - Title>.stem.mp4`` with the five
  stems as audio streams 0-4 (decoded through torchcodec/FFmpeg).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence, Union

from datasets import Audio, Dataset, Features, Value

from ..logging_utils import get_logger

logger = get_logger(__name__)

STEMS = ("mixture", "drums", "bass", "other", "vocals")
SUBSETS = ("train", "test")
SPLITS = ("train", "valid")

MISSING_MUSDB = (
    "MUSDB18 was not found at {root}. MUSDB18 (stem.mp4) and MUSDB18-HQ (wav) are distributed on Zenodo "
    "(records 1117372 and 3338373) after accepting their licence: download, unzip and pass the folder that holds "
    "train/ and test/. Without network, build the project's MUSDB18-HQ-layout corpus of real music with "
    "`python scripts/build_corpus.py --output_dir data/corpus` (or `make corpus`) and pass root='data/corpus/musdb'."
)


def official_validation_tracks() -> list[str]:
    """The 14 train tracks of the ``musdb`` package's official validation split."""
    text = resources.files(__package__).joinpath("musdb_validation_tracks.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def validation_tracks(root: Union[str, Path]) -> list[str]:
    """A corpus built by ``build_corpus`` names its own validation tracks in ``manifest.json``; else the official
    14."""
    manifest = Path(root) / "manifest.json"
    if manifest.is_file():
        names = json.loads(manifest.read_text(encoding="utf-8")).get("validation_tracks")
        if names is not None:
            return list(names)
    return official_validation_tracks()


def _as_tuple(value, allowed: Sequence[str], field: str) -> tuple[str, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{field} must be one or more of {allowed}, got {value!r}")
    return values


def load_musdb(
    root: Union[str, Path],
    subsets: Union[str, Sequence[str]] = "train",
    split: Optional[str] = None,
    stems: Sequence[str] = STEMS,
    sampling_rate: Optional[int] = None,
) -> Dataset:
    """Index a local MUSDB18 / MUSDB18-HQ / preview folder.

    Args:
        root: folder holding ``train/`` and ``test/``.
        subsets: ``"train"``, ``"test"`` or both.
        split: with the train subset, ``"train"`` drops and ``"valid"`` keeps only the validation tracks.
        stems: stem columns to expose.
        sampling_rate: decode at this rate (``None``: the files' 44.1 kHz).

    Returns:
        A ``Dataset`` with columns ``name``, ``subset`` and one ``Audio(num_channels=2)`` column per stem; decode a
        stem in stereo with ``row["vocals"].get_all_samples().data`` (``[2, samples]``).
    """
    root = Path(root).expanduser()
    subsets = _as_tuple(subsets, SUBSETS, "subsets")
    stems = _as_tuple(stems, STEMS, "stems")
    if split is not None:
        _as_tuple(split, SPLITS, "split")
        if subsets != ("train",):
            raise ValueError(f"split={split!r} selects among train tracks; use it with subsets='train'")
    if not any((root / subset).is_dir() for subset in subsets):
        raise FileNotFoundError(MISSING_MUSDB.format(root=root))

    rows, layouts = [], set()
    for subset in subsets:
        for name, layout, paths in _tracks(root / subset, stems):
            rows.append({"name": name, "subset": subset, **{stem: str(paths[stem]) for stem in stems}})
            layouts.add(layout)
    if len(layouts) > 1:
        raise ValueError(f"{root} mixes .stem.mp4 files and wav folders; keep one MUSDB18 layout per root")
    if not rows:
        raise FileNotFoundError(f"no MUSDB tracks in {subsets} under {root}. " + MISSING_MUSDB.format(root=root))
    if split is not None:
        valid = set(validation_tracks(root))
        rows = [row for row in rows if (row["name"] in valid) == (split == "valid")]
        if not rows:
            raise FileNotFoundError(
                f"the {split!r} split is empty under {root}: none of its train tracks is "
                f"{'one' if split == 'valid' else 'outside'} of the validation tracks {sorted(valid)}"
            )

    stream = lambda stem: STEMS.index(stem) if layouts == {"stems"} else None  # noqa: E731
    features = Features(
        {
            "name": Value("string"),
            "subset": Value("string"),
            **{stem: Audio(sampling_rate=sampling_rate, num_channels=2, stream_index=stream(stem)) for stem in stems},
        }
    )
    return Dataset.from_list(rows, features=features)


def _tracks(folder: Path, stems: Sequence[str]):
    """Yield ``(name, layout, {stem: path})`` for each complete track in a subset folder, in name order."""
    if not folder.is_dir():
        return
    skipped = 0
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.name.endswith(".stem.mp4"):
            yield entry.name[: -len(".stem.mp4")], "stems", {stem: entry for stem in stems}
        elif entry.is_dir():
            paths = {stem: entry / f"{stem}.wav" for stem in stems}
            missing = [stem for stem, path in paths.items() if not path.is_file()]
            if missing:
                skipped += 1
                logger.warning("skipping MUSDB track %s: missing %s", entry, ", ".join(f"{m}.wav" for m in missing))
                continue
            yield entry.name, "wav", paths
    if skipped:
        logger.warning("skipped %d incomplete MUSDB track folder(s) under %s", skipped, folder)
