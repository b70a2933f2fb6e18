"""Shared fixtures. Data fixtures are tiny files in the exact on-disk formats of the real datasets
(MNIST's gzip IDX files, SVHN's MATLAB v5 .mat), read by the same code as the real files."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import mmvae_lib  # noqa: F401  first: it pins MKL's numerical mode before torch computes (mmvae_lib.numerics)
import numpy as np
import pytest
import torch

# Per-class counts of the fixture files: classes differ, and SVHN sometimes has fewer than MNIST.
FIXTURE_COUNTS = {
    ("mnist", "train"): [6, 5, 4, 6, 5, 4, 6, 5, 4, 6],
    ("svhn", "train"): [4, 7, 5, 6, 3, 6, 5, 7, 4, 5],
    ("mnist", "test"): [2, 3, 2, 3, 2, 3, 2, 3, 2, 3],
    ("svhn", "test"): [3, 2, 3, 2, 3, 2, 3, 2, 3, 2],
}


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file: 0x0000, type 0x08, ndim, big-endian dims, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_svhn_mat(path: Path, images_nchw: np.ndarray, digits: np.ndarray) -> None:
    """Write SVHN's .mat layout: X (32, 32, 3, N) uint8, y (N, 1) with 10 standing for the digit 0."""
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    y = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(-1, 1)
    savemat(path, {"X": images_nchw.transpose(2, 3, 1, 0), "y": y})


def fixture_arrays(modality: str, split: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random images whose first pixel encodes the digit (10 * digit + 1), and labels in shuffled order."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), FIXTURE_COUNTS[(modality, split)])
    labels = rng.permutation(labels)
    shape = (1, 28, 28) if modality == "mnist" else (3, 32, 32)
    images = rng.integers(0, 256, size=(len(labels), *shape), dtype=np.uint8)
    images[:, 0, 0, 0] = 10 * labels + 1
    return images, labels


def write_mnist_svhn(root: Path) -> Path:
    """All six official MNIST and SVHN file names under ``root``, as tiny fixture files."""
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = fixture_arrays("mnist", split)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte.gz", images[:, 0])
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
        images, labels = fixture_arrays("svhn", split)
        write_svhn_mat(root / "SVHN" / f"{split}_32x32.mat", images, labels)
    return root


@pytest.fixture
def real_root(tmp_path: Path) -> Path:
    """A data directory holding all six official file names, as tiny fixture files."""
    return write_mnist_svhn(tmp_path)


@pytest.fixture
def one_thread():
    """One torch thread for tests of tiny models: far faster than two here, and a fixed order of sums."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
