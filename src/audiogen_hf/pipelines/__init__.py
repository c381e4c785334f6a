"""Audio pipelines in diffusers style, one folder each."""

from .audio_autoencoder import AudioAutoencoderPipeline, AudioAutoencoderPipelineOutput
from .mel_continuation import MelContinuationPipeline, MelContinuationPipelineOutput
from .image_diffusion import ImageDiffusionPipeline
