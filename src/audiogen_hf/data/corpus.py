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

import configparser
import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Literal, Optional

import mido
import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

logger = logging.getLogger(__name__)

CORPUS_VERSION = 1
STEMS = ("drums", "bass", "other", "vocals")
MUSDB_SR = 44100
GTZAN_SR = 22050
CLIP_S = 30.0
CLIP_OFFSET_S = 10.0  # skip intros: GTZAN slots start at 10 s, 40 s, 70 s, ...
FRAME_S = 0.5  # activity frames
ACTIVE_REL_DB = -30.0  # a frame is active within 30 dB of the stem's loud (95th percentile) level
ACTIVE_FLOOR = 1e-3  # ... and above -60 dBFS
MIN_ACTIVE = 0.5  # every stem must be active in at least half of an excerpt's frames
STEM_RMS = 0.1  # rendered stems are levelled to -20 dBFS RMS over their active frames
PEAK = 0.99
SILENT_CLIP_RMS = 0.01  # GTZAN clips quieter than -40 dBFS RMS are skipped
VOICE_PROGRAMS = (52, 53, 54, 85)  # GM choir aahs, voice oohs, synth voice, voice lead
BASS_PROGRAMS = range(32, 40)
DRUM_CHANNEL = 9
FLUIDSYNTH_TIMEOUT_S = 120  # a runaway render writes ~40 MB/s

