"""Shared fixtures: the offline real-music corpus (built once if missing) and clips cut from it."""

import os
from pathlib import Path

import pytest
import torch

from audiogen_hf.audio import load_audio

REPO = Path(__file__).resolve().parents[1]
CORPUS_FIXTURES = {"corpus_dir", "musdb_root", "gtzan_root", "real_track", "music", "fashion_mnist_root"}


def pytest_configure(config):
    config.addinivalue_line("markers", "corpus: needs the offline real-music corpus (built on first use if missing); "
                            "`pytest -m 'not corpus'` runs the fast tier alone")


def pytest_collection_modifyitems(config, items):
    """A test that uses a corpus fixture (directly or through another fixture) is a ``corpus`` test, marked or not."""
    for item in items:
        if CORPUS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.corpus)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The small corpus at $AUDIOGEN_HF_CORPUS (default data/corpus), built from Debian packages if missing."""
    root = Path(os.environ.get("AUDIOGEN_HF_CORPUS", REPO / "data" / "corpus"))
    if not (root / "manifest.json").is_file():
        from audiogen_hf.data.corpus import CorpusArguments, build_corpus

        build_corpus(CorpusArguments(output_dir=str(root)))
    return root


@pytest.fixture(scope="session")
def fashion_mnist_root() -> Path:
    """Fashion-MNIST's IDX files: the corpus's ``fashion_mnist/`` (``make corpus`` puts them there), else fetched once
    from the Debian package into ``~/.cache/audiogen_hf/fashion_mnist``."""
    root = Path(os.environ.get("AUDIOGEN_HF_CORPUS", REPO / "data" / "corpus")) / "fashion_mnist"
    if (root / "manifest.json").is_file():
        return root
    from audiogen_hf.data.mnist import fetch_fashion_mnist

    return fetch_fashion_mnist(Path("~/.cache/audiogen_hf/fashion_mnist").expanduser())


@pytest.fixture(scope="session")
def musdb_root(corpus_dir) -> Path:
    return corpus_dir / "musdb"


@pytest.fixture(scope="session")
def gtzan_root(corpus_dir) -> Path:
    return corpus_dir / "gtzan"


@pytest.fixture(scope="session")
def real_track(musdb_root) -> Path:
    """A track made from a real recording (Fret's on Fire backing + guitar), not a MIDI render."""
    tracks = sorted(p for p in (musdb_root / "train").iterdir() if p.name.startswith("Muldjord"))
    tracks = tracks or sorted(p for p in (musdb_root / "test").iterdir() if p.name.startswith("Muldjord"))
    assert tracks, "the corpus should hold real-recording tracks"
    return tracks[0]


@pytest.fixture(scope="session")
def music(real_track) -> torch.Tensor:
    """5 s of a real stereo mixture at 22.05 kHz, ``[2, samples]``."""
    audio, _ = load_audio(real_track / "mixture.wav", sampling_rate=22050, offset=2.0, duration=5.0)
    return audio
