"""GTZAN layout: 30 s mono 22.05 kHz clips per genre, split by source file."""

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from .common import CLIP_OFFSET_S, CLIP_S, GTZAN_SR, PEAK, SILENT_CLIP_RMS, write_json
from .sources import LICENCES

logger = logging.getLogger(__name__)


def build_gtzan(gtzan_dir: Path, sources: dict, clips_per_genre: int) -> dict:
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
    write_json(gtzan_dir / "manifest.json", manifest)
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
