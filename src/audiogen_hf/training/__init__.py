"""One Accelerate training engine (``train``) and a small objective per model."""

from .arguments import TrainingArguments, parse_config, read_config
from .engine import Objective, checkpoints, train
from .mel_lstm import MelLSTMArguments, MelLSTMObjective

OBJECTIVES = {"mel_lstm": (MelLSTMArguments, MelLSTMObjective)}
