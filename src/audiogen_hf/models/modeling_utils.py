"""What every audiogen_hf model shares on the Hub: a saved folder that transformers' ``AutoModel`` can load.

``AutoModel.from_pretrained(folder_or_id)`` works after ``import audiogen_hf`` (the models register with the Auto
classes). Without that import, transformers reads ``auto_map`` in ``config.json``: it names a one-line module saved
beside the weights, ``audiogen_hf_auto.py``, which imports the classes from the installed package (so
``AutoModel.from_pretrained(id, trust_remote_code=True)`` works with no model code copied into the repository).
"""

from pathlib import Path

AUTO_MAP_MODULE = "audiogen_hf_auto"


class AutoMapMixin:
    """Put before ``PreTrainedModel`` in a model's base class: ``save_pretrained`` (and so ``push_to_hub``) writes
    ``auto_map`` and the ``audiogen_hf_auto.py`` import module."""

    def save_pretrained(self, save_directory, *args, **kwargs):
        config_class, model_class = type(self.config), type(self)
        self.config.auto_map = {"AutoConfig": f"{AUTO_MAP_MODULE}.{config_class.__name__}",
                                "AutoModel": f"{AUTO_MAP_MODULE}.{model_class.__name__}"}
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            Path(save_directory, f"{AUTO_MAP_MODULE}.py").write_text(
                f'"""Loads {model_class.__name__} from the installed audiogen_hf package (pip install audiogen_hf)."""'
                f"\n\nfrom audiogen_hf.models import {config_class.__name__}, {model_class.__name__}\n\n"
                f'__all__ = ["{config_class.__name__}", "{model_class.__name__}"]\n')
        return result


