"""The PolyMNIST digit classifiers: one per modality, the judges of coherence and the feature space of the
offline Fréchet distance.

The architecture is the published one (``thomassutter/MoPoE``, ``mmnist/networks/ConvNetworkImgClfCMNIST.py``;
the same in MultiVae and in the JNF authors' benchmark, ``comparison_on_mmnist/config2.py``):
conv 3→10 (k4, s2, p1) → Dropout2d(0.5) → ReLU → conv 10→20 (k4, s2, p1) → Dropout2d(0.5) → ReLU → flatten
(980) → linear 128 → Dropout(0.5) → ReLU → linear 10 (logits). The authors ship pretrained weights but no
training script and no accuracy; here each classifier is trained on its modality's training images
(cross-entropy, Adam 1e-3, batch 128) and cached per (modality, data, seed, epochs).

Translated PolyMNIST's digits sit anywhere on the canvas, which that small network reads poorly; its authors
judge them with a residual network. :class:`TranslatedClassifier` is one, small enough for a CPU (widths 16, 32,
64; global average pooling, so where the digit sits matters little); ``architecture="resnet"`` picks it.

Dropout draws from torch's global generator; training runs inside ``torch.random.fork_rng`` seeded with
``seed``, so the weights are a function of (data, seed, epochs) and the caller's random state is untouched.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from mmvae_lib.metrics.classifiers import train_classifier
from mmvae_lib.paths import save_atomic

if TYPE_CHECKING:
    from mmvae_lib.experiments.polymnist.data import PolyMNIST

FEATURES = 128   # the penultimate layer: the Fréchet distance's feature space offline


class PolyMNISTClassifier(nn.Module):
    """The published PolyMNIST digit classifier: images ``(B, 3, 28, 28)`` in [0, 1] → logits ``(B, 10)``."""

    def __init__(self, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):             # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.features = nn.Sequential(
                nn.Conv2d(3, 10, 4, 2, 1), nn.Dropout2d(0.5), nn.ReLU(),
                nn.Conv2d(10, 20, 4, 2, 1), nn.Dropout2d(0.5), nn.ReLU(),
                nn.Flatten(), nn.Linear(980, FEATURES), nn.Dropout(0.5), nn.ReLU())
            self.head = nn.Linear(FEATURES, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class _Residual(nn.Module):
    """Two 3x3 convolutions with batch norm, added to the input (through a strided 1x1 convolution where the
    shape changes), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class TranslatedClassifier(nn.Module):
    """A small residual digit classifier for translated digits: conv 3→16 (3x3), residual blocks 16 (28x28),
    32 (stride 2: 14x14), 64 (stride 2: 7x7), global average pooling (64 features), linear 10."""

    def __init__(self, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                _Residual(16, 16, 1), _Residual(16, 32, 2), _Residual(32, 64, 2),
                nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(64, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


ARCHITECTURES = {"cnn": PolyMNISTClassifier, "resnet": TranslatedClassifier}


class PenultimateFeatures(nn.Module):
    """A trained classifier's penultimate layer (dropout off): the feature space of the offline Fréchet
    distance (128 features for the published classifier). Takes images ``(B, 3, 28, 28)``, uint8 in [0, 255]
    or float in [0, 1]."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.head.in_features

    def train(self, mode: bool = True) -> "PenultimateFeatures":
        return super().train(False)                          # never in training mode: no dropout

    def forward(self, x: Tensor) -> Tensor:
        x = x.float().div(255) if x.dtype == torch.uint8 else x
        return self.classifier.features(x)


def cache_path(modality: int, data: "PolyMNIST", *, epochs: int, seed: int, cache_dir: str | Path,
               architecture: str = "cnn") -> Path:
    """Where :func:`digit_classifier` keeps the weights: named by the modality, the data's key, seed and epochs
    (and the architecture, unless the published one)."""
    safe_key = data.key.replace("|", "_").replace(" ", "").replace(",", "")
    kind = "" if architecture == "cnn" else f"_{architecture}"
    return Path(cache_dir) / f"polymnist_clf{kind}_m{modality}_{safe_key}_seed{seed}_ep{epochs}.pt"


def digit_classifier(modality: int, data: "PolyMNIST", *, epochs: int, seed: int = 0, cache_dir: str | Path | None,
                     device=None, progress: bool = False, architecture: str = "cnn") -> nn.Module:
    """The classifier of ``modality`` (0-4) trained on ``data``'s images of that modality, loaded from
    ``cache_dir`` when this (modality, data, seed, epochs) was trained before, else trained and saved there.
    Returns it in eval mode."""
    if not 0 <= modality < data.images.shape[0]:
        raise ValueError(f"modality must be in 0..{data.images.shape[0] - 1}, got {modality!r}")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {tuple(ARCHITECTURES)}, got {architecture!r}")
    model = ARCHITECTURES[architecture](seed=seed)
    path = None if cache_dir is None else cache_path(modality, data, epochs=epochs, seed=seed, cache_dir=cache_dir,
                                                     architecture=architecture)
    if path is not None and path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.to(device or "cpu").eval()
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):   # dropout's randomness, seeded
        torch.manual_seed(seed)
        train_classifier(model, data.images[modality], data.labels, epochs=epochs, seed=seed, device=device,
                         progress=progress)
    if path is not None:
        save_atomic({k: v.cpu() for k, v in model.state_dict().items()}, path)
    return model.eval()
