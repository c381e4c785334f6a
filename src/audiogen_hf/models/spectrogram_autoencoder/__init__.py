from transformers import AutoConfig, AutoModel

from .configuration_spectrogram_autoencoder import SpectrogramAutoencoderConfig
from .modeling_spectrogram_autoencoder import (
    SpectrogramAutoencoderDecoderOutput,
    SpectrogramAutoencoderEncoderOutput,
    SpectrogramAutoencoderModel,
    SpectrogramAutoencoderOutput,
    SpectrogramAutoencoderPreTrainedModel,
)

AutoConfig.register(SpectrogramAutoencoderConfig.model_type, SpectrogramAutoencoderConfig)
AutoModel.register(SpectrogramAutoencoderConfig, SpectrogramAutoencoderModel)
