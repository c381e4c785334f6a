"""Signal layer: audio I/O, the spectrogram converter and spectral features. No models here."""

from .features import (
    fft_frequencies,
    mel_frequencies,
    spectral_bandwidth,
    spectral_centroid,
    spectral_entropy,
    spectral_features,
    spectral_flatness,
)
from .io import (
    AudioInfo,
    AudioLoadError,
    audio_info,
    load_audio,
    prepare_audio,
    resample,
    save_audio,
    to_channels,
    to_mono,
)
from .spectrogram import SpectrogramConverter, SpectrogramOutput
