"""Models, one folder each (configuration + modeling), registered with the transformers Auto classes on import."""

from .mel_autoencoder import (
    MelAutoencoderConfig,
    MelAutoencoderDecoderOutput,
    MelAutoencoderEncoderOutput,
    MelAutoencoderModel,
    MelAutoencoderOutput,
)
from .mel_lstm import MelLSTMConfig, MelLSTMModel, MelLSTMOutput
from .spectrogram_autoencoder import (
    SpectrogramAutoencoderConfig,
    SpectrogramAutoencoderDecoderOutput,
    SpectrogramAutoencoderEncoderOutput,
    SpectrogramAutoencoderModel,
    SpectrogramAutoencoderOutput,
)