BLUPI = "planetblupi-music-midi"
FOF = "fretsonfire-songs-muldjord"
SINGULARITY = "singularity-music"
LICENCES = {BLUPI: "GPL-3+", FOF: "CC-BY-SA-3.0", SINGULARITY: "CC-BY-SA-3.0"}
BLUPI_DIR = "usr/share/planetblupi/music"
FOF_DIR = "usr/share/games/fretsonfire/data/songs/muldjord"
SINGULARITY_DIR = "usr/share/games/singularity/music"
SOUNDFONTS = {
    "small": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
    "full": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
}
REAL_STEM_SOURCES = {
    "other": "guitar.ogg (guitar only)",
    "drums": "song.ogg (band backing: drums, bass and rest, not separable)",
    "bass": "silence",
    "vocals": "silence",
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


@dataclass
class _Song:
    """A source song as four float32 (samples, 2) stems at 44.1 kHz (None: no such part)."""

    name: str
    package: str
    source_files: list
    stems: dict
    stem_sources: dict
    rendered: bool


@dataclass
class _ClipSource:
    """A GTZAN clip source: ``read(start_s, seconds)`` returns (audio (samples, channels), sample rate)."""

    package: str
    file: str
    duration_s: float
    read: Callable
    rendered: bool


def build_corpus(args: CorpusArguments) -> dict:
    """Build (or reuse) the corpus; return ``{"manifest", "musdb", "gtzan"}`` manifests."""
    preset = PRESETS[args.size]
    out = Path(args.output_dir).expanduser()
    default_soundfont, soundfont_package = SOUNDFONTS[args.size]
    soundfont = str(Path(args.soundfont or default_soundfont).expanduser().resolve())
    build_args = {**asdict(args), "soundfont": soundfont}
    del build_args["overwrite"]
    from .mnist import fetch_fashion_mnist  # 28 x 28 images for the DDPM system; kept apart from musdb/ and gtzan/

    fetch_fashion_mnist(out / "fashion_mnist", args.cache_dir)
    if _reusable(out, build_args, args.overwrite):
        logger.info("Corpus in %s is complete and built with the same arguments; nothing to do.", out)
        return _load_manifests(out)
    _check_tools(soundfont, None if args.soundfont else soundfont_package)
    for stale in (out / "musdb", out / "gtzan", out / "manifest.json"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()

    cache = Path(args.cache_dir).expanduser()
    roots = {name: fetch_package(name, cache) for name in LICENCES}
    game_sources = []
    with tempfile.TemporaryDirectory(prefix="corpus-render-") as tmp:
        midi_songs = _midi_songs(roots[BLUPI], soundfont, preset.render_s, Path(tmp), game_sources)
        tracks = _export_songs(out / "musdb", midi_songs, preset.midi_tracks, preset.midi_track_s)
    tracks += _export_songs(out / "musdb", _real_songs(roots[FOF]), preset.real_tracks, preset.real_track_s)
    musdb = _finish_musdb(out / "musdb", tracks)

    clip_sources = {
        "metal": _fof_clip_sources(roots[FOF]),
        "electronic": _singularity_clip_sources(roots[SINGULARITY]),
        "game": game_sources,
    }
    gtzan = _build_gtzan(out / "gtzan", clip_sources, preset.clips_per_genre)

    manifest = {
        "corpus_version": CORPUS_VERSION,
        "args": build_args,
        "musdb": {"path": "musdb", "manifest": "musdb/manifest.json", "num_tracks": len(musdb["tracks"])},
        "gtzan": {"path": "gtzan", "manifest": "gtzan/manifest.json", "num_clips": len(gtzan["clips"])},
        "packages": dict(LICENCES),
    }
    _write_json(out / "manifest.json", manifest)  # written last: its presence marks a complete corpus
    logger.info("Corpus written to %s: %d MUSDB tracks, %d GTZAN clips.", out, len(musdb["tracks"]),
                len(gtzan["clips"]))
    return {"manifest": manifest, "musdb": musdb, "gtzan": gtzan}


def fetch_package(name: str, cache_dir: Path) -> Path:
    """Download Debian package ``name`` into ``cache_dir`` and extract it; return the extraction root.

    Skipped when already extracted. The package is never installed.
    """
    cache_dir = Path(cache_dir).expanduser()
    root = cache_dir / name
    if root.is_dir():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not list(cache_dir.glob(f"{name}_*.deb")):
        logger.info("Downloading Debian package %s into %s", name, cache_dir)
        error = (f"Could not download Debian package {name!r}. Building the corpus needs the Debian package "
                 f"registry: run `apt-get update` and retry, or fetch it by hand with "
                 f"`cd {cache_dir} && apt-get download {name}`.")
        try:
            _run(["apt-get", "download", name], error, cwd=cache_dir)
        except RuntimeError:
            if os.geteuid() != 0:
                raise
            logger.info("apt-get download failed; refreshing the package lists (apt-get update) and retrying")
            _run(["apt-get", "update", "-qq"], error)
            _run(["apt-get", "download", name], error, cwd=cache_dir)
    deb = sorted(cache_dir.glob(f"{name}_*.deb"))[-1]
    partial_root = cache_dir / f"{name}.partial"
    shutil.rmtree(partial_root, ignore_errors=True)
    _run(["dpkg-deb", "-x", str(deb), str(partial_root)], f"Could not extract {deb} (is dpkg-deb installed?).")
    partial_root.rename(root)
    return root


# --------------------------------------------------------------------------- checks


def _check_tools(soundfont: str, soundfont_package: Optional[str]) -> None:
    """Fail early on a missing fluidsynth binary or SoundFont (``soundfont_package``: its Debian package)."""
    if shutil.which("fluidsynth") is None:
        raise RuntimeError(
            "fluidsynth binary not found: install it with `apt-get install fluidsynth` (or `make setup`)."
        )
    if not Path(soundfont).is_file():
        hint = (f"install the Debian package {soundfont_package} (`apt-get install {soundfont_package}`) or pass "
                "--soundfont PATH" if soundfont_package else "check the --soundfont path")
        raise FileNotFoundError(f"SoundFont not found at {soundfont}: {hint}.")


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


def _run(cmd: list, error: str, cwd: Optional[Path] = None, timeout: Optional[float] = None) -> None:
    """Run ``cmd``; on failure raise RuntimeError(error) with the tool's own message appended."""
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise RuntimeError(f"{error}\n`{' '.join(cmd)}` said: {detail.strip()}") from exc


# --------------------------------------------------------------------------- sources


def _midi_songs(root: Path, soundfont: str, render_s: float, tmp: Path, game_sources: list) -> Iterator[_Song]:
    """Render each Planet Blupi song's stems; also append its full mix to ``game_sources``."""
    for path in sorted((root / BLUPI_DIR).glob("*.mid")):
        midi = mido.MidiFile(path)
        programs, pitches, coverage = _channel_stats(midi, render_s)
        groups = _split_channels(programs, pitches, coverage)
        end_tick = _seconds_to_tick(midi, render_s)
        jobs = {}
        for stem, channels in groups.items():
            if channels:
                stem_mid = tmp / f"{path.stem}.{stem}.mid"
                _stem_midi(midi, channels, end_tick).save(stem_mid)
                jobs[stem] = (stem_mid, tmp / f"{path.stem}.{stem}.wav")
        logger.info("Rendering %s (%d stems, first %.0f s)", path.name, len(jobs), render_s)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: _fluidsynth(soundfont, *job), jobs.values()))
        audio = {stem: sf.read(wav, dtype="float32", always_2d=True)[0] for stem, (_, wav) in jobs.items()}
        length = min(len(a) for a in audio.values())
        stems = {stem: audio[stem][:length] if stem in audio else None for stem in STEMS}
        source_file = f"{BLUPI_DIR}/{path.name}"
        mix = sum(a[:length] for a in audio.values())
        game_sources.append(_ClipSource(BLUPI, source_file, length / MUSDB_SR, partial(_slice, mix, MUSDB_SR), True))
        yield _Song(
            name=f"Planet Blupi - Music {path.stem[-3:]}",
            package=BLUPI,
            source_files=[source_file],
            stems=stems,
            stem_sources={stem: _describe_channels(groups[stem], programs) for stem in STEMS},
            rendered=True,
        )


