"""Audio pipelines in diffusers style, one folder each.

``import audiogen_hf.pipelines`` (or any pipeline import) registers every pipeline listed in ``PIPELINES`` with the
``diffusers`` namespace, so that diffusers' own ``DiffusionPipeline.from_pretrained(folder_or_hub_id)`` resolves
the ``_class_name`` of a saved ``model_index.json`` to our class (``import audiogen_hf`` alone stays lazy and
registers nothing). A new pipeline: import it here and add its class to ``PIPELINES``.
"""

from .audio_autoencoder import AudioAutoencoderPipeline, AudioAutoencoderPipelineOutput
from .audio_codec import AudioCodecPipeline, AudioCodecPipelineOutput
from .image_diffusion import ImageDiffusionPipeline
from .mel_continuation import MelContinuationPipeline, MelContinuationPipelineOutput
from .spectrogram_diffusion import MelDiffusionPipeline, MelDiffusionPipelineOutput

PIPELINES = [MelContinuationPipeline, AudioAutoencoderPipeline, AudioCodecPipeline, ImageDiffusionPipeline,
             MelDiffusionPipeline]


def register_with_diffusers() -> None:
    """Make ``diffusers.<Name>`` our pipeline classes (what ``DiffusionPipeline.from_pretrained`` looks up). Our names
    must not shadow diffusers' own: the genre-conditioned music pipeline is ``MelDiffusionPipeline`` because
    diffusers already has a (MIDI-conditioned) ``SpectrogramDiffusionPipeline``."""
    import diffusers

    for pipeline_class in PIPELINES:
        existing = getattr(diffusers, pipeline_class.__name__, None) if pipeline_class.__name__ in dir(diffusers) \
            else None
        if existing is not None and existing is not pipeline_class:
            raise RuntimeError(f"diffusers already has a {pipeline_class.__name__}; rename audiogen_hf's")
        setattr(diffusers, pipeline_class.__name__, pipeline_class)


register_with_diffusers()
