"""MUSDB18-HQ layout: excerpts where every stem plays, ``mixture`` = exact sum of the stems, train/test split."""

import logging
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import soundfile as sf

from .common import FRAME_S, MIN_ACTIVE, MUSDB_SR, PEAK, STEM_RMS, STEMS, active_frames, frame_rms, write_json
from .sources import LICENCES, Song

logger = logging.getLogger(__name__)


def export_songs(musdb_dir: Path, songs: Iterator[Song], limit: Optional[int], track_s: float) -> list:
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
    write_json(musdb_dir / "manifest.json", manifest)
    return manifest
