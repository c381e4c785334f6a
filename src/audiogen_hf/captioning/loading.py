"""Loading pretrained captioning models with an error that says what is missing and what to do."""

from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


class CaptionModelUnavailableError(RuntimeError):
    """A captioning model's weights could not be loaded (not cached offline, not enough memory, ...)."""


def load_pretrained(load: Callable[[], T], model_id: str, what: str, memory: str) -> T:
    """Run ``load()`` (e.g. ``lambda: Model.from_pretrained(model_id)``), turning its failure into a clear error."""
    try:
        return load()
    except (OSError, ValueError, RuntimeError, MemoryError) as error:
        raise CaptionModelUnavailableError(
            f"could not load the {what} {model_id!r} ({type(error).__name__}: {error}). It needs {memory}. Its "
            "weights must be in the Hugging Face cache (download them once with `huggingface-cli download "
            f"{model_id}` where the Hub is reachable; with HF_HUB_OFFLINE=1 only the cache is used) or be a local "
            "folder saved with save_pretrained; pass another model id/folder to use a different model."
        ) from error
