"""audiogen_hf: Hugging Face-native music audio generation."""

__version__ = "0.1.0.dev0"

from .audio import AudioLoadError, SpectrogramConverter, load_audio, save_audio
from .models import ImageClassifierModel, MelLSTMConfig, MelLSTMModel, SimpleUNetModel
from .pipelines import ImageDiffusionPipeline, MelContinuationPipeline
