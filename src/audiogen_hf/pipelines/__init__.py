"""Audio pipelines in diffusers style, one folder each."""

from .audio_autoencoder import AudioAutoencoderPipeline, AudioAutoencoderPipelineOutput
from .audio_codec import AudioCodecPipeline, AudioCodecPipelineOutput
from .image_diffusion import ImageDiffusionPipeline
from .mel_continuation import MelContinuationPipeline, MelContinuationPipelineOutput
from .spectrogram_diffusion import SpectrogramDiffusionPipeline, SpectrogramDiffusionPipelineOutput
