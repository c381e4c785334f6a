"""One Accelerate training engine (``train``) and a small objective per model."""

from .arguments import TrainingArguments, parse_config, read_config
from .autoencoder import (
    MelAutoencoderArguments,
    MelAutoencoderObjective,
    SpectrogramAutoencoderArguments,
    SpectrogramAutoencoderObjective,
)
from .codec import CodecArguments, CodecObjective
from .diffusion import ImageDiffusionArguments, ImageDiffusionObjective
from .engine import Objective, checkpoints, train
from .mel_lstm import MelLSTMArguments, MelLSTMObjective
from .spectrogram_diffusion import SpectrogramDiffusionArguments, SpectrogramDiffusionObjective

OBJECTIVES = {
    "mel_lstm": (MelLSTMArguments, MelLSTMObjective),
    "spectrogram_autoencoder": (SpectrogramAutoencoderArguments, SpectrogramAutoencoderObjective),
    "mel_autoencoder": (MelAutoencoderArguments, MelAutoencoderObjective),
    "hierarchical_codec": (CodecArguments, CodecObjective),
    "ddpm": (ImageDiffusionArguments, ImageDiffusionObjective),
    "spectrogram_diffusion": (SpectrogramDiffusionArguments, SpectrogramDiffusionObjective),
}
