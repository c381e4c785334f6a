"""General MIDI songs rendered stem by stem with fluidsynth (drums, bass, the lead as "vocals", the rest)."""

import logging
import shutil
import statistics
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import Optional

import mido
import numpy as np
import soundfile as sf

from .common import (
    BASS_PROGRAMS,
    DRUM_CHANNEL,
    FLUIDSYNTH_TIMEOUT_S,
    FRAME_S,
    MUSDB_SR,
    STEMS,
    VOICE_PROGRAMS,
    run_tool,
)
from .debian import package_licence
from .sources import BLUPI, BLUPI_DIR, Recording, Song, work_id

logger = logging.getLogger(__name__)


def check_tools(soundfont: str, soundfont_package: Optional[str]) -> None:
    """Fail early on a missing fluidsynth binary or SoundFont (``soundfont_package``: its Debian package)."""
    if shutil.which("fluidsynth") is None:
        raise RuntimeError(
            "fluidsynth binary not found: install it with `apt-get install fluidsynth` (or `make setup`)."
        )
    if not Path(soundfont).is_file():
        hint = (f"install the Debian package {soundfont_package} (`apt-get install {soundfont_package}`) or pass "
                "--soundfont PATH" if soundfont_package else "check the --soundfont path")
        raise FileNotFoundError(f"SoundFont not found at {soundfont}: {hint}.")


def render_song(path: Path, soundfont: str, render_s: float, tmp: Path, package: str, work: str,
                name: str, keep_mix: bool = False) -> Song:
    """Render the first ``render_s`` of General MIDI file ``path``: one fluidsynth pass per stem's channels.

    ``keep_mix``: remember the sum of the stems for a later :func:`rendered_mix` of the same file (no re-render).
    """
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
    logger.info("Rendering %s with %s (%d stems, first %.0f s)", path.name, Path(soundfont).name, len(jobs), render_s)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: _fluidsynth(soundfont, *job), jobs.values()))
    audio = {stem: sf.read(wav, dtype="float32", always_2d=True)[0] for stem, (_, wav) in jobs.items()}
    length = min(len(a) for a in audio.values())
    if keep_mix:
        _MIXES[(str(path), soundfont, render_s)] = sum(a[:length] for a in audio.values())
    return Song(
        name=name,
        package=package,
        work=work,
        source_files=[f"{BLUPI_DIR}/{path.name}"],
        stems={stem: audio[stem][:length] if stem in audio else None for stem in STEMS},
        stem_sources={stem: _describe_channels(groups[stem], programs) for stem in STEMS},
        rendered=True,
    )


def rendered_mix(path: Path, soundfont: str, render_s: float, start_s: float = 0.0,
                 seconds: Optional[float] = None) -> tuple:
    """The sum of ``path``'s rendered stems (as :func:`render_song`), cut to ``[start_s, start_s + seconds)``."""
    mix = _rendered_mix(str(path), soundfont, render_s)
    end = None if seconds is None else round((start_s + seconds) * MUSDB_SR)
    return mix[round(start_s * MUSDB_SR):end], MUSDB_SR


_MIXES = {}  # (path, soundfont, render_s) -> mix of a render_song(..., keep_mix=True) call


@lru_cache(maxsize=2)
def _rendered_mix(path: str, soundfont: str, render_s: float) -> np.ndarray:
    if (path, soundfont, render_s) in _MIXES:
        return _MIXES.pop((path, soundfont, render_s))
    with tempfile.TemporaryDirectory(prefix="corpus-render-") as tmp:
        song = render_song(Path(path), soundfont, render_s, Path(tmp), "", "", "")
    return sum(a for a in song.stems.values() if a is not None)


def midi_recordings(root: Path, soundfont: str, render_s: float) -> list:
    """Planet Blupi's MIDI songs as (rendered) recordings for the GTZAN ``game`` genre, rendered when first read."""
    recordings = []
    for path in sorted((root / BLUPI_DIR).glob("*.mid")):
        duration = min(render_s, mido.MidiFile(path).length)
        recordings.append(Recording(
            package=BLUPI, genre="game", work=work_id("planetblupi", path.stem), title=path.stem,
            source_files=[f"{BLUPI_DIR}/{path.name}"], licence=package_licence(root, BLUPI, path.name) or "GPL-3+",
            duration_s=duration, sample_rate=MUSDB_SR, channels=2,
            read=partial(rendered_mix, path, soundfont, render_s), rendered=True,
        ))
    return recordings


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
    run_tool(
        ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(MUSDB_SR), "-F", str(wav_path), soundfont, str(midi_path)],
        f"fluidsynth failed to render {midi_path.name} with {soundfont}.",
        timeout=FLUIDSYNTH_TIMEOUT_S,
    )
