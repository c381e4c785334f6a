"""Loading pretrained captioning models with an error that says what is missing and what to do."""

from __future__ import annotations

from typing import Callable, TypeVar

from ..utils.hub_utils import ModelNotAvailableError, ensure_available

T = TypeVar("T")


class CaptionModelUnavailableError(RuntimeError):
    """A captioning model's weights could not be loaded (not cached offline, not enough memory, ...)."""


def load_pretrained(load: Callable[[], T], model_id: str, what: str, memory: str) -> T:
    """Run ``load()`` (e.g. ``lambda: Model.from_pretrained(model_id)``), turning its failure into a clear error.
    The cache and offline mode are checked first, so a missing model fails at once instead of after the network
    retries of ``from_pretrained``."""
    try:
        ensure_available(model_id, "config.json", what=what)
        return load()
    except ModelNotAvailableError as error:
        raise CaptionModelUnavailableError(f"could not load the {what} (it needs {memory}): {error}") from None
    except (OSError, ValueError, RuntimeError, MemoryError) as error:
        raise CaptionModelUnavailableError(
            f"could not load the {what} {model_id!r} ({type(error).__name__}: {error}). It needs {memory}. Its "
            f"weights must be in the Hugging Face cache (download them once with `hf download {model_id}` where "
            "the Hub is reachable; with HF_HUB_OFFLINE=1 only the cache is used) or be a local folder saved with "
            "save_pretrained; pass another model id/folder to use a different model."
        ) from error
