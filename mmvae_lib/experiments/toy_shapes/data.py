"""The toy dataset of the seed's Figure 2 (Senellart & Allassonnière): pairs of binary 32×32 images, a
square and a circle, that share one thing, whether they are filled or empty (the class), while each
shape's size is its own.

As the authors' generator (AgatheSenellart/mmvae ``bin/make-circles-squares.py``): on the grid
``x = linspace(−1, 1, 32)`` (both axes), sizes r ~ U(0.3, 0.9) drawn independently for the square and the
circle, line thickness t = 0.25;

- filled circle (disc) ``X² + Y² ≤ r²``; empty circle (ring) ``|√(X² + Y²) − r| ≤ t/2``;
- filled square (a diamond, the L1 ball) ``|X| + |Y| ≤ r``; empty square ``||X| + |Y| − r| ≤ t/2``;

a pair is (filled square, filled circle), class 1, or (empty square, empty circle), class 0, with
probability ½ each. Generated from a seed in well under a second; the split picks the seed's stream.

The shared factor can be read off an image exactly (:func:`read_filled`): every filled shape covers the
four centre pixels, no empty one touches them (its inner edge is at r − t/2 ≥ 0.175 from the centre,
the centre pixels at 0.045).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from mmvae_lib.datasets import TensorDataset

SIZE = 32
RADIUS_RANGE = (0.3, 0.9)
THICKNESS = 0.25
NAMES = ("square", "circle")
SPLIT_SEEDS = {"train": 0, "test": 1}            # offset of each split's stream from the seed
_CENTRE = slice(SIZE // 2 - 1, SIZE // 2 + 1)     # the four centre pixels


def _grid() -> tuple[Tensor, Tensor]:
    x = torch.linspace(-1, 1, SIZE)
    y, x = torch.meshgrid(x, x, indexing="ij")
    return x, y


def draw(kind: str, radius: Tensor, filled: Tensor) -> Tensor:
    """Binary images ``(N, 1, 32, 32)`` of ``kind`` ("square" or "circle") with sizes ``radius`` ``(N,)``,
    filled where ``filled`` ``(N,)`` is true."""
    x, y = _grid()
    if kind == "circle":
        distance = torch.sqrt(x ** 2 + y ** 2)
    elif kind == "square":
        distance = x.abs() + y.abs()
    else:
        raise ValueError(f"kind must be 'square' or 'circle', got {kind!r}")
    r = radius.view(-1, 1, 1)
    inside = distance <= r
    outline = (distance - r).abs() <= THICKNESS / 2
    return torch.where(filled.view(-1, 1, 1), inside, outline).unsqueeze(1).float()


def shapes(n: int, seed: int, split: str = "train") -> tuple[TensorDataset, dict[str, Tensor]]:
    """``n`` pairs of the ``split``: the dataset (modalities [square, circle], labels = filled 1 / empty 0)
    and its factors ``{"filled", "square_radius", "circle_radius"}`` ``(n,)`` each."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be one of {sorted(SPLIT_SEEDS)}, got {split!r}")
    if n < 1:
        raise ValueError(f"n must be a positive number of pairs, got {n}")
    g = torch.Generator().manual_seed(1000 * seed + SPLIT_SEEDS[split])
    filled = torch.rand(n, generator=g) < 0.5
    low, high = RADIUS_RANGE
    radii = low + (high - low) * torch.rand(2, n, generator=g)
    images = [draw(kind, radius, filled) for kind, radius in zip(NAMES, radii)]
    factors = {"filled": filled.long(), "square_radius": radii[0], "circle_radius": radii[1]}
    data = TensorDataset(images, key=f"toy-shapes-v1-{split}-n{n}-seed{seed}", labels=factors["filled"],
                         names=list(NAMES))
    return data, factors


def read_filled(images: Tensor) -> Tensor:
    """The class an image shows: 1 (filled) where its four centre pixels average above ½, else 0.
    Images ``(N, 1, 32, 32)`` in [0, 1] (data or generated likelihood means) → ``(N,)``."""
    return (images[:, 0, _CENTRE, _CENTRE].mean((-1, -2)) > 0.5).long()


def read_size(images: Tensor, kind: str) -> Tensor:
    """The shape's outer extent: the largest distance from the centre (Euclidean for circles, L1 for
    squares) of a pixel above ½, ``(N,)``; a filled shape's r, an empty one's r + t/2. NaN where no pixel
    is on."""
    x, y = _grid()
    distance = torch.sqrt(x ** 2 + y ** 2) if kind == "circle" else x.abs() + y.abs()
    on = images[:, 0] > 0.5
    extent = torch.where(on, distance, torch.full_like(distance, -math.inf)).flatten(1).amax(1)
    return torch.where(torch.isfinite(extent), extent, torch.full_like(extent, math.nan))


def nearest_shape(images: Tensor, kind: str, steps: int = 121) -> tuple[Tensor, Tensor, Tensor]:
    """How far each image is from being a shape of the dataset: the fraction of pixels where the image,
    thresholded at ½, differs from the closest ``kind`` shape (filled or empty, radius on a grid of
    ``steps`` values over the dataset's range). Returns ``(distance, filled, radius)``, each ``(N,)``, of that
    closest shape; a distance of 0 is a shape the generator can draw (up to the radius grid)."""
    radius = torch.linspace(*RADIUS_RANGE, steps)
    templates = torch.cat([draw(kind, radius, torch.ones(steps, dtype=torch.bool)),
                           draw(kind, radius, torch.zeros(steps, dtype=torch.bool))]).flatten(1)   # (2R, P)
    on = (images > 0.5).float().flatten(1)                                                     # (N, P)
    # Hamming distance between binary vectors: |a| + |t| − 2 a·t
    distance = on.sum(1, keepdim=True) + templates.sum(1) - 2 * on @ templates.T             # (N, 2R)
    best = distance.argmin(1)
    return distance.gather(1, best[:, None])[:, 0] / on.shape[1], (best < steps).long(), radius[best % steps]
