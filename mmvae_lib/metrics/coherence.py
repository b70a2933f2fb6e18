"""Coherence (MMVAE paper, Table 2): does a generated modality show the class its source had? Judged by
classifiers trained on the real data of each modality; cross (conditional) generation and joint
generation from the prior; and what a decoder that knows only the class can draw.

Data are tensors of whole test sets, one per modality; the functions batch them. Randomness comes from
the generator passed in.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmvae_lib.metrics.batching import batches, model_device


def _accuracies(pred: Tensor, labels: Tensor) -> tuple[float, float]:
    """(micro accuracy over all inputs, mean over classes of per-class accuracy)."""
    correct = (pred == labels).float()
    per_class = [correct[labels == c].mean() for c in labels.unique()]
    return correct.mean().item(), torch.stack(per_class).mean().item()


@torch.no_grad()
def cross_coherence(model, xs: Sequence[Tensor], labels: Tensor, classifiers: Sequence[nn.Module],
                    generator: torch.Generator, *, batch_size: int = 256) -> dict[tuple[int, int], tuple[float, float]]:
    """Table 2, cross: for each source m and target n ≠ m, the fraction of inputs x_m whose generated x_n
    (the likelihood mean at z ~ q(z | x_m)) the digit classifier of n assigns to x_m's label.

    Returns ``{(m, n): (micro accuracy, per-class average)}``; the paper reports the micro accuracy.
    """
    device = model_device(model)
    m_count = model.n_modalities
    preds = {(m, n): [] for m in range(m_count) for n in range(m_count) if m != n}
    for s in batches(len(labels), batch_size):
        grid = model.cross_generate([x[s].to(device) for x in xs], generator)
        for m, n in preds:
            preds[(m, n)].append(classifiers[n](grid[m][n]).argmax(-1).cpu())
    return {pair: _accuracies(torch.cat(p), labels.cpu()) for pair, p in preds.items()}


@torch.no_grad()
def joint_coherence(model, n: int, classifiers: Sequence[nn.Module], generator: torch.Generator, *,
                    batch_size: int = 500) -> float:
    """Table 2, joint: the fraction of n prior samples whose decodings in every modality the digit
    classifiers assign to the same digit."""
    agree = 0
    for s in batches(n, batch_size):
        images = model.generate(s.stop - s.start, generator)
        digits = torch.stack([clf(x).argmax(-1) for clf, x in zip(classifiers, images)])   # (M, B)
        agree += (digits == digits[0]).all(0).sum().item()
    return agree / n


def digit_only_optima(images: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """What a decoder that knows the digit and nothing else does best to draw, per digit ``(10, *event)``:
    the per-pixel median of that digit's ``images`` under a Laplace likelihood (the paper's), the mean
    under a Gaussian one. Cross-generation from a latent that carries only the digit (as q(z | x_MNIST)
    does for an SVHN image) is pulled towards these images by a K = 1 bound."""
    images = images.float()
    by_digit = [images[labels == c] for c in range(10)]
    if any(len(group) == 0 for group in by_digit):
        raise ValueError("digit_only_optima needs at least one image of every digit 0-9")
    return {"median (Laplace)": torch.stack([g.median(0).values for g in by_digit]),
            "mean (Gaussian)": torch.stack([g.mean(0) for g in by_digit])}


