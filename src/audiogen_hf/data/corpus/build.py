"""Offline real-music corpus builder: one command, deterministic, resumable.

Builds a freely licensed music corpus in three standard layouts from Debian packages fetched at build time
(``apt-get download`` + ``dpkg-deb -x``, never installed; see :mod:`.sources` for the packages, licences and genres):

* ``musdb/``: MUSDB18-HQ layout (``{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav``,
  44.1 kHz stereo 16-bit). The Planet Blupi General MIDI songs rendered stem by stem with fluidsynth (``full``:
  with two SoundFonts, FluidR3_GM and TimGM6mb, for more timbre variety), and the Fret's on Fire Muldjord
  recordings (guitar track as ``other``, the inseparable band backing as ``drums``).
* ``gtzan/``: GTZAN layout (``genres/<genre>/<genre>.000NN.wav``, 30 s, 22.05 kHz mono 16-bit).
* ``music/``: ``{train,test}/*.flac`` whole stereo 44.1 kHz recordings with ``metadata.jsonl`` (``audiofolder``).

Splits are decided once per *work* (:func:`.sources.assign_splits`) and shared by every layout: no excerpt of a
test song is in any train set, whichever layout it came through. Recordings are deduplicated by decoded-audio
fingerprint and by work (another version of the same piece).

Sizes (``PRESETS``): ``small`` (tests, demo; under a minute) renders the first 60 s of the MIDI songs with TimGM6mb
and keeps 6 MIDI + 2 real MUSDB tracks of 20 s, 3 clips in each of 3 genres and 4 music excerpts of 20 s;
``full`` reads every package of the catalogue: all MIDI songs x 2 SoundFonts (30 s excerpts, or 20 / 10 s where
no 30 s window has every stem playing; a missing part allowed as a silent stem), the 4 Muldjord songs whole, up to
100 clips in each of 7 genres and every recording (up to its first 10 minutes) in ``music/``: about 14 hours.

Resuming: every output file is written atomically and skipped when present; ``manifest.json`` is written last
and marks a complete corpus. Files that cannot be read are skipped and counted in the manifest.
"""

import json
import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal, Optional

from .common import CORPUS_VERSION, write_json
from .debian import DEFAULT_CACHE_DIR, fetch_debian_package, package_version
from .gtzan import build_gtzan
from .midi import check_tools, midi_recordings, render_song
from .musdb import TrackJob, export_tracks, finish_musdb
from .music import build_music
from .sources import (
    BLUPI,
    BLUPI_DIR,
    CATALOGUE,
    FOF,
    HELD_OUT_PACKAGES,
    NOT_USED,
    SINGULARITY,
    ScanReport,
    assign_splits,
    deduplicate,
    fof_song,
    scan_package,
    selection_order,
    work_id,
)

logger = logging.getLogger(__name__)

SOUNDFONTS = {
    "TimGM6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
}


@dataclass(frozen=True)
class _Preset:
    midi_tracks: Optional[int]  # None: all
    real_tracks: Optional[int]
    midi_track_s: float
    real_track_s: Optional[float]  # None: whole songs
    render_s: float
    clips_per_genre: int
    soundfonts: tuple  # keys of SOUNDFONTS, the first is the main one
    packages: tuple  # recorded-music packages read (for GTZAN and music/)
    required: tuple  # packages whose absence is an error (others are skipped and counted)
    music_per_package: Optional[int]
    music_start_s: float
    music_max_s: Optional[float]
    allow_missing_stems: bool
    shorter_midi_s: tuple  # shorter MIDI excerpts tried when no midi_track_s window has every stem playing
    rendered_game_genre: bool  # GTZAN "game" from the MIDI renders (else from planetblupi-music-ogg)


