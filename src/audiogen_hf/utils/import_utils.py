"""Optional dependencies: each heavy one belongs to an extra of the package, and a missing one says which."""

import importlib
from types import ModuleType

# import name -> (pip distribution, extra of audiogen_hf that installs it)
EXTRAS = {
    "librosa": ("librosa", "captioning"),
    "cv2": ("opencv-python-headless", "images"),
    "pesq": ("pesq", "metrics"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "gradio": ("gradio", "app"),
    "playwright": ("playwright", "app"),
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature`` (e.g. ``require("cv2", "16-bit spectrogram images")``), or raise a
    ``MissingExtraError`` saying ``pip install "audiogen_hf[extra]"``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        distribution, extra = EXTRAS.get(module.split(".")[0], (module, "dev"))
        raise MissingExtraError(
            f"{feature} needs {distribution}, which is not installed: pip install \"audiogen_hf[{extra}]\" "
            f"(or pip install {distribution}); {type(error).__name__}: {error}") from error
