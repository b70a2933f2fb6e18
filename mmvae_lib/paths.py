"""Every path the project reads or writes, in one place.

Nothing here depends on the current directory: the data root and the outputs root default to folders of
the repository, and each can be moved with an environment variable (``MMVAE_DATA``, ``MMVAE_OUTPUTS``).
A run of profile ``p`` writes under ``outputs/<p>/{tables,figures,notebooks,checkpoints,cache}``; a table or
figure a notebook writes is named after it, ``NN_<what>`` (:func:`artefact_name`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

OUTPUT_KINDS = ("tables", "figures", "notebooks", "checkpoints", "cache")


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file (``hashlib``'s ``algorithm``: sha256, or md5 where that is what is
    published), read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_atomic(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` through a temporary file of this process, then renamed: a reader never sees a
    half-written file, and two processes writing the same file do not mix. Creates the folder."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)      # after a failed save: no half-written file left behind
    return path


def save_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` to ``path`` through a temporary file, then rename it (as :func:`save_atomic`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_cache(obj, path: str | os.PathLike) -> None:
    """:func:`save_atomic` for a cache, which a read-only data folder may refuse: then it says so and goes on."""
    try:
        save_atomic(obj, path)
    except OSError as err:
        print(f"Could not write the cache file {path}: {err}")


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data root: ``path`` if given, else ``$MMVAE_DATA``, else ``<repo>/data``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("MMVAE_DATA")
    return Path(env) if env else REPO_ROOT / "data"


def artefact_name(name: str) -> str:
    """``name`` if it follows the outputs' naming scheme: the number of the notebook that writes it, then what
    it is, as in ``06_table2_coherence`` (no folder, no extension); else a ``ValueError`` saying so."""
    if not re.fullmatch(r"\d\d_[A-Za-z0-9_]+", name):
        raise ValueError(f"a table or figure is named NN_<what> after the notebook that writes it (letters, digits, "
                         f"underscores; no folder or extension), as in '06_table2_coherence'; got {name!r}")
    return name


def outputs_root() -> Path:
    """Where runs write: ``$MMVAE_OUTPUTS`` if set, else ``<repo>/outputs``."""
    env = os.environ.get("MMVAE_OUTPUTS")
    return Path(env) if env else REPO_ROOT / "outputs"


def output_dir(profile: str, kind: str | None = None, *, create: bool = True) -> Path:
    """``outputs/<profile>`` or one of its sub-folders (``kind`` in :data:`OUTPUT_KINDS`)."""
    if kind is not None and kind not in OUTPUT_KINDS:
        raise ValueError(f"kind must be one of {OUTPUT_KINDS}, got {kind!r}")
    path = outputs_root() / profile
    if kind is not None:
        path = path / kind
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