PRESETS = {
    "small": _Preset(
        midi_tracks=6, real_tracks=2, midi_track_s=20.0, real_track_s=20.0, render_s=60.0, clips_per_genre=3,
        soundfonts=("TimGM6mb",), packages=(FOF, SINGULARITY), required=(BLUPI, FOF, SINGULARITY),
        music_per_package=2, music_start_s=10.0, music_max_s=20.0, allow_missing_stems=False, shorter_midi_s=(),
        rendered_game_genre=True,
    ),
    # The game songs hand the melody from instrument to instrument, so windows where all four
    # rendered stems play are short: 30 s excerpts (60 s would keep ~3 of the 10 songs), shorter where needed.
    "full": _Preset(
        midi_tracks=None, real_tracks=None, midi_track_s=30.0, real_track_s=None, render_s=180.0,
        clips_per_genre=100, soundfonts=("FluidR3_GM", "TimGM6mb"), packages=tuple(CATALOGUE), required=(BLUPI,),
        music_per_package=None, music_start_s=0.0, music_max_s=600.0, allow_missing_stems=True,
        shorter_midi_s=(20.0, 10.0),
        rendered_game_genre=False,
    ),
}


@dataclass
class CorpusArguments:
    """Arguments of :func:`build_corpus` (also the CLI of ``scripts/build_corpus.py``)."""

    output_dir: str = field(
        default="data/corpus", metadata={"help": "Where to write musdb/, gtzan/, music/ and manifest.json."}
    )
    size: Literal["small", "full"] = field(
        default="small",
        metadata={"help": "small: minutes of music for tests and the demo (< 1 min to build); full: ~15 hours "
                          "of recordings in music/, 7 genres in gtzan/, every MIDI song x 2 SoundFonts in musdb/."},
    )
    soundfont: Optional[str] = field(
        default=None,
        metadata={"help": "One SoundFont for the MIDI renders (default: TimGM6mb for small, FluidR3_GM and "
                          "TimGM6mb for full)."},
    )
    cache_dir: str = field(
        default=DEFAULT_CACHE_DIR,
        metadata={"help": "Where downloaded .deb packages are kept and extracted."},
    )
    overwrite: bool = field(default=False, metadata={"help": "Rebuild even if output_dir holds a corpus."})

    def __post_init__(self):
        if self.size not in PRESETS:
            raise ValueError(f"size must be one of {sorted(PRESETS)}, got {self.size!r}")


