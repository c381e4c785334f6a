"""MUSDB18-HQ layout: tracks whose stems all play, ``mixture`` = exact sum of the stems, split by work.

Each track is one :class:`TrackJob`; its result (manifest entry, or why it was skipped) and the rules it was made
with are kept in ``musdb/.state/<name>.json`` once its folder is complete, so an interrupted build resumes where it
stopped (and a track made under other rules is redone).
"""

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from .common import FRAME_S, MIN_ACTIVE, MUSDB_SR, PEAK, STEM_RMS, STEMS, active_frames, frame_rms, write_json
from .sources import ScanReport, Song

logger = logging.getLogger(__name__)


@dataclass
class TrackJob:
    """One MUSDB track to write.

    Args:
        name (`str`): the track folder name (``Artist - Title``).
        split (`str`): its work's split (``train``, ``valid`` or ``test``; ``valid`` tracks live in ``train``).
        make_song (`Callable[[], Song]`): renders or reads the stems (only called if the track is not done yet).
        track_s (`float`, *optional*): excerpt length; None keeps the whole song from its start.
        allow_missing (`bool`): keep a rendered song lacking up to two parts (their stems are silent).
        shorter_s (`tuple`): shorter excerpt lengths tried, in order, when no ``track_s`` window has every stem
            playing (songs that hand the melody from instrument to instrument).
        extra (`dict`): more fields for the manifest entry (the SoundFont of a render).
    """

    name: str
    split: str
    make_song: Callable
    track_s: Optional[float]
    allow_missing: bool = False
    shorter_s: tuple = ()
    extra: Optional[dict] = None


def export_tracks(musdb_dir: Path, jobs: list, limit: Optional[int], report: ScanReport) -> list:
    """Write ``jobs`` (in order, until ``limit`` tracks are kept) under ``musdb_dir``; return the manifest entries."""
    tracks = []
    state_dir = musdb_dir / ".state"
    for job in tqdm(jobs, desc="MUSDB tracks", unit="track"):
        state = state_dir / f"{job.name}.json"
        subset = "test" if job.split == "test" else "train"
        rules = {"track_s": job.track_s, "shorter_s": list(job.shorter_s), "allow_missing": job.allow_missing,
                 "split": job.split}
        saved = json.loads(state.read_text()) if state.is_file() else {}
        if saved.get("rules") == rules and ("skipped" in saved["result"]
                                            or (musdb_dir / subset / job.name / "mixture.wav").is_file()):
            result = saved["result"]
        else:
            try:
                song = job.make_song()
            except (RuntimeError, OSError, sf.LibsndfileError) as exc:
                report.skip("corrupt", "musdb", f"{job.name} ({exc})")
                continue  # not recorded: retried on the next build
            result = _export(musdb_dir / subset, song, job)
            write_json(state, {"rules": rules, "result": result})
        if "skipped" in result:
            logger.info("Skipping MUSDB track %s: %s", job.name, result["skipped"])
            continue
        tracks.append(result)
        if limit is not None and len(tracks) == limit:
            break
    return tracks


def _export(subset_dir: Path, song: Song, job: TrackJob) -> dict:
    missing = [stem for stem in STEMS if song.stems[stem] is None]
    if song.rendered and missing and (not job.allow_missing or len(missing) > 2):
        return {"skipped": f"it has no {' or '.join(missing)} part (in the rendered part)"}
    present = [s for s in song.stems.values() if s is not None]
    if job.track_s is None:
        start, length = 0, min(len(s) for s in present)
    else:
        for seconds in (job.track_s, *job.shorter_s):
            start, length = _find_window(present, seconds), round(seconds * MUSDB_SR)
            if start is not None:
                break
        else:
            return {"skipped": f"no {seconds:.0f} s window where every stem plays most of the time"}
    stems = _excerpt_stems(song, start, length)
    partial = subset_dir / f".partial-{job.name}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for stem, audio in stems.items():
        sf.write(partial / f"{stem}.wav", audio, MUSDB_SR, subtype="PCM_16")
    shutil.rmtree(subset_dir / job.name, ignore_errors=True)
    partial.rename(subset_dir / job.name)
    logger.info("MUSDB track %s: %.1f s from %.1f s", job.name, length / MUSDB_SR, start / MUSDB_SR)
    return {
        "name": job.name,
        "subset": subset_dir.name,
        "split": job.split,
        "work": song.work,
        "source_package": song.package,
        "licence": song.licence,
        "source_files": song.source_files,
        "start_s": start / MUSDB_SR,
        "duration_s": length / MUSDB_SR,
        "sample_rate": MUSDB_SR,
        "channels": 2,
        "rendered": song.rendered,
        **(job.extra or {}),
        "stems": song.stem_sources,
        "silent_stems": missing,
    }


def _find_window(stems: list, seconds: float) -> Optional[int]:
    """Start sample of the window whose least active stem is most active (earliest on ties).

    None if even there some stem is active in less than ``MIN_ACTIVE`` of the frames.
    """
    masks = np.stack([active_frames(s) for s in stems])
    width = round(seconds / FRAME_S)
    if masks.shape[1] < width:
        return None
    counts = np.concatenate([np.zeros((len(stems), 1)), np.cumsum(masks, axis=1)], axis=1)
    least = (counts[:, width:] - counts[:, :-width]).min(axis=0) / width
    best = int(np.argmax(least))
    return best * round(FRAME_S * MUSDB_SR) if least[best] >= MIN_ACTIVE else None


def _excerpt_stems(song: Song, start: int, length: int) -> dict:
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
            rms = frame_rms(audio, MUSDB_SR)
            audio = audio * (STEM_RMS / np.sqrt(np.mean(np.square(rms[active_frames(audio)]))))
        stems[stem] = audio
    mix = sum(stems.values())
    gain = PEAK / max(np.abs(a).max() for a in (mix, *stems.values()))
    stems = {stem: np.round(a * min(gain, 1.0) * 32767).astype(np.int16) for stem, a in stems.items()}
    mixture = sum(a.astype(np.int32) for a in stems.values()).astype(np.int16)
    return {"mixture": mixture, **stems}


def finish_musdb(musdb_dir: Path, tracks: list) -> dict:
    """Write the MUSDB manifest; tracks of ``valid`` works are the validation tracks."""
    for subset in ("train", "test"):
        (musdb_dir / subset).mkdir(parents=True, exist_ok=True)
        planned = {t["name"] for t in tracks if t["subset"] == subset}
        for stale in sorted(p for p in (musdb_dir / subset).iterdir() if p.name not in planned):
            logger.info("Removing %s: not part of this build", stale)  # earlier rules, or an interrupted write
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    validation = [t["name"] for t in tracks if t["split"] == "valid"]
    manifest = {
        "layout": "musdb18hq",
        "sample_rate": MUSDB_SR,
        "validation_tracks": validation,
        "duration_s": {s: sum(t["duration_s"] for t in tracks if t["subset"] == s) for s in ("train", "test")},
        "tracks": tracks,
    }
    write_json(musdb_dir / "manifest.json", manifest)
    return manifest
