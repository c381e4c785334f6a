"""audiogen_hf: Hugging Face-native music audio generation.

``import audiogen_hf`` is lazy (PEP 562 ``__getattr__``, as transformers' and diffusers' ``_LazyModule``): a name in
``_LAZY_IMPORTS`` is imported from its submodule on first use, so the import itself does not pull in torch,
transformers or diffusers. Importing ``audiogen_hf.models`` (which any model or pipeline does) registers every
model with ``AutoConfig`` / ``AutoModel``.

To export a new public name, add one entry ``"Name": "subpackage.module"`` below.
"""

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_LAZY_IMPORTS = {
    # audio: the signal layer
    "AudioLoadError": "audio.io",
    "load_audio": "audio.io",
    "save_audio": "audio.io",
    "prepare_audio": "audio.io",
    "SpectrogramConverter": "audio.spectrogram",
    "SpectrogramOutput": "audio.spectrogram",
    # models (configuration + modeling, one folder each)
    "MelLSTMConfig": "models.mel_lstm",
    "MelLSTMModel": "models.mel_lstm",
    "MelLSTMOutput": "models.mel_lstm",
    "SpectrogramAutoencoderConfig": "models.spectrogram_autoencoder",
    "SpectrogramAutoencoderModel": "models.spectrogram_autoencoder",
    "SpectrogramAutoencoderOutput": "models.spectrogram_autoencoder",
    "SpectrogramAutoencoderEncoderOutput": "models.spectrogram_autoencoder",
    "SpectrogramAutoencoderDecoderOutput": "models.spectrogram_autoencoder",
    "MelAutoencoderConfig": "models.mel_autoencoder",
    "MelAutoencoderModel": "models.mel_autoencoder",
    "MelAutoencoderOutput": "models.mel_autoencoder",
    "MelAutoencoderEncoderOutput": "models.mel_autoencoder",
    "MelAutoencoderDecoderOutput": "models.mel_autoencoder",
    "HierarchicalCodecConfig": "models.hierarchical_codec",
    "HierarchicalCodecModel": "models.hierarchical_codec",
    "HierarchicalCodecFeatureExtractor": "models.hierarchical_codec",
    "HierarchicalCodecOutput": "models.hierarchical_codec",
    "HierarchicalCodecEncoderOutput": "models.hierarchical_codec",
    "HierarchicalCodecDecoderOutput": "models.hierarchical_codec",
    "SimpleUNetModel": "models.simple_unet",
    "ImageClassifierConfig": "models.image_classifier",
    "ImageClassifierModel": "models.image_classifier",
    "ImageClassifierOutput": "models.image_classifier",
    # pipelines (one folder each)
    "MelContinuationPipeline": "pipelines.mel_continuation",
    "MelContinuationPipelineOutput": "pipelines.mel_continuation",
    "AudioAutoencoderPipeline": "pipelines.audio_autoencoder",
    "AudioAutoencoderPipelineOutput": "pipelines.audio_autoencoder",
    "AudioCodecPipeline": "pipelines.audio_codec",
    "AudioCodecPipelineOutput": "pipelines.audio_codec",
    "ImageDiffusionPipeline": "pipelines.image_diffusion",
    "MelDiffusionPipeline": "pipelines.spectrogram_diffusion",
    "MelDiffusionPipelineOutput": "pipelines.spectrogram_diffusion",
}

__all__ = ["__version__", *_LAZY_IMPORTS]


def __getattr__(name: str) -> Any:
    if name not in _LAZY_IMPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY_IMPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY_IMPORTS))
