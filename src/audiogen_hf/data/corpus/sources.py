"""The Debian packages the corpus reads, their licences, and the songs / clip sources found in them."""

import configparser
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import soundfile as sf

from .common import MUSDB_SR, read_mix

BLUPI = "planetblupi-music-midi"
FOF = "fretsonfire-songs-muldjord"
SINGULARITY = "singularity-music"
LICENCES = {BLUPI: "GPL-3+", FOF: "CC-BY-SA-3.0", SINGULARITY: "CC-BY-SA-3.0"}
BLUPI_DIR = "usr/share/planetblupi/music"
FOF_DIR = "usr/share/games/fretsonfire/data/songs/muldjord"
SINGULARITY_DIR = "usr/share/games/singularity/music"

REAL_STEM_SOURCES = {
    "other": "guitar.ogg (guitar only)",
    "drums": "song.ogg (band backing: drums, bass and rest, not separable)",
    "bass": "silence",
    "vocals": "silence",
}


@dataclass
class Song:
    """A source song as four float32 (samples, 2) stems at 44.1 kHz (None: no such part)."""

    name: str
    package: str
    source_files: list
    stems: dict
    stem_sources: dict
    rendered: bool


@dataclass
class ClipSource:
    """A GTZAN clip source: ``read(start_s, seconds)`` returns (audio (samples, channels), sample rate)."""

    package: str
    file: str
    duration_s: float
    read: Callable
    rendered: bool


def fof_songs(root: Path) -> Iterator[Song]:
    """The Muldjord recordings: guitar.ogg as ``other``, song.ogg (band backing) as ``drums``."""
    for song_dir in _fof_song_dirs(root):
        ini = configparser.ConfigParser(interpolation=None)
        ini.read(song_dir / "song.ini")
        backing, sr = read_mix([song_dir / "song.ogg"])
        guitar, _ = read_mix([song_dir / "guitar.ogg"])
        if sr != MUSDB_SR:
            raise RuntimeError(f"{song_dir}/song.ogg is {sr} Hz, expected {MUSDB_SR} Hz.")
        length = min(len(backing), len(guitar))
        rel = f"{FOF_DIR}/{song_dir.name}"
        yield Song(
            name=f"Muldjord - {ini['song']['name']}",
            package=FOF,
            source_files=[f"{rel}/song.ogg", f"{rel}/guitar.ogg"],
            stems={"drums": backing[:length], "bass": None, "other": guitar[:length], "vocals": None},
            stem_sources=REAL_STEM_SOURCES,
            rendered=False,
        )


def _fof_song_dirs(root: Path) -> list:
    return sorted(p for p in (root / FOF_DIR).iterdir() if p.is_dir())


def fof_clip_sources(root: Path) -> list:
    sources = []
    for song_dir in _fof_song_dirs(root):
        files = [song_dir / "song.ogg", song_dir / "guitar.ogg"]
        sources.append(ClipSource(FOF, f"{FOF_DIR}/{song_dir.name}/{{song,guitar}}.ogg",
                                   sf.info(files[0]).duration, partial(read_mix, files), False))
    return sources


def singularity_clip_sources(root: Path) -> list:
    base = root / SINGULARITY_DIR
    return [
        ClipSource(SINGULARITY, f"{SINGULARITY_DIR}/{path.relative_to(base)}", sf.info(path).duration,
                    partial(read_mix, [path]), False)
        for path in sorted(base.rglob("*.ogg"))
    ]