def _channel_stats(midi: mido.MidiFile, seconds: float) -> tuple:
    """Per channel, over the first ``seconds``: first GM program, note pitches, sounding ``FRAME_S`` frames."""
    programs, pitches, frames, held, now = {}, defaultdict(list), defaultdict(set), {}, 0.0
    for msg in midi:  # playback order, msg.time in seconds
        now += msg.time
        if now >= seconds:
            break
        if msg.type == "program_change":
            programs.setdefault(msg.channel, msg.program)
        elif msg.type == "note_on" and msg.velocity > 0:
            pitches[msg.channel].append(msg.note)
            held.setdefault((msg.channel, msg.note), now)
        elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in held:
            start = held.pop((msg.channel, msg.note))
            frames[msg.channel].update(range(int(start / FRAME_S), int(now / FRAME_S) + 1))
    return programs, pitches, {ch: len(frames[ch]) for ch in pitches}


def _split_channels(programs: dict, pitches: dict, coverage: dict) -> dict:
    """Assign channels to stems: drums (channel 10), bass (programs 32-39), vocals (the lead), other.

    The lead is the choir/voice channel sounding longest if any, else the highest-pitched
    (median) of the melodic non-bass channels sounding at least half as long as the most active.
    """
    melodic = sorted(ch for ch in pitches if ch != DRUM_CHANNEL)
    bass = {ch for ch in melodic if programs.get(ch, 0) in BASS_PROGRAMS}
    rest = [ch for ch in melodic if ch not in bass]
    voices = [ch for ch in rest if programs.get(ch, 0) in VOICE_PROGRAMS]
    vocals = set()
    if voices:
        vocals = {max(voices, key=coverage.get)}
    elif rest:
        most = max(coverage[ch] for ch in rest)
        candidates = [ch for ch in rest if coverage[ch] >= most / 2]
        vocals = {max(candidates, key=lambda ch: (statistics.median(pitches[ch]), coverage[ch]))}
    return {
        "drums": {DRUM_CHANNEL} & set(pitches),
        "bass": bass,
        "other": set(rest) - vocals,
        "vocals": vocals,
    }


def _describe_channels(channels: set, programs: dict) -> str:
    """Human-readable origin of a rendered stem for the manifest."""
    if not channels:
        return "none (no such part)"
    return "MIDI " + ", ".join(
        f"channel {ch + 1}" + (" (drum kit)" if ch == DRUM_CHANNEL else f" (GM program {programs.get(ch, 0)})")
        for ch in sorted(channels)
    )


def _seconds_to_tick(midi: mido.MidiFile, seconds: float) -> int:
    """Absolute tick reached after ``seconds`` of playback (honours all tempo changes)."""
    tempos = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
    tick, elapsed, tempo = 0, 0.0, 500000
    for change_tick, change_tempo in sorted(tempos):
        span = mido.tick2second(change_tick - tick, midi.ticks_per_beat, tempo)
        if elapsed + span >= seconds:
            break
        tick, elapsed, tempo = change_tick, elapsed + span, change_tempo
    return tick + round(mido.second2tick(seconds - elapsed, midi.ticks_per_beat, tempo))


