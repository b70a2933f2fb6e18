"""Multimodal datasets as the trainer and the metrics see them.

A dataset for :func:`mmvae_lib.training.train` has ``key`` (a string naming everything that determines its
contents: it becomes part of checkpoint names), ``len()``, and ``batches(batch_size, shuffle=..., generator=...,
device=...)`` yielding one list per batch with one tensor per modality, ``None`` where a modality is missing.
:class:`TensorDataset` is that dataset for tensors held in memory (a user's own modalities, PolyMNIST, CUB);
the MNIST-SVHN pairs keep their images once and index them (:mod:`mmvae_lib.experiments.mnist_svhn.data`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


def shuffled_order(n: int, shuffle: bool, generator: torch.Generator | None) -> Tensor:
    """The order of one epoch: a permutation drawn from ``generator`` (seeded 0 if None), or 0..n-1."""
    if not shuffle:
        return torch.arange(n)
    return torch.randperm(n, generator=generator or torch.Generator().manual_seed(0))


def stratified_subset(labels: Tensor, n: int, seed: int = 0) -> Tensor:
    """Indices of ``n`` items that represent every class of ``labels`` ``(N,)`` in its proportion (counts by
    largest remainder; within a class, a draw seeded by ``seed``), in a seeded shuffled order, so that any
    prefix is a random sample too. All indices, in their order, when ``n >= N``. Use it instead of the first
    ``n`` items of data sorted by class (``mnist_standin``, ``PolyMNIST.take``), which hold its first classes only."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (items to keep) must be a positive integer, got {n!r}")
    labels = torch.as_tensor(labels).flatten()
    if n >= len(labels):
        return torch.arange(len(labels))
    g = torch.Generator().manual_seed(seed)
    classes, counts = labels.unique(return_counts=True)
    exact = counts.double() * n / len(labels)
    take = exact.floor().long()
    remainder = exact - take
    extra = torch.argsort(-remainder, stable=True)[: n - int(take.sum())]
    take[extra] += 1
    chosen = []
    for c, k in zip(classes.tolist(), take.tolist()):
        members = torch.nonzero(labels == c).flatten()
        chosen.append(members[torch.randperm(len(members), generator=g)[:k]])
    chosen = torch.cat(chosen)
    return chosen[torch.randperm(len(chosen), generator=g)]


@dataclass(frozen=True)
class ModalityView:
    """The batches of ``data`` with only its modalities ``keep`` (e.g. one modality for a single-modality
    VAE): the same items, in the same order. For datasets whose ``batches`` take ``keep=`` (the experiments'
    pairs return it from their ``select``); ``key`` names the view for checkpoint fingerprints."""

    data: object
    keep: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"{self.data.key}|modalities {list(self.keep)}"

    def __len__(self) -> int:
        return len(self.data)

    def batches(self, batch_size: int, **kwargs):
        return self.data.batches(batch_size, keep=self.keep, **kwargs)


@dataclass(eq=False)
class TensorDataset:
    """Tensors ``(N, ...)``, one per modality (``None`` for a modality absent from every item), and optional
    labels ``(N,)`` that batches leave out. ``key`` must change whenever the contents do."""

    modalities: Sequence[Tensor | None]
    key: str
    labels: Tensor | None = None
    names: Sequence[str] | None = None
    _on_device: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        sizes = {len(x) for x in self.modalities if x is not None}
        if self.labels is not None:
            sizes.add(len(self.labels))
        if len(sizes) != 1:
            raise ValueError(f"every modality (and the labels) needs the same number of items, got {sorted(sizes)}")

    def __len__(self) -> int:
        return next(len(x) for x in self.modalities if x is not None)

    def _tensors(self, device) -> list[Tensor | None]:
        if device is None:
            return list(self.modalities)
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device[key] = [None if x is None else x.to(device) for x in self.modalities]
        return self._on_device[key]

    def get(self, idx: Tensor, *, device=None) -> list[Tensor | None]:
        """Items ``idx``, one tensor per modality."""
        return [None if x is None else x[idx.to(x.device)] for x in self._tensors(device)]

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                device=None, drop_last: bool = False):
        order = shuffled_order(len(self), shuffle, generator)
        stop = len(self) - len(self) % batch_size if drop_last else len(self)
        for start in range(0, stop, batch_size):
            yield self.get(order[start:start + batch_size], device=device)

    def select(self, keep: Sequence[int]) -> "TensorDataset":
        """The same items with only the modalities ``keep`` (e.g. one modality for a single VAE)."""
        return TensorDataset([self.modalities[i] for i in keep], key=f"{self.key}|{list(keep)}", labels=self.labels,
                             names=None if self.names is None else [self.names[i] for i in keep])
