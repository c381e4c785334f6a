"""A plain folder of whole music recordings (``music/{train,test}/*.flac`` + ``metadata.jsonl``) as a ``Dataset``.

The offline corpus writes one (``build_corpus``: ``<corpus>/music``); any folder in ``datasets``' ``audiofolder``
layout with a ``train`` and/or ``test`` sub-folder loads the same way. Columns: ``audio`` (stereo unless
``num_channels`` says otherwise) plus the metadata columns (``title``, ``genre``, ``work``, ``split``,
``source_package``, ``licence``, ...).
"""

from pathlib import Path
from typing import Optional, Union

from datasets import Audio, Dataset, load_dataset

SPLITS = ("train", "test")
MISSING_MUSIC = (
    "No music folder at {root} (expected train/ and test/ folders of audio files). Build the offline corpus with "
    "`python scripts/build_corpus.py --size full --output_dir data/corpus_full` and pass 'data/corpus_full/music' "
    "(or 'data/corpus/music' from `make corpus` for a few short excerpts)."
)


def load_music(root: Union[str, Path], split: str = "train", sampling_rate: Optional[int] = None,
               num_channels: Optional[int] = 2) -> Dataset:
    """Load the ``split`` of a music folder (or of a corpus folder holding ``music/``).

    Args:
        root (`str` or `Path`): the ``music`` folder, or the corpus folder above it.
        split (`str`, defaults to `"train"`): ``"train"`` or ``"test"``.
        sampling_rate (`int`, *optional*): decode at this rate (``None``: the files' rate, 44.1 kHz in the corpus).
        num_channels (`int`, *optional*, defaults to 2): decode to this many channels (``None``: as stored).

    Example:
        >>> from audiogen_hf.data import load_music
        >>> train = load_music("data/corpus_full", split="train", sampling_rate=44100)  # doctest: +SKIP
        >>> train[0]["audio"].get_all_samples().data.shape  # doctest: +SKIP
        torch.Size([2, 26460000])
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root).expanduser()
    if (root / "music").is_dir() and not (root / split).is_dir():
        root = root / "music"
    if not (root / split).is_dir():
        raise FileNotFoundError(MISSING_MUSIC.format(root=root))
    dataset = load_dataset("audiofolder", data_dir=str(root), split=split)
    return dataset.cast_column("audio", Audio(sampling_rate=sampling_rate, num_channels=num_channels))
