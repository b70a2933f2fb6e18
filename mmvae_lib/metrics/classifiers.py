"""Training and using the classifiers that judge generated data (coherence) and latents (Table 1):
cross-entropy with Adam, batches shuffled by a seeded generator, predictions in batches. Any classifier
module mapping a batch to logits works; each experiment defines its own architectures.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm


def _as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] become float32 in [0, 1]; anything else passes through."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
                     batch_size: int = 128, lr: float = 1e-3, seed: int, device: str | torch.device | None = None,
                     progress: bool = True) -> nn.Module:
    """Train ``model`` with cross-entropy and Adam (``lr``) on ``images`` (N, C, H, W) and ``labels`` (N,).

    ``images`` may be uint8 in [0, 255] or float in [0, 1]. Batches are shuffled by a ``torch.Generator``
    seeded with ``seed``. Returns ``model`` (trained in place, left in eval mode, on ``device``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if len(images) != len(labels):
        raise ValueError(f"images and labels must have the same length, got {len(images)} and {len(labels)}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    model.to(device).train()
    images, labels = images.to(device), labels.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    n = len(images)
    bar = tqdm(range(epochs), desc=f"{type(model).__name__}", disable=not progress, leave=False)
    for _ in bar:
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(_as_float(images[batch])), labels[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """The class ``model`` reads in each of ``images`` (N, ...): int64 (N,), on ``images``' device. uint8
    images are scaled to [0, 1] first; other inputs (floats, token ids) go in as they are."""
    was_training = model.training
    model.eval()
    device = next((p.device for p in model.parameters()), images.device)   # a judge may have no parameters
    out = [model(_as_float(images[i:i + batch_size]).to(device)).argmax(-1).to(images.device)
           for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 1024) -> float:
    """Fraction of ``images`` (N, C, H, W) whose predicted digit equals ``labels`` (N,) (micro accuracy)."""
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images and labels must be non-empty and of equal length, got {len(images)} and {len(labels)}")
    return (predict(model, images, batch_size=batch_size) == labels.to(images.device)).double().mean().item()


