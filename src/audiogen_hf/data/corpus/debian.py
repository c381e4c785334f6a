"""Debian packages as a source of freely licensed audio: download (never install) and extract."""

import logging
import os
import shutil
from pathlib import Path

from .common import run_tool

logger = logging.getLogger(__name__)


def fetch_debian_package(name: str, cache_dir: Path) -> Path:
    """Download Debian package ``name`` into ``cache_dir`` and extract it; return the extraction root.

    Skipped when already extracted. The package is never installed.
    """
    cache_dir = Path(cache_dir).expanduser()
    root = cache_dir / name
    if root.is_dir():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not list(cache_dir.glob(f"{name}_*.deb")):
        logger.info("Downloading Debian package %s into %s", name, cache_dir)
        error = (f"Could not download Debian package {name!r}. Building the corpus needs the Debian package "
                 f"registry: run `apt-get update` and retry, or fetch it by hand with "
                 f"`cd {cache_dir} && apt-get download {name}`.")
        try:
            run_tool(["apt-get", "download", name], error, cwd=cache_dir)
        except RuntimeError:
            if os.geteuid() != 0:
                raise
            logger.info("apt-get download failed; refreshing the package lists (apt-get update) and retrying")
            run_tool(["apt-get", "update", "-qq"], error)
            run_tool(["apt-get", "download", name], error, cwd=cache_dir)
    deb = sorted(cache_dir.glob(f"{name}_*.deb"))[-1]
    partial_root = cache_dir / f"{name}.partial"
    shutil.rmtree(partial_root, ignore_errors=True)
    run_tool(["dpkg-deb", "-x", str(deb), str(partial_root)], f"Could not extract {deb} (is dpkg-deb installed?).")
    partial_root.rename(root)
    return root
