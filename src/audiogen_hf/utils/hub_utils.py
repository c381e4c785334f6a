"""The Hugging Face Hub: fail at once with one clear message when a model cannot be had, and push folders as saved.

``from_pretrained("owner/name")`` of transformers / diffusers resolves Hub ids through huggingface_hub (the cache,
``HF_HUB_OFFLINE``); but where neither the cache nor the Hub has the files it retries the network several times
(~25 s) before failing with a long traceback. ``ensure_available`` checks the local folder, the cache and offline
mode first and, when online, asks the Hub once (no retries).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

PathLike = Union[str, os.PathLike]


class ModelNotAvailableError(OSError):
    """A model / pipeline id is neither a local folder nor in the Hugging Face cache, and the Hub cannot supply it."""


def _download_hint(model_id: str, what: str) -> str:
    return (f"Download it once with `hf download {model_id}` where the Hub is reachable (with HF_HUB_OFFLINE=1 only "
            f"the cache is used), or pass a local folder saved with save_pretrained; pass another {what} id/folder "
            "to use a different one.")


def _is_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.is_offline_mode() if hasattr(constants, "is_offline_mode") else constants.HF_HUB_OFFLINE)


def ensure_available(model_id: PathLike, filename: str = "config.json", what: str = "model",
                     repo_type: Optional[str] = None) -> Optional[Path]:
    """Return the local folder when ``model_id`` is one, else ``None`` when the Hub id can be loaded (its
    ``filename`` is cached, or the Hub answers); raise ``ModelNotAvailableError`` (one sentence: what is missing and
    ``hf download ...``) otherwise, without retrying the network."""
    from huggingface_hub import constants, model_info, try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    path = Path(model_id)
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotAvailableError(f"{what} {str(model_id)!r} is a file, not a folder saved with save_pretrained")
    text = str(model_id)
    try:
        validate_repo_id(text)
    except HFValidationError:
        raise ModelNotAvailableError(
            f"{what} folder not found: {text} (and it is not a Hub id owner/name); pass a folder saved with "
            "save_pretrained, or a Hub id in the Hugging Face cache (`hf download owner/name`)") from None
    if isinstance(try_to_load_from_cache(text, filename, repo_type=repo_type), str):
        return None
    if _is_offline():
        raise ModelNotAvailableError(
            f"{what} {text!r} is not a local folder and not in the Hugging Face cache ({constants.HF_HUB_CACHE}), "
            f"and HF_HUB_OFFLINE=1 forbids the network. " + _download_hint(text, what))
    try:
        model_info(text, timeout=10)
    except Exception as error:  # noqa: BLE001 - network errors of any transport, 401/404 from the Hub
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        if isinstance(error, GatedRepoError):
            return None  # reachable; from_pretrained explains the token it needs
        reason = "no such repository on the Hub" if isinstance(error, RepositoryNotFoundError) else \
            f"the Hub is unreachable ({type(error).__name__}: {error})"
        raise ModelNotAvailableError(
            f"{what} {text!r} is not a local folder and not in the Hugging Face cache ({constants.HF_HUB_CACHE}); "
            f"{reason}. " + _download_hint(text, what)) from None
    return None


def load_pipeline(model_id: PathLike, **kwargs):
    """Any audiogen_hf pipeline from a folder or Hub id (its class read from ``model_index.json`` by diffusers'
    own ``DiffusionPipeline.from_pretrained``), failing at once when it cannot be had."""
    from diffusers import DiffusionPipeline

    from ..pipelines import register_with_diffusers

    register_with_diffusers()
    ensure_available(model_id, "model_index.json", what="pipeline")
    path = Path(model_id)
    if path.is_dir() and not (path / "model_index.json").is_file():
        hint = " (a model folder: pass the pipeline folder next to it)" if (path / "config.json").is_file() else ""
        raise ModelNotAvailableError(f"{path} holds no model_index.json, so it is not a saved pipeline{hint}")
    return DiffusionPipeline.from_pretrained(model_id, **kwargs)


def push_folder_to_hub(folder: PathLike, repo_id: str, repo_type: str = "model", private: Optional[bool] = None,
                       token: Optional[str] = None, commit_message: Optional[str] = None) -> str:
    """Create ``repo_id`` if needed and upload ``folder`` exactly as saved (its own README.md model/dataset card,
    unlike diffusers' ``push_to_hub``, which writes a generic card); returns the commit URL."""
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"nothing to push: {folder} is not a folder")
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True).repo_id
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
                               commit_message=commit_message or f"Upload {folder.name} with audiogen_hf")
    return str(getattr(commit, "commit_url", commit))
