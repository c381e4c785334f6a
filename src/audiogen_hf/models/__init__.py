"""Models, one folder each (configuration + modeling), registered with the transformers Auto classes on import."""

from .mel_lstm import MelLSTMConfig, MelLSTMModel, MelLSTMOutput