def build_corpus(args: CorpusArguments) -> dict:
    """Build, resume or reuse the corpus; return ``{"manifest", "musdb", "gtzan", "music"}`` manifests."""
    began = time.monotonic()
    preset = PRESETS[args.size]
    out = Path(args.output_dir).expanduser()
    if args.soundfont:
        soundfonts = {Path(args.soundfont).stem: (str(Path(args.soundfont).expanduser().resolve()), None)}
    else:
        soundfonts = {key: SOUNDFONTS[key] for key in preset.soundfonts}
    build_args = {**asdict(args), "soundfont": [path for path, _ in soundfonts.values()]}
    del build_args["overwrite"]
    from ..mnist import fetch_fashion_mnist  # 28 x 28 images for the DDPM system; kept apart from the music layouts

    fetch_fashion_mnist(out / "fashion_mnist", args.cache_dir)
    if _reusable(out, build_args, args.overwrite):
        logger.info("Corpus in %s is complete and built with the same arguments; nothing to do.", out)
        return _load_manifests(out)
    for path, package in soundfonts.values():
        check_tools(path, package)
    write_json(out / ".build.json", build_args)

    report = ScanReport()
    roots, unavailable = {}, {}
    check_not_held_out((BLUPI, *preset.packages))
    for name in dict.fromkeys((BLUPI, *preset.packages)):
        try:
            roots[name] = fetch_debian_package(name, args.cache_dir)
        except RuntimeError as exc:
            if name in preset.required:
                raise
            logger.warning("Skipping package %s: %s", name, exc)
            unavailable[name] = str(exc).splitlines()[0]

    recordings = []
    for name in preset.packages:
        if name in roots:
            try:
                recordings += scan_package(CATALOGUE[name], roots[name], report)
            except (RuntimeError, OSError) as exc:
                if name in preset.required:
                    raise
                logger.warning("Skipping package %s: %s", name, exc)
                unavailable[name] = str(exc).splitlines()[0]
    recordings = deduplicate(recordings, report)
    midi_files = sorted((roots[BLUPI] / BLUPI_DIR).glob("*.mid"))
    splits = assign_splits([r.work for r in recordings] + [work_id("planetblupi", p.stem) for p in midi_files])

    # music/: whole stereo recordings
    chosen = []
    for name in preset.packages:
        own = [r for r in recordings if r.package == name]
        chosen += selection_order(own, splits, first=("test",))[:preset.music_per_package]
    music = build_music(out / "music", chosen, splits, report, start_s=preset.music_start_s,
                        max_seconds=preset.music_max_s)

    # musdb/: MIDI renders (per SoundFont) and the Muldjord recordings
    main_font = next(iter(soundfonts.values()))[0]
    midi_jobs = []
    midi_order = selection_order(midi_files, splits, key=lambda p: work_id("planetblupi", p.stem), first=("test",))
    for path in midi_order:
        work = work_id("planetblupi", path.stem)
        for label, (font, _) in soundfonts.items():
            suffix = f" ({label})" if len(soundfonts) > 1 else ""
            midi_jobs.append(TrackJob(
                name=f"Planet Blupi - Music {path.stem[-3:]}{suffix}", split=splits[work],
                make_song=partial(_render, path, font, preset.render_s, work,
                                  preset.rendered_game_genre and font == main_font),
                track_s=preset.midi_track_s, allow_missing=preset.allow_missing_stems, shorter_s=preset.shorter_midi_s,
                extra={"soundfont": Path(font).name},
            ))
    tracks = export_tracks(out / "musdb", midi_jobs, preset.midi_tracks, report)
    # test first, then in order: the small corpus keeps a train recording (tests/conftest.py's real_track)
    fof = selection_order([r for r in recordings if r.package == FOF], splits, first=("test",))
    real_jobs = [TrackJob(name=f"Muldjord - {r.title}", split=splits[r.work],
                          make_song=partial(fof_song, roots[FOF], r), track_s=preset.real_track_s) for r in fof]
    tracks += export_tracks(out / "musdb", real_jobs, preset.real_tracks, report)
    if not tracks:
        raise RuntimeError("No MUSDB track could be written; see the log for what was skipped.")
    musdb = finish_musdb(out / "musdb", tracks)

    # gtzan/: 30 s clips per genre
    genres = {}
    for recording in recordings:
        genres.setdefault(recording.genre, []).append(recording)
    if preset.rendered_game_genre:
        genres["game"] = midi_recordings(roots[BLUPI], main_font, preset.render_s)
    gtzan = build_gtzan(out / "gtzan", genres, splits, preset.clips_per_genre, report)

    manifest = _manifest(build_args, roots, unavailable, recordings, splits, music, musdb, gtzan, report,
                         args.cache_dir)
    write_json(out / "manifest.json", manifest)  # written last: its presence marks a complete corpus
    hours = sum(music["duration_s"].values()) / 3600
    logger.info("Corpus written to %s in %.0f s: %d MUSDB tracks, %d GTZAN clips in %d genres, %d music tracks "
                "(%.2f h); %d files skipped.", out, time.monotonic() - began, len(musdb["tracks"]),
                len(gtzan["clips"]), len(gtzan["genres"]), len(music["tracks"]), hours,
                sum(len(v) for v in report.skipped.values()))
    return {"manifest": manifest, "musdb": musdb, "gtzan": gtzan, "music": music}


def check_not_held_out(names) -> None:
    """Raise if ``names`` include a package kept aside for independent evaluation (:data:`HELD_OUT_PACKAGES`)."""
    held = sorted(set(names) & set(HELD_OUT_PACKAGES))
    if held:
        raise ValueError(f"{', '.join(held)} is held out for independent evaluation and must not be read.")


