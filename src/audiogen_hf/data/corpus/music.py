"""Plain ``music/{train,test}/`` folder: whole stereo 44.1 kHz recordings for models that need no stems (the codec).

Each split folder holds 16-bit FLAC files and a ``metadata.jsonl`` (``file_name``, title, genre, work, split,
source package, licence, ...), so ``datasets.load_dataset("audiofolder", data_dir=".../music")`` gives a
``train`` and a ``test`` split with those columns beside the ``audio`` one. Tracks of ``valid`` works sit in
``train`` with ``split: "valid"``. A file already on disk is kept, so an interrupted build resumes.
"""

import json
import logging
import os
import re
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from .common import MUSDB_SR, PEAK, resample, write_audio, write_json
from .sources import ScanReport, selection_order

logger = logging.getLogger(__name__)

MUSIC_SR = MUSDB_SR


def track_file_name(recording) -> str:
    """``<family>-<title>.flac`` in lowercase ASCII (unique: works are deduplicated per family)."""
    family, key = recording.work.split("/", 1)
    title = re.sub(r"[^a-z0-9]+", "_", recording.title.lower()).strip("_") or key
    return f"{family}-{title}.flac"


def build_music(music_dir: Path, recordings: list, splits: dict, report: ScanReport, limit: Optional[int] = None,
                start_s: float = 0.0, max_seconds: Optional[float] = None) -> dict:
    """Write ``recordings`` (stereo, >= 44.1 kHz; at most ``limit``) and the metadata; return the manifest.

    Each file holds ``[start_s, start_s + max_seconds)`` of its recording (``max_seconds=None``: to the end),
    resampled to 44.1 kHz and scaled down only if it would clip.
    """
    usable = []
    for r in recordings:
        if r.channels != 2:
            report.skip("not stereo (music/)", r.package, r.source_files[0])
        elif r.sample_rate < MUSIC_SR:
            report.skip(f"{r.sample_rate} Hz, below 44.1 kHz (music/)", r.package, r.source_files[0])
        else:
            usable.append(r)
    chosen = selection_order(usable, splits, first=("test",))[:limit]
    tracks = []
    for recording in tqdm(chosen, desc="music tracks", unit="track"):
        split = splits[recording.work]
        folder = "test" if split == "test" else "train"
        path = music_dir / folder / track_file_name(recording)
        if not path.is_file():
            try:
                audio, sr = recording.read(start_s, max_seconds)
                audio = resample(np.asarray(audio, np.float32), sr, MUSIC_SR)
            except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
                report.skip("corrupt", recording.package, f"{recording.source_files[0]} ({exc})")
                continue
            peak = float(np.abs(audio).max()) if audio.size else 0.0
            if peak < 1e-4:
                report.skip("silent", recording.package, recording.source_files[0])
                continue
            write_audio(path, audio * min(1.0, PEAK / peak), MUSIC_SR)
        tracks.append({
            "file_name": path.name,
            "subset": folder,
            "split": split,
            "title": recording.title,
            "genre": recording.genre,
            "work": recording.work,
            "source_package": recording.package,
            "licence": recording.licence,
            "source_files": "+".join(recording.source_files),
            "source_sample_rate": recording.sample_rate,
            "start_s": start_s,
            "duration_s": round(sf.info(path).duration, 3),
        })
    for folder in ("train", "test"):
        rows = [{k: v for k, v in t.items() if k != "subset"} for t in tracks if t["subset"] == folder]
        (music_dir / folder).mkdir(parents=True, exist_ok=True)
        planned = {row["file_name"] for row in rows}
        for stale in sorted((music_dir / folder).glob("*.flac")):  # from an earlier build under other rules
            if stale.name not in planned:
                logger.info("Removing %s: not part of this build", stale)
                stale.unlink()
        _write_jsonl(music_dir / folder / "metadata.jsonl", rows)
    manifest = {
        "layout": "audiofolder",
        "sample_rate": MUSIC_SR,
        "channels": 2,
        "format": "FLAC, 16-bit",
        "duration_s": {f: round(sum(t["duration_s"] for t in tracks if t["subset"] == f), 3)
                       for f in ("train", "test")},
        "tracks": tracks,
    }
    write_json(music_dir / "manifest.json", manifest)
    return manifest


def _write_jsonl(path: Path, rows: list) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
    os.replace(tmp, path)
