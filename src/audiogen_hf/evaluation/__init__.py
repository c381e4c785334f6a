"""Metrics and reports."""

from .metrics import (
    cosine_similarity,
    log_spectral_distance,
    mae,
    mse,
    pesq_wideband,
    snr_db,
    spectral_convergence_db,
)
from .plots import save_spectrogram_image, save_training_curves
