"""Models, one folder each (configuration + modeling), registered with the transformers Auto classes on import."""

from .hierarchical_codec import (
    HierarchicalCodecConfig,
    HierarchicalCodecDecoderOutput,
    HierarchicalCodecEncoderOutput,
    HierarchicalCodecFeatureExtractor,
    HierarchicalCodecModel,
    HierarchicalCodecOutput,
)
from .image_classifier import ImageClassifierConfig, ImageClassifierModel, ImageClassifierOutput
from .mel_autoencoder import (
    MelAutoencoderConfig,
    MelAutoencoderDecoderOutput,
    MelAutoencoderEncoderOutput,
    MelAutoencoderModel,
    MelAutoencoderOutput,
)
from .mel_lstm import MelLSTMConfig, MelLSTMModel, MelLSTMOutput
from .simple_unet import SimpleUNetModel
from .spectrogram_autoencoder import (
    SpectrogramAutoencoderConfig,
    SpectrogramAutoencoderDecoderOutput,
    SpectrogramAutoencoderEncoderOutput,
    SpectrogramAutoencoderModel,
    SpectrogramAutoencoderOutput,
)
