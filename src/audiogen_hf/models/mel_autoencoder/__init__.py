from transformers import AutoConfig, AutoModel

from .configuration_mel_autoencoder import MelAutoencoderConfig
from .modeling_mel_autoencoder import (
    MelAutoencoderDecoderOutput,
    MelAutoencoderEncoderOutput,
    MelAutoencoderModel,
    MelAutoencoderOutput,
    MelAutoencoderPreTrainedModel,
)

AutoConfig.register(MelAutoencoderConfig.model_type, MelAutoencoderConfig)
AutoModel.register(MelAutoencoderConfig, MelAutoencoderModel)
