"""The MHD judges: one digit classifier per modality, the Nexus ones (``miguelsvasco/nexus_pytorch``,
``evaluation/classifiers/{image,sound,trajectory}/``; the JNF authors' MHD runs use the same,
``nips_experiments/comparison_on_MHD/architectures.py``):

- image: conv 1→16 (k5) → ReLU → Dropout2d(0.2) → max-pool 2; conv 16→32 (k5) → ReLU → Dropout2d(0.2) →
  max-pool 2; flatten 512 → 128 → 64 → 10 (ReLU and Dropout(0.2) between);
- sound: the sound encoder's three conv blocks (:class:`~mmvae_lib.experiments.mhd.networks.SoundEncoder`), flatten
  2,048 → 128 → 64 → 10 (batch norm, leaky ReLU between);
- trajectory: 200 → 512 → 512 → 128 (linear, batch norm, leaky ReLU) → 10.

The authors trained them with batch 64 and Adam 1e-3 for 100 epochs and report no accuracy; here each is trained
on the profile's training split (cross-entropy; ``classifier_epochs``), cached per (modality, data, seed,
epochs), and its test accuracy reported by the notebook. Each judge's ``features`` (its last hidden layer) is
the feature space of MHD's Fréchet distances here. Dropout draws from torch's global generator: training
runs inside ``torch.random.fork_rng`` seeded with ``seed``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from mmvae_lib.experiments.mhd.networks import HIDDEN, SoundEncoder
from mmvae_lib.metrics.classifiers import train_classifier
from mmvae_lib.paths import save_atomic

BATCH_SIZE = 64


class ImageClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.ReLU(), nn.Dropout2d(0.2), nn.MaxPool2d(2),      # (B, 16, 12, 12)
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.Dropout2d(0.2), nn.MaxPool2d(2),     # (B, 32, 4, 4)
            nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))

    def features(self, x: Tensor) -> Tensor:
        return self.net[:-1](x)                                                    # (B, 64)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SoundClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = SoundEncoder().body                                            # (B, 2048)
        self.head = nn.Sequential(nn.Linear(2048, 128), nn.BatchNorm1d(128), nn.LeakyReLU(),
                                  nn.Linear(128, 64), nn.BatchNorm1d(64), nn.LeakyReLU(), nn.Linear(64, 10))

    def features(self, x: Tensor) -> Tensor:
        return self.head[:-1](self.body(x))                                        # (B, 64)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class TrajectoryClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(200, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.LeakyReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.LeakyReLU(),
            nn.Linear(HIDDEN, 128), nn.BatchNorm1d(128), nn.LeakyReLU(), nn.Linear(128, 10))

    def features(self, x: Tensor) -> Tensor:
        return self.net[:-1](x)                                                    # (B, 128)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


CLASSIFIERS = {"image": ImageClassifier, "trajectory": TrajectoryClassifier, "sound": SoundClassifier}


def cache_path(modality: str, data_key: str, *, epochs: int, seed: int, cache_dir: str | Path) -> Path:
    safe_key = data_key.replace("|", "_").replace(" ", "").replace(",", "")
    return Path(cache_dir) / f"mhd_clf_{modality}_{safe_key}_seed{seed}_ep{epochs}.pt"


def digit_classifier(modality: str, x: Tensor, labels: Tensor, data_key: str, *, epochs: int, seed: int = 0,
                     cache_dir: str | Path | None, device=None, progress: bool = False) -> nn.Module:
    """The judge of ``modality`` trained on ``x`` (that modality's training items) and ``labels``, loaded from
    ``cache_dir`` when this (modality, data, seed, epochs) was trained before; in eval mode."""
    if modality not in CLASSIFIERS:
        raise ValueError(f"modality must be one of {tuple(CLASSIFIERS)}, got {modality!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLASSIFIERS[modality]()
    path = None if cache_dir is None else cache_path(modality, data_key, epochs=epochs, seed=seed, cache_dir=cache_dir)
    if path is not None and path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.to(device or "cpu").eval()
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(seed)
        train_classifier(model, x, labels, epochs=epochs, batch_size=BATCH_SIZE, seed=seed, device=device,
                         progress=progress)
    if path is not None:
        save_atomic({k: v.cpu() for k, v in model.state_dict().items()}, path)
    return model.eval()
