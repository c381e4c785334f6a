"""GTZAN as a ``datasets.Dataset`` with columns ``audio``, ``label`` (genre ``ClassLabel``) and ``file``.

A local ``genres/<genre>/<genre>.000NN.wav`` tree loads through ``audiofolder`` (label = folder name). ``split``
selects the fault-filtered split of Kereliuk, Sturm & Larsen (2015), 443 / 197 / 290 files, shipped with the
package; a folder built by ``build_corpus`` carries its own split in ``manifest.json``. A Hub id (``owner/name``)
loads with ``datasets.load_dataset`` for users with network.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Optional, Union

from datasets import Audio, Dataset, load_dataset

from ..logging_utils import get_logger

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")

MISSING_GTZAN = (
    "GTZAN was not found at {root}. Download the GTZAN genre collection (genres.tar.gz, 1000 30-s clips; it is "
    "not distributed by this package), unpack it and pass the folder holding genres/, or pass a Hub dataset id "
    "such as 'sanchit-gandhi/gtzan' when you have network. Without network, build the project's GTZAN-layout corpus "
    "of real recordings with `python scripts/build_corpus.py --output_dir data/corpus` (or `make corpus`) and pass "
    "'data/corpus/gtzan'."
)


def fault_filtered_split(split: str) -> list[str]:
    """File names (``"blues.00029"``) of the fault-filtered ``train``/``valid``/``test`` split."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    text = resources.files(__package__).joinpath(f"gtzan_splits/{split}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _gtzan_files(root: Path) -> tuple[Optional[Path], list[str]]:
    """The genres folder under ``root`` and its ``<genre>/<genre>.NNNNN.<ext>`` files (none: not a GTZAN tree)."""
    for candidate in (root / "genres", root / "genres_original", root / "Data" / "genres_original", root):
        if not candidate.is_dir():
            continue
        files = sorted(
            str(path) for folder in candidate.iterdir() if folder.is_dir() for path in folder.iterdir()
            if re.fullmatch(rf"{re.escape(folder.name)}\.\d+\.(wav|au|mp3|flac|ogg)", path.name)
        )
        if files:
            return candidate, files
    return None, []


def load_gtzan(
    path_or_id: Union[str, Path],
    split: Optional[str] = None,
    sampling_rate: Optional[int] = None,
) -> Dataset:
    """Load GTZAN from a local folder or a Hub dataset id.

    Args:
        path_or_id: folder holding ``genres/`` (or the genres folder itself), or a Hub id ``owner/name``.
        split: ``"train"``, ``"valid"`` or ``"test"`` (``None``: every file). For a Hub id it is passed to
            ``load_dataset`` as the split name.
        sampling_rate: decode at this rate (``None``: native, 22.05 kHz for GTZAN).
    """
    root = Path(path_or_id).expanduser()
    if not root.exists():
        if isinstance(path_or_id, str) and path_or_id.count("/") == 1 and not path_or_id.startswith((".", "/")):
            try:
                dataset = load_dataset(path_or_id, split=split or "train")
            except (ConnectionError, FileNotFoundError, OSError) as error:
                raise FileNotFoundError(f"could not load the Hub dataset {path_or_id!r} ({error}). "
                                        + MISSING_GTZAN.format(root=path_or_id)) from error
            if "label" not in dataset.column_names and "genre" in dataset.column_names:
                dataset = dataset.rename_column("genre", "label")
            return dataset.cast_column("audio", Audio(sampling_rate=sampling_rate))
        raise FileNotFoundError(MISSING_GTZAN.format(root=root))
    genres, files = _gtzan_files(root)
    if genres is None:
        raise FileNotFoundError(
            f"no <genre>/<genre>.NNNNN.wav files under {root}. " + MISSING_GTZAN.format(root=root)
        )

    # Explicit files: audiofolder labels them by their genre folder and reads no other folder as a split.
    dataset = load_dataset("audiofolder", data_files={"train": files}, split="train")
    dataset = dataset.cast_column("audio", Audio(decode=False))
    dataset = dataset.map(lambda audio: {"file": Path(audio["path"]).stem}, input_columns="audio")
    if split is not None:
        keep = set(_split_files(root, split))
        dataset = dataset.filter(lambda name: name in keep, input_columns="file")
        missing = len(keep) - len(dataset)
        if missing:
            logger.warning("GTZAN %s split: %d of its %d files are not under %s", split, missing, len(keep), genres)
        if len(dataset) == 0:
            raise FileNotFoundError(f"none of the GTZAN {split} split's files are under {genres}")
    return dataset.cast_column("audio", Audio(sampling_rate=sampling_rate))


def _split_files(root: Path, split: str) -> list[str]:
    """The split's file names: the folder's own ``manifest.json`` ``splits`` if present, else the fault-filtered
    one."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    manifest = root / "manifest.json"
    if manifest.is_file():
        splits = json.loads(manifest.read_text(encoding="utf-8")).get("splits")
        if splits is not None:
            return list(splits.get(split, []))
    return fault_filtered_split(split)
