"""The library's metrics as Hugging Face ``evaluate`` modules, shipped with the package and loadable offline:

    from audiogen_hf.evaluation.hf_metrics import combine_metrics, load_metric, metric_path
    sc = evaluate.load(metric_path("spectral_convergence"))       # or load_metric("spectral_convergence")
    scores = combine_metrics(["spectral_convergence", "log_spectral_distance", "si_sdr"]).compute(
        predictions=[estimate_wave], references=[reference_wave], sampling_rate=22050)

Each module (``metric_modules/<name>/<name>.py``) is a thin ``evaluate.Metric`` whose ``_compute`` calls the
functions below, which call ``evaluation.metrics`` / ``evaluation.image_compare``: one implementation. Audio modules
take mono waveforms (one float sequence per example, same length per pair) and a ``sampling_rate``; each returns
the mean over examples. ``image_psnr`` takes paths of 16-bit spectrogram PNGs.
"""

import math
from pathlib import Path

import numpy as np
import torch

from ..audio.features import spectral_features
from ..audio.spectrogram import SpectrogramConverter
from . import metrics

METRIC_MODULES_DIR = Path(__file__).parent / "metric_modules"
N_FFT, HOP_LENGTH = 2048, 512
CITATION = "audiogen_hf (https://github.com/), metric functions in audiogen_hf.evaluation"
INPUTS = """
Args:
    predictions: list of mono waveforms (float sequences), the estimates.
    references: list of mono waveforms, the originals; each the same length as its prediction.
    sampling_rate: their rate in Hz (default 22050).
"""


def available_metrics() -> list[str]:
    return sorted(p.name for p in METRIC_MODULES_DIR.iterdir() if (p / f"{p.name}.py").is_file())


def metric_path(name: str) -> str:
    """The folder of a shipped module, for ``evaluate.load(path)`` (offline: nothing is downloaded)."""
    folder = METRIC_MODULES_DIR / name
    if not (folder / f"{name}.py").is_file():
        raise ValueError(f"unknown metric {name!r}; shipped: {available_metrics()}")
    return str(folder)


def load_metric(name: str, **kwargs):
    import evaluate

    return evaluate.load(metric_path(name), **kwargs)


def combine_metrics(names: list):
    """``evaluate.combine`` of shipped modules (``compute`` then takes the union of their keyword arguments)."""
    import evaluate

    return evaluate.combine([load_metric(name) for name in names], force_prefix=False)


def audio_info(metric, description: str):
    """``evaluate.MetricInfo`` for a module taking pairs of mono waveforms."""
    import datasets
    import evaluate

    sequence = datasets.Sequence(datasets.Value("float32"))
    return evaluate.MetricInfo(description=description, citation=CITATION, inputs_description=INPUTS,
                               features=datasets.Features({"predictions": sequence, "references": sequence}))


def _pairs(predictions, references):
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("no examples to score")
    for index, (estimate, reference) in enumerate(zip(predictions, references)):
        estimate, reference = torch.as_tensor(np.asarray(estimate, dtype=np.float32)), \
            torch.as_tensor(np.asarray(reference, dtype=np.float32))
        if estimate.shape != reference.shape:
            raise ValueError(f"example {index}: prediction has {estimate.shape[-1]} samples, reference "
                             f"{reference.shape[-1]}: trim or pad them to the same length")
        yield reference, estimate


def _stft_magnitude(audio: torch.Tensor, sampling_rate: int) -> torch.Tensor:
    converter = SpectrogramConverter(sampling_rate=sampling_rate, n_fft=N_FFT, hop_length=HOP_LENGTH, mode="linear")
    return converter.stft(audio.double()).abs()


def _mean(values) -> float:
    return float(np.mean(values))


def spectral_convergence(predictions, references, sampling_rate=None) -> dict:
    rate = sampling_rate or 22050
    return {"spectral_convergence_db": _mean([metrics.audio_spectral_convergence_db(r, e, rate, N_FFT, HOP_LENGTH)
                                              for r, e in _pairs(predictions, references)])}


def log_spectral_distance(predictions, references, sampling_rate=None) -> dict:
    rate = sampling_rate or 22050
    values = [float(metrics.log_spectral_distance(_stft_magnitude(r, rate).square(),
                                                  _stft_magnitude(e, rate).square()))
              for r, e in _pairs(predictions, references)]
    return {"log_spectral_distance": _mean(values)}


def snr(predictions, references, sampling_rate=None) -> dict:
    return {"snr_db": _mean([float(metrics.snr_db(r, e)) for r, e in _pairs(predictions, references)])}


def si_sdr(predictions, references, sampling_rate=None) -> dict:
    return {"si_sdr_db": _mean([float(metrics.si_sdr_db(r, e)) for r, e in _pairs(predictions, references)])}


def pesq(predictions, references, sampling_rate=None) -> dict:
    """Wide-band PESQ, NaN-averaged; ``pesq_undefined`` counts clips where PESQ finds no utterance (music)."""
    rate = sampling_rate or 22050
    scores = [metrics.pesq_wideband(r, e, rate)[0] for r, e in _pairs(predictions, references)]
    defined = [s for s in scores if not math.isnan(s)]
    return {"pesq_wb": _mean(defined) if defined else math.nan, "pesq_undefined": len(scores) - len(defined)}


def spectral_feature_errors(predictions, references, sampling_rate=None) -> dict:
    """Mean absolute difference per frame of the spectral centroid and bandwidth (in units of the Nyquist
    frequency), flatness and entropy of the STFT magnitudes (the Jam Assistant's spectral metrics)."""
    rate = sampling_rate or 22050
    scale = {"centroid": rate / 2, "bandwidth": rate / 2, "flatness": 1.0, "entropy": 1.0}
    rows = []
    for reference, estimate in _pairs(predictions, references):
        true = spectral_features(_stft_magnitude(reference, rate).float(), sampling_rate=rate)
        pred = spectral_features(_stft_magnitude(estimate, rate).float(), sampling_rate=rate)
        rows.append({name: float((pred[name] - true[name]).abs().mean()) / scale[name] for name in scale})
    return {f"{name}_error": _mean([row[name] for row in rows]) for name in scale}


def image_psnr(predictions, references) -> dict:
    """PSNR (16-bit scale) of spectrogram PNG pairs (paths): per pair and overall (the PSNR of the mean squared
    error, as ``compare_spectrogram_images``; ``inf`` when identical)."""
    from ..audio.spectrogram_images import read_spectrogram_image
    from .image_compare import MAX_16BIT, psnr_16bit

    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"need as many predictions as references (got {len(predictions)}, {len(references)})")
    values = [psnr_16bit(read_spectrogram_image(r).pixels, read_spectrogram_image(p).pixels)
              for p, r in zip(predictions, references)]
    errors = [0.0 if math.isinf(v) else MAX_16BIT**2 / 10 ** (v / 10) for v in values]
    mean_error = float(np.mean(errors))
    return {"psnr_db": math.inf if mean_error == 0 else 10 * math.log10(MAX_16BIT**2 / mean_error),
            "psnr_per_image": values}
