"""What the corpus reads: the Debian music packages (licence, genre, where the audio is), and the recordings in them.

A *recording* is one piece of music as shipped (one file, or the Fret's on Fire backing + guitar pair). A *work* is
the piece itself: recordings of the same work (the same song rendered from MIDI and shipped as Ogg, an "enhanced"
or "revisited" version) share a work id, so they always land in the same split. Splits are decided per work, once,
for every layout (:func:`assign_splits`), which is what keeps test music out of every training set.

Genres are package-level labels taken from what each package's music is (tags, upstream descriptions):

============== ============================== ======================================================================
genre          package                        why
============== ============================== ======================================================================
classical      wesnoth-1.16-music             orchestral fantasy score; the files' GENRE tag is "Romantic Classical"
cinematic      ufoai-music                    battle / geoscape film-style scores of UFO: Alien Invasion
electronic     singularity-music              Endgame: Singularity's electronic / ambient soundtrack
techno         nexuiz-music                   Nexuiz's electronic dance tracks (elysis and others)
industrial     warzone2100-music              Warzone 2100's industrial / electronic soundtracks (three albums)
metal          fretsonfire-songs-muldjord     Jan "Muldjord" Mulder's rock / metal songs (band backing + guitar)
game           planetblupi-music-ogg          Planet Blupi's General MIDI game songs (in ``small``: rendered MIDI)
============== ============================== ======================================================================

Considered and not used: ``asc-music`` (3 MP3s at 22.05 kHz, style unstated), ``hyperrogue-music`` (mostly short
mono jingles), ``fb-music-high`` (an XM module, no decoder here), ``xblast-tnt-musics`` (header-less raw PCM),
``sonic-pi-samples`` (one-shots and loops of at most 11 s). ``drascula-music`` and ``fretsonfire-songs-sectoid``
are held out for independent evaluation of models trained on this corpus and are never read
(:data:`HELD_OUT_PACKAGES`).
"""

import configparser
import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import soundfile as sf

from .common import MUSDB_SR, read_mix
from .debian import extract_archive, package_licence

logger = logging.getLogger(__name__)

BLUPI = "planetblupi-music-midi"
BLUPI_OGG = "planetblupi-music-ogg"
FOF = "fretsonfire-songs-muldjord"
SINGULARITY = "singularity-music"
WESNOTH = "wesnoth-1.16-music"
UFOAI = "ufoai-music"
NEXUIZ = "nexuiz-music"
WARZONE = "warzone2100-music"
BLUPI_DIR = "usr/share/planetblupi/music"
FOF_DIR = "usr/share/games/fretsonfire/data/songs/muldjord"
HELD_OUT_PACKAGES = ("drascula-music", "fretsonfire-songs-sectoid")
NOT_USED = {
    "asc-music": "3 MP3 files at 22.05 kHz whose style is not stated",
    "hyperrogue-music": "mostly short mono jingles (median 1 s)",
    "fb-music-high": "one XM tracker module; no decoder in the toolchain",
    "xblast-tnt-musics": "header-less raw PCM of unknown format",
    "sonic-pi-samples": "one-shots and loops of at most 11 s, not music tracks",
}
AUDIO_SUFFIXES = (".ogg", ".opus", ".flac", ".wav", ".mp3")
_VERSION_WORDS = re.compile(r"(enhanced|revisited|remix|remastered|\d+sec)")

REAL_STEM_SOURCES = {
    "other": "guitar.ogg (guitar only)",
    "drums": "song.ogg (band backing: drums, bass and rest, not separable)",
    "bass": "silence",
    "vocals": "silence",
}


@dataclass(frozen=True)
class MusicPackage:
    """A Debian package of recorded music.

    Args:
        name (`str`): the Debian package.
        genre (`str`): the GTZAN label of its music.
        licence (`str`): its licence where ``debian/copyright`` is not machine-readable (else read per file).
        directory (`str`): where its audio lies in the extracted package.
        family (`str`): work-id namespace; packages holding the same songs share one (Planet Blupi Ogg and MIDI).
        archive (`str`, *optional*): a zip (``.pk3``) under ``directory`` holding the audio.
        min_seconds (`float`, defaults to 30): shorter files are jingles or tests, not tracks.
    """

    name: str
    genre: str
    licence: str
    directory: str
    family: str
    archive: Optional[str] = None
    min_seconds: float = 30.0


