"""Compare two sets of spectrogram images (e.g. an encoding and a re-encoding of its decoded or generated audio):
per-slice PSNR on the 16-bit scale and their average, side-by-side pictures (original | reconstructed |
difference x 50), and the same comparison in the audio domain (SNR, spectral convergence).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from ..audio.spectrogram_images import MAX_16BIT, SpectrogramImage, _gather, images_to_audio
from . import metrics

ImageSet = Union[str, Path, Sequence[Union[str, Path, SpectrogramImage]]]
DIFFERENCE_GAIN = 50.0


def psnr_16bit(reference: np.ndarray, estimate: np.ndarray) -> float:
    """PSNR in dB of two same-shaped images on the 16-bit scale (peak 65535); ``math.inf`` when identical."""
    reference, estimate = np.asarray(reference), np.asarray(estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"images differ in shape: {reference.shape} vs {estimate.shape}; compare images encoded "
                         "with the same settings (same size)")
    mse = float(np.mean((reference.astype(np.float64) - estimate.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(MAX_16BIT**2 / mse)


@dataclass
class ImageComparison:
    """``slices``: one ``{"channel", "slice", "psnr"}`` per slice pair. ``average_psnr``: the PSNR of the mean
    squared error over all slices (each slice weighs the same), so it is infinite only when every slice is
    identical. ``snr_db`` / ``spectral_convergence_db``: the decoded audio of both sets (``None`` if not asked)."""

    slices: list = field(default_factory=list)
    average_psnr: float = math.inf
    snr_db: Optional[float] = None
    spectral_convergence_db: Optional[float] = None

    def to_dict(self) -> dict:
        return asdict(self)

    def report(self) -> str:
        lines = ["channel slice   PSNR (dB, 16-bit)"]
        lines += [f"{row['channel']:7d} {row['slice']:5d}   {row['psnr']:8.2f}" for row in self.slices]
        lines.append(f"average PSNR {self.average_psnr:.2f} dB over {len(self.slices)} slices")
        if self.snr_db is not None:
            lines.append(f"audio: SNR {self.snr_db:.2f} dB, "
                         f"spectral convergence {self.spectral_convergence_db:.2f} dB")
        return "\n".join(lines)


def _pairs(reference: ImageSet, estimate: ImageSet, track: Optional[str]) -> list:
    def by_key(images, which):
        images = _gather(images)
        tracks = sorted({image.metadata["track"] for image in images})
        chosen = track if track is not None else (tracks[0] if len(tracks) == 1 else None)
        if chosen is None:
            raise ValueError(f"the {which} images hold {len(tracks)} tracks {tracks}; pass track=...")
        return {(i.metadata["channel"], i.metadata["slice"]): i for i in images if i.metadata["track"] == chosen}

    ref, est = by_key(reference, "reference"), by_key(estimate, "estimate")
    if set(ref) != set(est):
        raise ValueError(f"the image sets cover different (channel, slice) pairs: only in reference "
                         f"{sorted(set(ref) - set(est))}, only in estimate {sorted(set(est) - set(ref))}")
    return [(key, ref[key], est[key]) for key in sorted(ref)]


def compare_spectrogram_images(reference: ImageSet, estimate: ImageSet, track: Optional[str] = None,
                               audio: bool = True) -> ImageComparison:
    """Per-slice PSNR of two image sets (folders or lists), paired by ``(channel, slice)`` from the metadata;
    with ``audio`` also decode both and compare the waveforms (SNR, spectral convergence)."""
    pairs = _pairs(reference, estimate, track)
    rows, errors = [], []
    for (channel, index), ref, est in pairs:
        rows.append({"channel": channel, "slice": index, "psnr": psnr_16bit(ref.pixels, est.pixels)})
        errors.append(MAX_16BIT**2 / 10 ** (rows[-1]["psnr"] / 10) if math.isfinite(rows[-1]["psnr"]) else 0.0)
    mean_error = float(np.mean(errors))
    comparison = ImageComparison(rows, math.inf if mean_error == 0 else 10 * math.log10(MAX_16BIT**2 / mean_error))
    if audio:
        ref_audio, rate = images_to_audio([ref for _, ref, _ in pairs])
        est_audio, _ = images_to_audio([est for _, _, est in pairs])
        length = min(ref_audio.shape[-1], est_audio.shape[-1])
        meta = pairs[0][1].metadata
        comparison.snr_db = float(metrics.snr_db(ref_audio[..., :length], est_audio[..., :length], dim=None))
        comparison.spectral_convergence_db = metrics.audio_spectral_convergence_db(
            ref_audio[..., :length], est_audio[..., :length], rate, meta["n_fft"], meta["hop_length"])
    return comparison


def save_comparison_pictures(output_dir: Union[str, Path], reference: ImageSet, estimate: ImageSet,
                             track: Optional[str] = None) -> list[Path]:
    """One PNG per slice: original | reconstructed | |difference| x 50 (RGB shown at 8 bits), PSNR in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for (channel, index), ref, est in _pairs(reference, estimate, track):
        a, b = ref.pixels.astype(np.float64) / MAX_16BIT, est.pixels.astype(np.float64) / MAX_16BIT
        panels = {"original": a, "reconstructed": b,
                  f"|difference| x {DIFFERENCE_GAIN:g}": np.clip(np.abs(a - b) * DIFFERENCE_GAIN, 0, 1)}
        figure, axes = plt.subplots(1, 3, figsize=(15, 5.4))
        for axis, (title, image) in zip(axes, panels.items()):
            axis.imshow(image, interpolation="nearest")
            axis.set(title=title, xticks=[], yticks=[])
        psnr = psnr_16bit(ref.pixels, est.pixels)
        figure.suptitle(f"{ref.metadata['track']} channel {channel} slice {index}: PSNR {psnr:.2f} dB "
                        "(R = magnitude dB, G/B = phase cos/sin)")
        figure.tight_layout()
        path = output_dir / f"compare_ch{channel}_{index:03d}.png"
        figure.savefig(path, dpi=80)
        plt.close(figure)
        paths.append(path)
    return paths