def _stem_midi(midi: mido.MidiFile, channels: set, end_tick: int) -> mido.MidiFile:
    """Copy of ``midi`` before ``end_tick`` keeping meta/sysex events and only ``channels``' messages.

    Every kept channel gets "all sound off" at ``end_tick``: fluidsynth renders until all
    voices are silent, so a sustained note cut by the truncation would never end.
    """
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for index, track in enumerate(midi.tracks):
        kept, tick, last = mido.MidiTrack(), 0, 0
        for msg in track:
            tick += msg.time
            if tick >= end_tick:
                break
            if msg.type == "end_of_track" or getattr(msg, "channel", None) not in (None, *channels):
                continue
            kept.append(msg.copy(time=tick - last))
            last = tick
        if index == 0:  # the conductor track
            for ch in sorted(channels):
                kept.append(mido.Message("control_change", channel=ch, control=120, time=end_tick - last))
                last = end_tick
        kept.append(mido.MetaMessage("end_of_track", time=end_tick - last))
        out.tracks.append(kept)
    return out


def _fluidsynth(soundfont: str, midi_path: Path, wav_path: Path) -> None:
    _run(
        ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(MUSDB_SR), "-F", str(wav_path), soundfont, str(midi_path)],
        f"fluidsynth failed to render {midi_path.name} with {soundfont}.",
        timeout=FLUIDSYNTH_TIMEOUT_S,
    )


def _real_songs(root: Path) -> Iterator[_Song]:
    """The Muldjord recordings: guitar.ogg as ``other``, song.ogg (band backing) as ``drums``."""
    for song_dir in _fof_song_dirs(root):
        ini = configparser.ConfigParser(interpolation=None)
        ini.read(song_dir / "song.ini")
        backing, sr = _read_mix([song_dir / "song.ogg"])
        guitar, _ = _read_mix([song_dir / "guitar.ogg"])
        if sr != MUSDB_SR:
            raise RuntimeError(f"{song_dir}/song.ogg is {sr} Hz, expected {MUSDB_SR} Hz.")
        length = min(len(backing), len(guitar))
        rel = f"{FOF_DIR}/{song_dir.name}"
        yield _Song(
            name=f"Muldjord - {ini['song']['name']}",
            package=FOF,
            source_files=[f"{rel}/song.ogg", f"{rel}/guitar.ogg"],
            stems={"drums": backing[:length], "bass": None, "other": guitar[:length], "vocals": None},
            stem_sources=REAL_STEM_SOURCES,
            rendered=False,
        )


def _fof_song_dirs(root: Path) -> list:
    return sorted(p for p in (root / FOF_DIR).iterdir() if p.is_dir())


def _fof_clip_sources(root: Path) -> list:
    sources = []
    for song_dir in _fof_song_dirs(root):
        files = [song_dir / "song.ogg", song_dir / "guitar.ogg"]
        sources.append(_ClipSource(FOF, f"{FOF_DIR}/{song_dir.name}/{{song,guitar}}.ogg",
                                   sf.info(files[0]).duration, partial(_read_mix, files), False))
    return sources


def _singularity_clip_sources(root: Path) -> list:
    base = root / SINGULARITY_DIR
    return [
        _ClipSource(SINGULARITY, f"{SINGULARITY_DIR}/{path.relative_to(base)}", sf.info(path).duration,
                    partial(_read_mix, [path]), False)
        for path in sorted(base.rglob("*.ogg"))
    ]


def _read_mix(paths: list, start_s: float = 0.0, seconds: Optional[float] = None) -> tuple:
    """Sum of the audio files ``paths`` (float32, (samples, channels)), optionally only a region."""
    sr = sf.info(paths[0]).samplerate
    frames = -1 if seconds is None else round(seconds * sr)
    arrays = [sf.read(p, start=round(start_s * sr), frames=frames, dtype="float32", always_2d=True)[0] for p in paths]
    length = min(len(a) for a in arrays)
    return sum(a[:length] for a in arrays), sr


def _slice(audio: np.ndarray, sr: int, start_s: float, seconds: float) -> tuple:
    start = round(start_s * sr)
    return audio[start:start + round(seconds * sr)], sr


# --------------------------------------------------------------------------- MUSDB


