"""LeNet-style digit classifiers for MNIST and SVHN, used to score coherence (MMVAE, Sec. 4.1, Table 2).

The paper judges a generated image by the digit a pretrained classifier reads in it. Both classifiers are
LeNet-style: two 5x5 convolutions with 10 and 20 channels, each followed by 2x2 max-pooling and a ReLU,
then fully connected layers 320 -> 50 -> 10 for MNIST (28x28 -> 4x4x20 = 320) and 500 -> 50 -> 10 for
SVHN (32x32 -> 5x5x20 = 500). Dropout is left out, so training draws randomness only from the seeded
generator that shuffles the batches, and a (data, seed, epochs) triple always gives the same weights on a
given machine.

:func:`digit_classifier` trains one classifier per (modality, data source, split, seed, epochs) and caches
its weights, so every notebook scoring the same data reuses the same judge.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from mmvae_lib.metrics.classifiers import train_classifier
from mmvae_lib.paths import save_atomic
from mmvae_lib.training.fingerprint import tensor_digest

if TYPE_CHECKING:
    from mmvae_lib.experiments.mnist_svhn.data import PairedMNISTSVHN


class _LeNet(nn.Module):
    """conv5(10) -> pool -> ReLU -> conv5(20) -> pool -> ReLU -> fc(n_flat, 50) -> ReLU -> fc(50, 10)."""

    def __init__(self, in_channels: int, n_flat: int, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):             # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(in_channels, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.fc1 = nn.Linear(n_flat, 50)
            self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> logits (B, 10)."""
        h = F.relu(F.max_pool2d(self.conv1(x), 2))
        h = F.relu(F.max_pool2d(self.conv2(h), 2))
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


class MNISTClassifier(_LeNet):
    """LeNet for MNIST: (B, 1, 28, 28) -> (B, 10); the flattened features are 20 x 4 x 4 = 320."""

    def __init__(self, seed: int = 0):
        super().__init__(in_channels=1, n_flat=320, seed=seed)


class SVHNClassifier(_LeNet):
    """LeNet for SVHN: (B, 3, 32, 32) -> (B, 10); the flattened features are 20 x 5 x 5 = 500."""

    def __init__(self, seed: int = 0):
        super().__init__(in_channels=3, n_flat=500, seed=seed)


CLASSIFIERS: dict[str, type[_LeNet]] = {"mnist": MNISTClassifier, "svhn": SVHNClassifier}


def classifier_cache_path(modality: str, data: "PairedMNISTSVHN", *, epochs: int, seed: int,
                          cache_dir: str | Path) -> Path:
    """Where :func:`digit_classifier` keeps the weights for this (modality, data, seed, epochs).

    The name holds the data's source tag and split, the seed, the epochs and a hash of the images and labels
    (the labels alone let other images under the same tag reuse stale weights), so a change of data never
    reuses stale weights.
    """
    images, labels = data.single(modality, as_float=False)
    digest = hashlib.sha1((tensor_digest(images) + tensor_digest(labels)).encode()).hexdigest()[:10]
    name = (f"lenet_{modality}_{data.data_tag(modality)}_{data.split}_n{len(labels)}_{digest}"
            f"_seed{seed}_ep{epochs}.pt")
    return Path(cache_dir) / name


def digit_classifier(modality: str, data: "PairedMNISTSVHN", *, epochs: int, seed: int = 0,
                     cache_dir: str | Path | None, device: str | torch.device | None = None,
                     progress: bool = True, verbose: bool = True) -> nn.Module:
    """A LeNet trained on the unpaired ``modality`` images of ``data`` (its training split), cached.

    ``modality`` is ``"mnist"`` or ``"svhn"``. Weights are loaded from ``cache_dir`` when this
    (modality, data source, split, seed, epochs) was trained before, else trained and saved there;
    ``cache_dir=None`` trains without caching. Returns the model in eval mode on ``device``.
    """
    if modality not in CLASSIFIERS:
        raise ValueError(f"modality must be one of {sorted(CLASSIFIERS)}, got {modality!r}")
    model = CLASSIFIERS[modality](seed=seed)
    path = None
    if cache_dir is not None:
        path = classifier_cache_path(modality, data, epochs=epochs, seed=seed, cache_dir=cache_dir)
        if path.exists():
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            if verbose:
                print(f"Loaded the {modality.upper()} classifier from {path.name}")
            return model.to(device or "cpu").eval()
    images, labels = data.single(modality, as_float=False)
    train_classifier(model, images, labels, epochs=epochs, seed=seed, device=device, progress=progress)
    if path is not None:
        save_atomic({k: v.cpu() for k, v in model.state_dict().items()}, path)
        if verbose:
            print(f"Trained the {modality.upper()} classifier ({epochs} epochs, seed {seed}); saved {path.name}")
    return model
