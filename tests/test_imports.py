"""The top-level package imports lazily and exports every public model and pipeline."""

import subprocess
import sys

import pytest

import audiogen_hf


def test_import_is_lazy():
    code = ("import sys, audiogen_hf; heavy = [m for m in ('torch', 'transformers', 'diffusers', 'torchaudio') "
            "if m in sys.modules]; print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import audiogen_hf imported {result.stdout.strip()}"


def test_every_lazy_name_resolves():
    for name in audiogen_hf._LAZY_IMPORTS:
        assert getattr(audiogen_hf, name).__name__ == name
    assert set(audiogen_hf._LAZY_IMPORTS) <= set(dir(audiogen_hf))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchModel'"):
        audiogen_hf.NoSuchModel


def test_every_public_model_and_pipeline_is_exported():
    import audiogen_hf.models as models
    import audiogen_hf.pipelines as pipelines

    public = [name for module in (models, pipelines) for name in vars(module)
              if name.endswith(("Model", "Config", "Pipeline", "Output")) and not name.endswith("PreTrainedModel")]
    assert public
    missing = [name for name in public if name not in audiogen_hf._LAZY_IMPORTS]
    assert not missing, f"add {missing} to audiogen_hf._LAZY_IMPORTS"
    for name in public:
        assert getattr(audiogen_hf, name) is (getattr(models, name, None) or getattr(pipelines, name))


def test_importing_the_models_registers_the_auto_classes():
    from transformers import AutoConfig

    import audiogen_hf.models  # noqa: F401

    for model_type in ("mel_lstm", "spectrogram_autoencoder", "mel_autoencoder"):
        assert AutoConfig.for_model(model_type).model_type == model_type
