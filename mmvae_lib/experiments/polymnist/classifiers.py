"""The PolyMNIST digit classifiers: one per modality, the judges of coherence and the feature space of the
offline Fréchet distance.

The architecture is the published one (``thomassutter/MoPoE``, ``mmnist/networks/ConvNetworkImgClfCMNIST.py``;
the same in MultiVae and in the JNF authors' benchmark, ``comparison_on_mmnist/config2.py``):
conv 3→10 (k4, s2, p1) → Dropout2d(0.5) → ReLU → conv 10→20 (k4, s2, p1) → Dropout2d(0.5) → ReLU → flatten
(980) → linear 128 → Dropout(0.5) → ReLU → linear 10 (logits). The authors ship pretrained weights but no
training script and no accuracy; here each classifier is trained on its modality's training images
(cross-entropy, Adam 1e-3, batch 128) and cached per (modality, data, seed, epochs).

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


class PenultimateFeatures(nn.Module):
    """A trained classifier's penultimate layer (128 features after the ReLU, dropout off): the feature space
    of the offline Fréchet distance. Takes images ``(B, 3, 28, 28)``, uint8 in [0, 255] or float in [0, 1]."""

    num_features = FEATURES

    def __init__(self, classifier: PolyMNISTClassifier):
        super().__init__()
        self.classifier = classifier.eval()

    def train(self, mode: bool = True) -> "PenultimateFeatures":
        return super().train(False)                          # never in training mode: no dropout

    def forward(self, x: Tensor) -> Tensor:
        x = x.float().div(255) if x.dtype == torch.uint8 else x
        return self.classifier.features(x)


def cache_path(modality: int, data: "PolyMNIST", *, epochs: int, seed: int, cache_dir: str | Path) -> Path:
    """Where :func:`digit_classifier` keeps the weights: named by the modality, the data's key, seed and epochs."""
    safe_key = data.key.replace("|", "_").replace(" ", "").replace(",", "")
    return Path(cache_dir) / f"polymnist_clf_m{modality}_{safe_key}_seed{seed}_ep{epochs}.pt"


def digit_classifier(modality: int, data: "PolyMNIST", *, epochs: int, seed: int = 0, cache_dir: str | Path | None,
                     device=None, progress: bool = False) -> PolyMNISTClassifier:
    """The classifier of ``modality`` (0-4) trained on ``data``'s images of that modality, loaded from
    ``cache_dir`` when this (modality, data, seed, epochs) was trained before, else trained and saved there.
    Returns it in eval mode."""
    if not 0 <= modality < data.images.shape[0]:
        raise ValueError(f"modality must be in 0..{data.images.shape[0] - 1}, got {modality!r}")
    model = PolyMNISTClassifier(seed=seed)
    path = None if cache_dir is None else cache_path(modality, data, epochs=epochs, seed=seed, cache_dir=cache_dir)
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