CATALOGUE = {
    p.name: p
    for p in (
        MusicPackage(FOF, "metal", "CC-BY-SA-3.0", FOF_DIR, "muldjord"),
        MusicPackage(SINGULARITY, "electronic", "CC-BY-SA-3.0", "usr/share/games/singularity/music", "singularity"),
        MusicPackage(WESNOTH, "classical", "GPL-2+", "usr/share/games/wesnoth/1.16/data/core/music", "wesnoth"),
        MusicPackage(UFOAI, "cinematic", "GPL-2+", "usr/share/games/ufoai/base", "ufoai", archive="0music.pk3"),
        MusicPackage(NEXUIZ, "techno", "GPL-2+", "usr/share/games/nexuiz/data", "nexuiz", archive="music.pk3"),
        MusicPackage(WARZONE, "industrial", "GPL-2+", "usr/share/games/warzone2100/music", "warzone2100"),
        MusicPackage(BLUPI_OGG, "game", "GPL-3+", BLUPI_DIR, "planetblupi"),
    )
}
# licence.txt files of the Warzone 2100 albums (the Debian copyright covers the game's code).
_WARZONE_ALBUM_LICENCES = {
    "aftermath_soundtrack": "CC-BY-SA-3.0 or GPL-2+",
    "legacy_soundtrack": "CC-BY-SA-3.0 or GPL-2+",
}


@dataclass
class Recording:
    """One recorded piece of music found in a package.

    ``read(start_s, seconds)`` returns ``(audio (samples, channels) float32, sample_rate)`` (``seconds=None``: to
    the end).
    """

    package: str
    genre: str
    work: str
    title: str
    source_files: list
    licence: str
    duration_s: float
    sample_rate: int
    channels: int
    read: Callable = field(repr=False)
    rendered: bool = False


@dataclass
class Song:
    """A source song as four float32 (samples, 2) stems at 44.1 kHz (None: no such part)."""

    name: str
    package: str
    work: str
    source_files: list
    stems: dict
    stem_sources: dict
    rendered: bool
    licence: str = ""


@dataclass
class ScanReport:
    """Files looked at and why some were not used (counts and names go into the manifest)."""

    used: int = 0
    skipped: dict = field(default_factory=dict)  # reason -> list of "package: file"

    def skip(self, reason: str, package: str, file: str) -> None:
        logger.info("Skipping %s: %s (%s)", file, reason, package)
        self.skipped.setdefault(reason, []).append(f"{package}: {file}")

    def as_dict(self) -> dict:
        return {"used": self.used, "skipped": {k: {"count": len(v), "files": v} for k, v in self.skipped.items()}}


def work_id(family: str, name: str) -> str:
    """``family/normalised-name``: lowercase alphanumerics, version words ("enhanced", "revisited") dropped."""
    key = _VERSION_WORDS.sub("", re.sub(r"[^a-z0-9]", "", name.lower()))
    return f"{family}/{key or name.lower()}"


def assign_splits(works: list) -> dict:
    """``{work: "train" | "valid" | "test"}``, per family over its sorted works.

    Counting back from a family's last work, the second-to-last and every fifth before it are ``test``; the
    third-to-last and every tenth before it ``valid`` (families of at least three works); a family of one work is
    all train. About 20 % test and 10 % valid, deterministic and independent of which recordings later render or
    decode, so every layout agrees.
    """
    families = {}
    for work in sorted(set(works)):
        families.setdefault(work.split("/", 1)[0], []).append(work)
    splits = {}
    for group in families.values():
        n = len(group)
        for i, work in enumerate(group):
            back = n - 1 - i
            if back % 5 == 1:
                splits[work] = "test"
            elif n >= 3 and back % 10 == 2:
                splits[work] = "valid"
            else:
                splits[work] = "train"
    return splits


def selection_order(items: list, splits: dict, key: Callable = lambda item: item.work,
                    first: tuple = ("test", "valid")) -> list:
    """``items`` with the first item of each split in ``first`` moved to the front (in that order), the rest kept in
    order: a size-limited preset (``small``) still gets a test (and a validation) item."""
    front = []
    for split in first:
        found = next((item for item in items if splits.get(key(item)) == split), None)
        if found is not None:
            front.append(found)
    return front + [item for item in items if not any(item is f for f in front)]