def _render(path: Path, soundfont: str, render_s: float, work: str, keep_mix: bool):
    with tempfile.TemporaryDirectory(prefix="corpus-render-") as tmp:
        song = render_song(path, soundfont, render_s, Path(tmp), BLUPI, work, "", keep_mix=keep_mix)
    song.licence = "GPL-3+"
    return song


def _manifest(build_args, roots, unavailable, recordings, splits, music, musdb, gtzan, report, cache_dir) -> dict:
    packages = {}
    for name, root in roots.items():
        own = [r for r in recordings if r.package == name]
        entry = {
            "version": package_version(name, cache_dir),
            "copyright": f"usr/share/doc/{name}/copyright",
            "licences": sorted({r.licence for r in own}) or ["GPL-3+"],
        }
        if name in CATALOGUE:
            entry.update(genre=CATALOGUE[name].genre, recordings=len(own),
                         duration_s=round(sum(r.duration_s for r in own), 1))
        packages[name] = entry
    music_s, musdb_s = music["duration_s"], musdb["duration_s"]
    return {
        "corpus_version": CORPUS_VERSION,
        "args": build_args,
        "musdb": {"path": "musdb", "manifest": "musdb/manifest.json", "num_tracks": len(musdb["tracks"]),
                  "duration_s": musdb_s},
        "gtzan": {"path": "gtzan", "manifest": "gtzan/manifest.json", "num_clips": len(gtzan["clips"]),
                  "genres": gtzan["genres"], "clips_per_genre": gtzan["clips_per_genre"]},
        "music": {"path": "music", "manifest": "music/manifest.json", "num_tracks": len(music["tracks"]),
                  "duration_s": music_s, "hours": round(sum(music_s.values()) / 3600, 3)},
        "packages": packages,
        "unavailable_packages": unavailable,
        "held_out_packages": list(HELD_OUT_PACKAGES),
        "not_used_packages": NOT_USED,
        "works": dict(sorted(splits.items())),
        "files": report.as_dict(),
    }


LAYOUTS = ("musdb", "gtzan", "music")
_SAME_BUILD_KEYS = ("size", "soundfont")


def _reusable(out: Path, build_args: dict, overwrite: bool) -> bool:
    """True if ``out`` holds a complete corpus built with ``build_args``.

    An incomplete build with the same arguments (``.build.json`` but no ``manifest.json``) is resumed (False, files
    kept); a corpus or build with other arguments raises unless ``overwrite``, which (like a build from an older
    corpus version) removes it first.
    """
    wanted = {"corpus_version": CORPUS_VERSION, **{k: build_args[k] for k in _SAME_BUILD_KEYS}}
    manifest_path, state_path = out / "manifest.json", out / ".build.json"
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text())
        old_args = old.get("args", {})
        built = {"corpus_version": old.get("corpus_version"), **{k: old_args.get(k) for k in _SAME_BUILD_KEYS}}
    elif state_path.is_file():
        built = {"corpus_version": CORPUS_VERSION, **{k: json.loads(state_path.read_text()).get(k)
                                                      for k in _SAME_BUILD_KEYS}}
    else:
        built = None
    if built == wanted and not overwrite:
        if manifest_path.is_file():
            return True
        logger.info("Resuming the unfinished corpus build in %s (finished files are kept).", out)
        return False
    if built is not None and not overwrite and built["corpus_version"] == CORPUS_VERSION:
        raise FileExistsError(
            f"{out} already holds a corpus built with {built}, not {wanted}; pass --overwrite to rebuild it "
            "or choose another --output_dir."
        )
    if any((out / name).exists() for name in (*LAYOUTS, "manifest.json", ".build.json")):
        logger.info("Removing %s's previous corpus before rebuilding.", out)
    for name in LAYOUTS:
        shutil.rmtree(out / name, ignore_errors=True)
    for name in ("manifest.json", ".build.json"):
        (out / name).unlink(missing_ok=True)
    return False


def _load_manifests(out: Path) -> dict:
    names = {"manifest": "manifest.json", **{name: f"{name}/manifest.json" for name in LAYOUTS}}
    return {key: json.loads((out / sub).read_text()) for key, sub in names.items()}
