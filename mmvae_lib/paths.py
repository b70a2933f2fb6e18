"""Every path the project reads or writes, in one place.

Nothing here depends on the current directory: the data root and the outputs root default to folders of
the repository, and each can be moved with an environment variable (``MMVAE_DATA``, ``MMVAE_OUTPUTS``).
A run of profile ``p`` writes under ``outputs/<p>/{tables,figures,notebooks,checkpoints,cache}``.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

OUTPUT_KINDS = ("tables", "figures", "notebooks", "checkpoints", "cache")


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data root: ``path`` if given, else ``$MMVAE_DATA``, else ``<repo>/data``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("MMVAE_DATA")
    return Path(env) if env else REPO_ROOT / "data"


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
