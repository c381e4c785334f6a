"""Metrics and reports."""

from .codec import mel_distance, opus_roundtrip, perplexity, si_sdr, stft_distance
from .fid import classify, feature_extractor, fid_kid, real_vs_real_floor, train_feature_classifier
from .image_compare import compare_spectrogram_images, psnr_16bit, save_comparison_pictures
from .metrics import (
    audio_spectral_convergence_db,
    cosine_similarity,
    log_spectral_distance,
    mae,
    mse,
    pesq_wideband,
    snr_db,
    spectral_convergence_db,
)
from .plots import save_spectrogram_image, save_training_curves
