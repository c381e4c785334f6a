"""Metrics and reports."""

from .plots import save_spectrogram_image, save_training_curves
