"""Batching whole test sets through a model: slices of ``batch_size`` and the model's device."""
from __future__ import annotations

import torch
from torch import nn


def batches(n: int, batch_size: int):
    """Slices covering ``range(n)`` in order, ``batch_size`` at a time."""
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
