"""GTZAN layout: 30 s mono 22.05 kHz clips per genre (``genres/<genre>/<genre>.000NN.wav``), split by work.

Clips are taken round-robin over a genre's recordings (the k-th 30 s slot of each, from 10 s on), skipping
near-silent ones. A clip already on disk is kept as it is, so an interrupted build resumes where it stopped.
"""

import json
import logging
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from .common import CLIP_OFFSET_S, CLIP_S, GTZAN_SR, PEAK, SILENT_CLIP_RMS, resample, write_audio, write_json
from .sources import ScanReport, selection_order

logger = logging.getLogger(__name__)


def build_gtzan(gtzan_dir: Path, sources: dict, splits: dict, clips_per_genre: int, report: ScanReport) -> dict:
    """Write up to ``clips_per_genre`` clips per genre of ``sources`` (``{genre: [Recording]}``) and the manifest.

    A clip's split is its recording's work split (``splits``), so no piece of music is in two splits.
    """
    clips, split_names = [], {"train": [], "valid": [], "test": []}
    for genre in sorted(sources):
        genre_dir = gtzan_dir / "genres" / genre
        genre_dir.mkdir(parents=True, exist_ok=True)
        recordings = selection_order(sources[genre], splits)
        state_path = gtzan_dir / ".state" / f"{genre}.json"
        made = json.loads(state_path.read_text()) if state_path.is_file() else {}
        picked = _pick_clips(genre_dir, genre, recordings, clips_per_genre, report, made)
        write_json(state_path, made)
        planned = {f"{name}.wav" for name, _, _ in picked}
        for stale in sorted(genre_dir.glob("*.wav")):  # from an earlier build under other rules
            if stale.name not in planned:
                stale.unlink()
        if len(picked) < clips_per_genre:
            logger.warning("Only %d of %d clips found for genre %s.", len(picked), clips_per_genre, genre)
        for name, recording, start_s in picked:
            split = splits[recording.work]
            split_names[split].append(name)
            clips.append({
                "file": f"genres/{genre}/{name}.wav",
                "genre": genre,
                "split": split,
                "work": recording.work,
                "source_package": recording.package,
                "licence": recording.licence,
                "source_file": "+".join(recording.source_files),
                "start_s": start_s,
                "duration_s": CLIP_S,
                "sample_rate": GTZAN_SR,
                "channels": 1,
                "rendered": recording.rendered,
            })
    manifest = {
        "layout": "gtzan",
        "sample_rate": GTZAN_SR,
        "genres": sorted(sources),
        "genre_sources": {g: sorted({r.package for r in rs}) for g, rs in sorted(sources.items())},
        "clips_per_genre": {g: sum(c["genre"] == g for c in clips) for g in sorted(sources)},
        "splits": split_names,
        "clips": clips,
    }
    write_json(gtzan_dir / "manifest.json", manifest)
    return manifest


def _pick_clips(genre_dir: Path, genre: str, recordings: list, count: int, report: ScanReport, made: dict) -> list:
    """``[(name, recording, start_s)]``: round-robin over the recordings' 30 s slots, near-silent ones skipped.

    ``made`` (``{name: "source@start"}``, updated) says what each clip on disk was cut from: a file is reused only
    if it was cut from the same place, so a build resumed under other rules never keeps a wrong clip.
    """
    slots = [int((r.duration_s - CLIP_OFFSET_S) // CLIP_S) for r in recordings]
    total = min(count, sum(slots))
    picked, broken = [], set()
    with tqdm(total=total, desc=f"GTZAN {genre}", unit="clip") as progress:
        for k in range(max(slots, default=0)):
            for index, (recording, n_slots) in enumerate(zip(recordings, slots)):
                if k >= n_slots or index in broken:
                    continue
                start_s = CLIP_OFFSET_S + k * CLIP_S
                name = f"{genre}.{len(picked):05d}"
                path = genre_dir / f"{name}.wav"
                origin = f"{'+'.join(recording.source_files)}@{start_s:g}"
                if not (path.is_file() and made.get(name) == origin):
                    try:
                        audio = _to_gtzan(*recording.read(start_s, CLIP_S))
                    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
                        report.skip("corrupt", recording.package, f"{recording.source_files[0]} ({exc})")
                        broken.add(index)
                        continue
                    if np.sqrt(np.mean(np.square(audio))) < SILENT_CLIP_RMS:
                        logger.info("Skipping near-silent clip %s at %.0f s", recording.source_files[0], start_s)
                        continue
                    write_audio(path, audio, GTZAN_SR)
                    made[name] = origin
                picked.append((name, recording, start_s))
                progress.update()
                if len(picked) == count:
                    return picked
    return picked


def _to_gtzan(audio: np.ndarray, sr: int) -> np.ndarray:
    """Downmix to mono, resample to 22.05 kHz, fix the length to 30 s and keep the peak <= 0.99."""
    mono = resample(audio.mean(axis=1, keepdims=True), sr, GTZAN_SR)[:, 0]
    length = round(CLIP_S * GTZAN_SR)
    mono = np.pad(mono[:length], (0, max(0, length - len(mono))))
    return mono * min(1.0, PEAK / max(np.abs(mono).max(), 1e-9))
