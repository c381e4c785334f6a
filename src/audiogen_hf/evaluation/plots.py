"""Pictures for reports: spectrograms with time and frequency axes (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import torch


def save_spectrogram_image(
    path: Union[str, Path],
    spectrograms: Union[torch.Tensor, Sequence[torch.Tensor]],
    sampling_rate: int,
    hop_length: int,
    titles: Union[str, Sequence[str]] = "",
    ylabel: str = "bin",
) -> Path:
    """Save one or more ``[bins, frames]`` spectrograms (already log-scaled) stacked vertically as a PNG."""
    plt = _pyplot()
    if torch.is_tensor(spectrograms):
        spectrograms = [spectrograms]
    titles = [titles] if isinstance(titles, str) else list(titles)
    titles += [""] * (len(spectrograms) - len(titles))
    figure, axes = plt.subplots(len(spectrograms), 1, figsize=(10, 3.2 * len(spectrograms)), squeeze=False)
    for axis, spec, title in zip(axes[:, 0], spectrograms, titles):
        spec = spec.detach().cpu().float()
        if spec.dim() != 2:
            raise ValueError(f"expected a [bins, frames] spectrogram, got shape {tuple(spec.shape)}")
        extent = (0, spec.shape[1] * hop_length / sampling_rate, 0, spec.shape[0])
        image = axis.imshow(spec.numpy(), origin="lower", aspect="auto", extent=extent, cmap="magma")
        axis.set(title=title, xlabel="time (s)", ylabel=ylabel)
        figure.colorbar(image, ax=axis)
    return _save(figure, path)


def save_training_curves(path: Union[str, Path], history: Sequence[dict]) -> Path:
    """Plot every logged scalar against ``step``: one panel for ``train/*`` and one for ``valid/*`` (log y).

    ``history``: records like ``{"step": 10, "train/loss": 0.3}`` or ``{"step": 50, "valid/mse": 0.1, ...}``.
    """
    plt = _pyplot()
    panels = {"train": {}, "valid": {}}
    for record in history:
        for key, value in record.items():
            group, _, name = key.partition("/")
            if group in panels and name != "lr" and value is not None and value > 0:
                panels[group].setdefault(name, []).append((record["step"], value))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), squeeze=False)
    for axis, (group, curves) in zip(axes[0], panels.items()):
        for name, points in sorted(curves.items()):
            steps, values = zip(*points)
            axis.plot(steps, values, marker="o" if group == "valid" else None, label=name)
        axis.set(title=group, xlabel="step", yscale="log" if curves else "linear")
        if curves:
            axis.legend()
    return _save(figure, path)


def _pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Union[str, Path]) -> Path:
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    _pyplot().close(figure)
    return path