def scan_package(package: MusicPackage, root: Path, report: ScanReport) -> list:
    """The recordings of ``package`` (extracted at ``root``), sorted by file; unreadable or short files skipped."""
    if package.name == FOF:
        return _fof_recordings(package, root, report)
    base = root / package.directory
    if package.archive:
        base = extract_archive(base / package.archive)
    recordings = []
    for path in sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        rel = f"{package.directory}/{package.archive + '!' if package.archive else ''}{path.relative_to(base)}"
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            report.skip("corrupt", package.name, f"{rel} ({exc})")
            continue
        if info.duration < package.min_seconds:
            report.skip(f"shorter than {package.min_seconds:.0f} s", package.name, rel)
            continue
        licence = _licence(package, root, path, rel)
        recordings.append(Recording(
            package=package.name, genre=package.genre, work=work_id(package.family, path.stem), title=path.stem,
            source_files=[rel], licence=licence, duration_s=info.duration, sample_rate=info.samplerate,
            channels=info.channels, read=partial(read_mix, [path]),
        ))
    return recordings


def _licence(package: MusicPackage, root: Path, path: Path, rel: str) -> str:
    if package.name == WARZONE:
        album = path.parent.name
        if path.stem == "track3_enhanced" or album not in _WARZONE_ALBUM_LICENCES:
            return "GPL-2+"
        return _WARZONE_ALBUM_LICENCES[album]
    return package_licence(root, package.name, rel.replace("!", "/")) or package.licence


def _fof_recordings(package: MusicPackage, root: Path, report: ScanReport) -> list:
    """The Muldjord songs: ``song.ogg`` (band backing) + ``guitar.ogg`` summed, titles from ``song.ini``."""
    recordings = []
    base = root / package.directory
    for song_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        files = [song_dir / "song.ogg", song_dir / "guitar.ogg"]
        rel = [f"{package.directory}/{song_dir.name}/{f.name}" for f in files]
        missing = [r for f, r in zip(files, rel) if not f.is_file()]
        if missing:
            report.skip("missing", package.name, ", ".join(missing))
            continue
        try:
            infos = [sf.info(f) for f in files]
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            report.skip("corrupt", package.name, f"{song_dir.name} ({exc})")
            continue
        ini = configparser.ConfigParser(interpolation=None)
        ini.read(song_dir / "song.ini")
        title = ini.get("song", "name", fallback=song_dir.name)
        recordings.append(Recording(
            package=package.name, genre=package.genre, work=work_id(package.family, song_dir.name), title=title,
            source_files=rel, licence=package_licence(root, package.name, rel[0]) or package.licence,
            duration_s=min(i.duration for i in infos), sample_rate=infos[0].samplerate, channels=infos[0].channels,
            read=partial(read_mix, files),
        ))
    return recordings


def audio_fingerprint(recording: Recording, seconds: float = 10.0) -> str:
    """SHA-1 of the first ``seconds`` of decoded audio, 16-bit mono: equal for the same audio in another file."""
    audio, _ = recording.read(0.0, seconds)
    mono = np.round(np.asarray(audio, np.float64).mean(axis=1) * 32767).astype(np.int16)
    return hashlib.sha1(mono.tobytes()).hexdigest()


def deduplicate(recordings: list, report: ScanReport) -> list:
    """Drop recordings whose audio (fingerprint) or work equals an earlier one's; unreadable ones are counted."""
    kept, seen_audio, seen_work = [], {}, {}
    for recording in recordings:
        name = recording.source_files[0]
        try:
            digest = audio_fingerprint(recording)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
            report.skip("corrupt", recording.package, f"{name} ({exc})")
            continue
        if digest in seen_audio:
            report.skip("duplicate audio", recording.package, f"{name} (same audio as {seen_audio[digest]})")
            continue
        if recording.work in seen_work:
            same = f"{name} (same work as {seen_work[recording.work]})"
            report.skip("another version of a work", recording.package, same)
            continue
        seen_audio[digest] = seen_work[recording.work] = f"{recording.package}: {name}"
        kept.append(recording)
    report.used += len(kept)
    return kept


def fof_song(root: Path, recording: Recording) -> Song:
    """A Muldjord recording as MUSDB stems: ``guitar.ogg`` as ``other``, ``song.ogg`` (band backing) as ``drums``."""
    backing, sr = read_mix([root / recording.source_files[0]])
    guitar, _ = read_mix([root / recording.source_files[1]])
    if sr != MUSDB_SR:
        raise RuntimeError(f"{recording.source_files[0]} is {sr} Hz, expected {MUSDB_SR} Hz.")
    length = min(len(backing), len(guitar))
    return Song(
        name=f"Muldjord - {recording.title}",
        package=recording.package,
        work=recording.work,
        source_files=recording.source_files,
        stems={"drums": backing[:length], "bass": None, "other": guitar[:length], "vocals": None},
        stem_sources=REAL_STEM_SOURCES,
        rendered=False,
        licence=recording.licence,
    )
