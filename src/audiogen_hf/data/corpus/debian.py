"""Debian packages as a source of freely licensed data: download (never install), extract, read their licences.

:func:`fetch_debian_package` is the public entry point (other data builders use it too, e.g. for
``dataset-fashion-mnist``).
"""

import fnmatch
import logging
import os
import shutil
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .common import run_tool

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "~/.cache/audiogen_hf/debs"


def fetch_debian_package(name: str, cache_dir: str = DEFAULT_CACHE_DIR) -> Path:
    """Download Debian package ``name`` into ``cache_dir`` and extract it; return the extraction root.

    The ``.deb`` comes from the system's apt sources (``apt-get download``; as root, one ``apt-get update`` and a
    retry if that fails) and is unpacked with ``dpkg-deb -x`` into ``cache_dir/name``: the package is never
    installed. Both steps are skipped when already done, and the extraction is atomic (a ``.partial`` folder
    renamed at the end), so an interrupted fetch is simply redone.

    Example:
        >>> root = fetch_debian_package("dataset-fashion-mnist")  # doctest: +SKIP
        >>> sorted(p.name for p in (root / "usr/share").iterdir())  # doctest: +SKIP

    Raises:
        RuntimeError: the package cannot be downloaded or extracted (the message says how to fetch it by hand).
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
    run_tool(["dpkg-deb", "-x", str(deb), str(partial_root)],
             f"Could not extract {deb} (is dpkg-deb installed? a truncated download: delete it and retry).")
    partial_root.rename(root)
    return root


def package_version(name: str, cache_dir: str = DEFAULT_CACHE_DIR) -> Optional[str]:
    """The version in the cached ``.deb``'s file name (``name_VERSION_arch.deb``), if one is cached."""
    debs = sorted(Path(cache_dir).expanduser().glob(f"{name}_*.deb"))
    return debs[-1].name.split("_")[1].replace("%3a", ":") if debs else None


def extract_archive(path: Path) -> Path:
    """Unzip ``path`` (a ``.pk3`` / ``.zip`` inside an extracted package) beside it, once; return the folder."""
    target = path.with_name(path.name + ".d")
    if target.is_dir():
        return target
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(partial)
    except (zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise RuntimeError(f"Could not unzip {path}: {exc}") from exc
    partial.rename(target)
    return target


def package_licence(root: Path, name: str, file: str) -> Optional[str]:
    """Licence of ``file`` from the package's machine-readable ``debian/copyright`` (DEP-5), else None.

    The last ``Files:`` stanza whose pattern matches wins, as DEP-5 says. Patterns name source-tree paths, files
    here are installed paths: a pattern matches when it matches the whole path, a suffix of it, or its last two
    components (``base/music/x.ogg`` names the installed ``.../base/0music.pk3!music/x.ogg`` member).
    """
    stanzas = _dep5_stanzas(str(Path(root) / "usr/share/doc" / name / "copyright"))
    licence = None
    tail = "/".join(file.split("/")[-2:])
    for patterns, stanza_licence in stanzas:
        for pattern in patterns:
            if pattern.startswith("debian/"):
                continue
            if (fnmatch.fnmatch(file, pattern) or fnmatch.fnmatch(file, "*/" + pattern)
                    or fnmatch.fnmatch(tail, "/".join(pattern.split("/")[-2:]))):
                licence = stanza_licence
                break
    return licence


@lru_cache(maxsize=None)
def _dep5_stanzas(path: str) -> tuple:
    """``((patterns, licence), ...)`` of a DEP-5 copyright file; empty if it is missing or not DEP-5."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    if not text.startswith("Format:"):
        return ()
    stanzas = []
    for block in text.split("\n\n"):
        files, licence, field_name = [], None, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")):
                if field_name == "Files":
                    files.extend(line.split())
                continue
            field_name, _, value = line.partition(":")
            if field_name == "Files":
                files.extend(value.split())
            elif field_name == "License":
                licence = value.strip()
        if files and licence:
            stanzas.append((tuple(files), licence))
    return tuple(stanzas)
