"""One data directory holding every dataset in its real on-disk format, as the tiny fixtures the loaders are
tested on (MNIST's IDX files, SVHN's .mat, CUB_200_2011 with Reed et al.'s captions, the PolyMNIST archive),
and a ResNet-101 weights file of the right shapes (random: the published file cannot be downloaded here).
The `full` dry run (tests/test_full_dry_run.py) runs the notebooks on it."""
from __future__ import annotations

from pathlib import Path

from conftest import write_mnist_svhn
from test_cub_data import write_cub
from test_mhd_data import write_mhd
from test_polymnist_data import write_archive

__all__ = ["write_all", "write_mnist_svhn", "write_resnet_weights"]


def write_resnet_weights(path: Path) -> Path:
    """A state dict of torchvision's ResNet-101, randomly initialised (seed 0): what a dry run computes CUB's
    features with in place of the ImageNet weights."""
    import torch

    from mmvae_lib._torchvision import import_torchvision

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save(import_torchvision().models.resnet101(weights=None).state_dict(), path)
    return path


def write_all(root: Path) -> Path:
    from mmvae_lib.experiments.cub.features import PAPER_WEIGHTS

    root.mkdir(parents=True, exist_ok=True)
    write_mnist_svhn(root)
    write_cub(root)
    # four tuples of each digit: every digit present, and more distinct items than JNF-DCCA's 10 embedding
    # dimensions (its canonical correlations need a covariance of full rank)
    write_archive(root, tuples=[(i, label) for i in range(4) for label in range(10)])
    write_archive(root, folder="Translated_MMNIST_scale_75_translated_True",
                  tuples=[(i, label) for i in range(4) for label in range(10)])
    write_resnet_weights(root / "weights" / PAPER_WEIGHTS)
    # MHD: more distinct items than JNF-DCCA's 20 embedding dimensions, as above
    for seed, split in enumerate(("train", "test")):
        write_mhd(root, split, n=40, seed=seed)
    return root