def _export_songs(musdb_dir: Path, songs: Iterator[_Song], limit: Optional[int], track_s: float) -> list:
    """Write excerpts of ``songs`` to ``musdb_dir/train`` until ``limit`` tracks; return manifest entries."""
    tracks = []
    for song in songs:
        missing = [stem for stem in STEMS if song.stems[stem] is None]
        if song.rendered and missing:
            logger.info("Skipping %s: it has no %s part (in the rendered part).", song.name, " or ".join(missing))
            continue
        start = _find_window([s for s in song.stems.values() if s is not None], track_s)
        if start is None:
            logger.info("Skipping %s: no %.0f s window where every stem plays most of the time.", song.name, track_s)
            continue
        stems = _excerpt_stems(song, start, round(track_s * MUSDB_SR))
        track_dir = musdb_dir / "train" / song.name
        track_dir.mkdir(parents=True, exist_ok=True)
        for stem, audio in stems.items():
            sf.write(track_dir / f"{stem}.wav", audio, MUSDB_SR, subtype="PCM_16")
        tracks.append({
            "name": song.name,
            "subset": "train",
            "source_package": song.package,
            "licence": LICENCES[song.package],
            "source_files": song.source_files,
            "start_s": start / MUSDB_SR,
            "duration_s": track_s,
            "sample_rate": MUSDB_SR,
            "channels": 2,
            "rendered": song.rendered,
            "stems": song.stem_sources,
        })
        logger.info("MUSDB track %s: excerpt from %.1f s", song.name, start / MUSDB_SR)
        if limit is not None and len(tracks) == limit:
            break
    return tracks


def _frame_rms(audio: np.ndarray, sr: int) -> np.ndarray:
    hop = round(FRAME_S * sr)
    frames = len(audio) // hop
    return np.sqrt(np.mean(np.square(audio[:frames * hop].reshape(frames, -1)), axis=1))


def _active(audio: np.ndarray) -> np.ndarray:
    """Boolean activity per ``FRAME_S`` frame (within 30 dB of the loud level and above -60 dBFS)."""
    rms = _frame_rms(audio, MUSDB_SR)
    return rms > max(ACTIVE_FLOOR, np.percentile(rms, 95) * 10 ** (ACTIVE_REL_DB / 20))


def _find_window(stems: list, seconds: float) -> Optional[int]:
    """Start sample of the window whose least active stem is most active (earliest on ties).

    None if even there some stem is active in less than ``MIN_ACTIVE`` of the frames.
    """
    masks = np.stack([_active(s) for s in stems])
    width = round(seconds / FRAME_S)
    if masks.shape[1] < width:
        return None
    counts = np.concatenate([np.zeros((len(stems), 1)), np.cumsum(masks, axis=1)], axis=1)
    least = (counts[:, width:] - counts[:, :-width]).min(axis=0) / width
    best = int(np.argmax(least))
    return best * round(FRAME_S * MUSDB_SR) if least[best] >= MIN_ACTIVE else None


def _excerpt_stems(song: _Song, start: int, length: int) -> dict:
    """16-bit excerpt of every stem plus ``mixture`` = their exact sum, jointly scaled to peak <= 0.99.

    Rendered stems are first levelled to the same RMS over their active frames; recorded
    stems keep their original balance.
    """
    stems = {}
    for stem in STEMS:
        audio = song.stems[stem]
        if audio is None:
            stems[stem] = np.zeros((length, 2), np.float32)
            continue
        audio = audio[start:start + length]
        if song.rendered:
            rms = _frame_rms(audio, MUSDB_SR)
            audio = audio * (STEM_RMS / np.sqrt(np.mean(np.square(rms[_active(audio)]))))
        stems[stem] = audio
    mix = sum(stems.values())
    gain = PEAK / max(np.abs(a).max() for a in (mix, *stems.values()))
    stems = {stem: np.round(a * min(gain, 1.0) * 32767).astype(np.int16) for stem, a in stems.items()}
    mixture = sum(a.astype(np.int32) for a in stems.values()).astype(np.int16)
    return {"mixture": mixture, **stems}


