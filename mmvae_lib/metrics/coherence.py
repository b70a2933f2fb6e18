"""Coherence (MMVAE paper, Table 2): does a generated modality show the class its source had? Judged by
classifiers trained on the real data of each modality; cross (conditional) generation and joint
generation from the prior; conditional generation given any subset of observed modalities (the JNF paper,
Figure 4); and what a decoder that knows only the class can draw.

Data are tensors of whole test sets, one per modality; the functions batch them. Randomness comes from
the generator passed in.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmvae_lib.metrics.batching import batches, model_device
from mmvae_lib.metrics.latents import encode


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




@torch.no_grad()
def subset_coherence(model, xs: Sequence[Tensor], labels: Tensor, classifiers: Sequence[nn.Module],
                     subsets: Sequence[Sequence[int]], generator: torch.Generator, *,
                     batch_size: int = 512) -> dict[tuple[tuple[int, ...], int], tuple[float, float]]:
    """Conditional coherence given any subsets of observed modalities (the JNF paper's Figure 4): for each subset S,
    one sample z ~ q(z | x_S) per item (:func:`mmvae_lib.metrics.latents.encode`: from a stratified mixture,
    the component is picked uniformly per item), decoded (the likelihood mean) in every modality n *not* in S
    and judged by classifier n against the item's label. The observed modalities are not scored.

    ``xs``: one tensor ``(N, *event_m)`` per modality; ``subsets``: non-empty, each leaving at least one
    modality out. Returns ``{(S, n): (micro accuracy, mean of per-class accuracies)}`` for every held-out n,
    with S as a sorted tuple; :func:`coherence_by_size` averages them as the figure does.
    """
    m_count, n_items = model.n_modalities, len(labels)
    subsets = [tuple(sorted(set(int(m) for m in s))) for s in subsets]
    for s in subsets:
        if not s or not set(s) <= set(range(m_count)) or len(s) == m_count:
            raise ValueError(f"every subset must hold observed modalities among 0..{m_count - 1} and leave at least "
                             f"one out to generate, got {s}")
    device = model_device(model)
    z = {s: encode(model, [x if m in s else None for m, x in enumerate(xs)], generator, batch_size=batch_size)
         for s in dict.fromkeys(subsets)}                                         # each (N, D)
    scores = {}
    for n in range(m_count):
        sources = [s for s in z if n not in s]
        if not sources:
            continue
        zs = torch.cat([z[s] for s in sources])                                   # (len(sources)·N, D)
        preds = torch.cat([classifiers[n](model.likelihoods[n].mean(model.decode(zs[b].to(device), n)))
                           .argmax(-1).cpu() for b in batches(len(zs), batch_size)])
        for s, pred in zip(sources, preds.split(n_items)):
            scores[(s, n)] = _accuracies(pred, labels.cpu())
    return scores


def coherence_by_size(scores: dict[tuple[tuple[int, ...], int], tuple[float, float]], *,
                      per_class: bool = False) -> dict[int, float]:
    """:func:`subset_coherence`'s scores averaged as the JNF paper's Figure 4 plots them: per subset, the mean
    over its held-out targets; then per subset size |S|, the mean over subsets of that size. Micro accuracy
    by default, the mean of per-class accuracies with ``per_class``. ``{|S|: coherence}``."""
    per_subset: dict[tuple[int, ...], list[float]] = {}
    for (s, _), values in scores.items():
        per_subset.setdefault(s, []).append(values[1 if per_class else 0])
    by_size: dict[int, list[float]] = {}
    for s, values in per_subset.items():
        by_size.setdefault(len(s), []).append(sum(values) / len(values))
    return {size: sum(values) / len(values) for size, values in sorted(by_size.items())}
