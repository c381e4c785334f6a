"""Audio pipelines in diffusers style, one folder each."""

from .mel_continuation import MelContinuationPipeline, MelContinuationPipelineOutput
