"""Offline real-music corpus builder.

Builds a small, freely licensed music corpus in two standard layouts from Debian
packages fetched at build time (``apt-get download`` + ``dpkg-deb -x``, no install):

* ``musdb/``: MUSDB18-HQ layout (``{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav``,
  44.1 kHz stereo 16-bit). Tracks come from the Planet Blupi General MIDI songs, rendered
  stem by stem with fluidsynth, and from the Fret's on Fire Muldjord metal recordings
  (guitar track as ``other``, the inseparable band backing as ``drums``).
* ``gtzan/``: GTZAN layout (``genres/<genre>/<genre>.000NN.wav``, 30 s, 22.05 kHz mono
  16-bit) with genres ``metal`` (Muldjord), ``electronic`` (Endgame: Singularity
  soundtrack) and ``game`` (rendered Planet Blupi MIDI).

Sizes (see ``PRESETS``): ``small`` renders the first 60 s of the MIDI songs with TimGM6mb and
keeps 6 MIDI + 2 real tracks of 20 s and 3 clips per genre; ``full`` renders 180 s with
FluidR3_GM and keeps every MIDI song with a 30 s excerpt where all four stems play (7 of
10), all 4 real songs as 60 s excerpts and 10 clips per genre. Everything is
deterministic: excerpt and clip positions follow fixed rules and no randomness is used.
"""

import json
import logging
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

from .common import CORPUS_VERSION, write_json
from .debian import fetch_debian_package
from .gtzan import build_gtzan
from .midi import check_tools, midi_songs
from .musdb import export_songs, finish_musdb
from .sources import BLUPI, FOF, LICENCES, SINGULARITY, fof_clip_sources, fof_songs, singularity_clip_sources

logger = logging.getLogger(__name__)

SOUNDFONTS = {
    "small": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
    "full": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
}


@dataclass(frozen=True)
class _Preset:
    midi_tracks: Optional[int]  # None: all
    real_tracks: Optional[int]
    midi_track_s: float
    real_track_s: float
    render_s: float
    clips_per_genre: int


PRESETS = {
    "small": _Preset(
        midi_tracks=6, real_tracks=2, midi_track_s=20.0, real_track_s=20.0, render_s=60.0, clips_per_genre=3
    ),
    # The game songs hand the melody from instrument to instrument, so windows where all four
    # rendered stems play are short: 30 s excerpts keep 7 of the 10 songs (60 s would keep ~3).
    "full": _Preset(
        midi_tracks=None, real_tracks=None, midi_track_s=30.0, real_track_s=60.0, render_s=180.0, clips_per_genre=10
    ),
}


@dataclass
class CorpusArguments:
    """Arguments of :func:`build_corpus` (also the CLI of ``scripts/build_corpus.py``)."""

    output_dir: str = field(
        default="data/corpus", metadata={"help": "Where to write musdb/, gtzan/ and manifest.json."}
    )
    size: Literal["small", "full"] = field(
        default="small",
        metadata={"help": "small: 8 tracks of 20 s + 9 clips (< 1 min); full: 11 tracks + 30 clips (~1.5 min)."},
    )
    soundfont: Optional[str] = field(
        default=None,
        metadata={"help": "SoundFont for the MIDI renders (default: TimGM6mb for small, FluidR3_GM for full)."},
    )
    cache_dir: str = field(
        default="~/.cache/audiogen_hf/debs",
        metadata={"help": "Where downloaded .deb packages are kept and extracted."},
    )
    overwrite: bool = field(default=False, metadata={"help": "Rebuild even if output_dir holds a corpus."})

    def __post_init__(self):
        if self.size not in PRESETS:
            raise ValueError(f"size must be one of {sorted(PRESETS)}, got {self.size!r}")


def build_corpus(args: CorpusArguments) -> dict:
    """Build (or reuse) the corpus; return ``{"manifest", "musdb", "gtzan"}`` manifests."""
    preset = PRESETS[args.size]
    out = Path(args.output_dir).expanduser()
    default_soundfont, soundfont_package = SOUNDFONTS[args.size]
    soundfont = str(Path(args.soundfont or default_soundfont).expanduser().resolve())
    build_args = {**asdict(args), "soundfont": soundfont}
    del build_args["overwrite"]
    if _reusable(out, build_args, args.overwrite):
        logger.info("Corpus in %s is complete and built with the same arguments; nothing to do.", out)
        return _load_manifests(out)
    check_tools(soundfont, None if args.soundfont else soundfont_package)
    for stale in (out / "musdb", out / "gtzan", out / "manifest.json"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()

    cache = Path(args.cache_dir).expanduser()
    roots = {name: fetch_debian_package(name, cache) for name in LICENCES}
    game_sources = []
    with tempfile.TemporaryDirectory(prefix="corpus-render-") as tmp:
        songs = midi_songs(roots[BLUPI], soundfont, preset.render_s, Path(tmp), game_sources)
        tracks = export_songs(out / "musdb", songs, preset.midi_tracks, preset.midi_track_s)
    tracks += export_songs(out / "musdb", fof_songs(roots[FOF]), preset.real_tracks, preset.real_track_s)
    musdb = finish_musdb(out / "musdb", tracks)

    clip_sources = {
        "metal": fof_clip_sources(roots[FOF]),
        "electronic": singularity_clip_sources(roots[SINGULARITY]),
        "game": game_sources,
    }
    gtzan = build_gtzan(out / "gtzan", clip_sources, preset.clips_per_genre)

    manifest = {
        "corpus_version": CORPUS_VERSION,
        "args": build_args,
        "musdb": {"path": "musdb", "manifest": "musdb/manifest.json", "num_tracks": len(musdb["tracks"])},
        "gtzan": {"path": "gtzan", "manifest": "gtzan/manifest.json", "num_clips": len(gtzan["clips"])},
        "packages": dict(LICENCES),
    }
    write_json(out / "manifest.json", manifest)  # written last: its presence marks a complete corpus
    logger.info("Corpus written to %s: %d MUSDB tracks, %d GTZAN clips.", out, len(musdb["tracks"]),
                len(gtzan["clips"]))
    return {"manifest": manifest, "musdb": musdb, "gtzan": gtzan}


def _reusable(out: Path, build_args: dict, overwrite: bool) -> bool:
    """True if ``out`` holds a complete corpus built with ``build_args``; raise if it holds another one."""
    manifest_path = out / "manifest.json"
    if overwrite or not manifest_path.is_file():
        if (out / "musdb").exists() or (out / "gtzan").exists():
            logger.info("Removing %s's previous (or incomplete) corpus before rebuilding.", out)
        return False
    old = json.loads(manifest_path.read_text())
    keys = ("size", "soundfont")
    built = {"corpus_version": old.get("corpus_version"), **{k: old.get("args", {}).get(k) for k in keys}}
    wanted = {"corpus_version": CORPUS_VERSION, **{k: build_args[k] for k in keys}}
    if built != wanted:
        raise FileExistsError(
            f"{out} already holds a corpus built with {built}, not {wanted}; pass --overwrite to rebuild it "
            "or choose another --output_dir."
        )
    return True


def _load_manifests(out: Path) -> dict:
    return {key: json.loads((out / sub).read_text()) for key, sub in
            (("manifest", "manifest.json"), ("musdb", "musdb/manifest.json"), ("gtzan", "gtzan/manifest.json"))}
