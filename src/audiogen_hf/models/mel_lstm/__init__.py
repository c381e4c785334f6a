from transformers import AutoConfig, AutoModel

from .configuration_mel_lstm import MelLSTMConfig
from .modeling_mel_lstm import MelLSTMModel, MelLSTMOutput, MelLSTMPreTrainedModel

AutoConfig.register(MelLSTMConfig.model_type, MelLSTMConfig)
AutoModel.register(MelLSTMConfig, MelLSTMModel)