def _finish_musdb(musdb_dir: Path, tracks: list) -> dict:
    """Move each source's last track to ``test``, pick validation tracks, write the manifest.

    Per source package the last track goes to ``test`` and, for sources with at least three
    tracks, the second-to-last stays in ``train`` as a validation track.
    """
    validation = []
    for package in dict.fromkeys(t["source_package"] for t in tracks):
        group = [t for t in tracks if t["source_package"] == package]
        group[-1]["subset"] = "test"
        if len(group) >= 3:
            validation.append(group[-2]["name"])
    (musdb_dir / "test").mkdir(parents=True, exist_ok=True)
    for track in tracks:
        if track["subset"] == "test":
            os.replace(musdb_dir / "train" / track["name"], musdb_dir / "test" / track["name"])
    manifest = {"layout": "musdb18hq", "sample_rate": MUSDB_SR, "validation_tracks": validation, "tracks": tracks}
    _write_json(musdb_dir / "manifest.json", manifest)
    return manifest


# --------------------------------------------------------------------------- GTZAN


def _build_gtzan(gtzan_dir: Path, sources: dict, clips_per_genre: int) -> dict:
    """Write ``clips_per_genre`` 30 s clips per genre and the GTZAN manifest.

    Splits go by source file so no song is in two splits: per genre, the clips of the last
    source used are ``test``, those of the second-to-last (with >= 3 sources) ``valid``.
    """
    clips, splits = [], {"train": [], "valid": [], "test": []}
    for genre in sorted(sources):
        genre_dir = gtzan_dir / "genres" / genre
        genre_dir.mkdir(parents=True, exist_ok=True)
        picked = _pick_clips(sources[genre], clips_per_genre)
        if len(picked) < clips_per_genre:
            logger.warning("Only %d of %d clips found for genre %s.", len(picked), clips_per_genre, genre)
        used = list(dict.fromkeys(source.file for source, _, _ in picked))
        split_of = dict.fromkeys(used, "train")
        if used:
            split_of[used[-1]] = "test"
        if len(used) >= 3:
            split_of[used[-2]] = "valid"
        for index, (source, start_s, audio) in enumerate(picked):
            name = f"{genre}.{index:05d}"
            sf.write(genre_dir / f"{name}.wav", audio, GTZAN_SR, subtype="PCM_16")
            splits[split_of[source.file]].append(name)
            clips.append({
                "file": f"genres/{genre}/{name}.wav",
                "genre": genre,
                "split": split_of[source.file],
                "source_package": source.package,
                "licence": LICENCES[source.package],
                "source_file": source.file,
                "start_s": start_s,
                "duration_s": CLIP_S,
                "sample_rate": GTZAN_SR,
                "channels": 1,
                "rendered": source.rendered,
            })
    manifest = {
        "layout": "gtzan", "sample_rate": GTZAN_SR, "genres": sorted(sources), "splits": splits, "clips": clips,
    }
    _write_json(gtzan_dir / "manifest.json", manifest)
    return manifest


def _pick_clips(sources: list, count: int) -> list:
    """Round-robin over ``sources``: the k-th 30 s slot (10 s + k * 30 s) of each, skipping near-silent ones."""
    slots = [int((s.duration_s - CLIP_OFFSET_S) // CLIP_S) for s in sources]
    picked = []
    for k in range(max(slots, default=0)):
        for source, n_slots in zip(sources, slots):
            if k >= n_slots:
                continue
            start_s = CLIP_OFFSET_S + k * CLIP_S
            audio = _to_gtzan(*source.read(start_s, CLIP_S))
            if np.sqrt(np.mean(np.square(audio))) < SILENT_CLIP_RMS:
                logger.info("Skipping near-silent clip %s at %.0f s", source.file, start_s)
                continue
            picked.append((source, start_s, audio))
            if len(picked) == count:
                return picked
    return picked


def _to_gtzan(audio: np.ndarray, sr: int) -> np.ndarray:
    """Downmix to mono, resample to 22.05 kHz, fix the length to 30 s and keep the peak <= 0.99."""
    mono = torch.from_numpy(np.ascontiguousarray(audio.mean(axis=1)))
    mono = AF.resample(mono, sr, GTZAN_SR).numpy()
    length = round(CLIP_S * GTZAN_SR)
    mono = np.pad(mono[:length], (0, max(0, length - len(mono))))
    return mono * min(1.0, PEAK / max(np.abs(mono).max(), 1e-9))


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
