"""Projectors g_m that keep what the modalities share (JNF-Shared, Senellart & Allassonnière): each maps
x_m to a short embedding ``(B, E)``, pretrained so that the embeddings of one datapoint's modalities agree,
then frozen; the unimodal posteriors of JNF-Shared read g_m(x_m) instead of x_m.

Two ways of pretraining them, each a loss over a batch of embeddings ``hs`` (one ``(B, E)`` per modality),
summed over every pair of modalities i < j (so any M ≥ 2 works):

- deep CCA (Andrew et al. 2013): :func:`cca_correlation`, the total canonical correlation of two views,
  maximised (the loss is its negative, :func:`dcca_loss`);
- contrastive: :func:`info_nce`, the InfoNCE / NT-Xent loss with cosine similarities at temperature τ,
  each embedding's partner the positive and the other 2B − 2 embeddings of the pair the negatives.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmvae_lib.precision import exact, widened

CCA_RIDGE = 1e-3      # r1 = r2 in the authors' DCCA objective (MultiVae dcca/objectives.py)
CCA_EPS = 1e-9        # eigenvalues at or below this are dropped or clamped


class Projector(nn.Module):
    """g_m: a network whose output (or, for an encoder returning ``(loc, raw_scale)``, its first part) is
    the embedding ``(B, E)``. MultiVae's DCCA networks are unimodal encoders read the same way."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: Tensor) -> Tensor:
        out = self.network(x)
        return widened(out[0] if isinstance(out, (tuple, list)) else out)   # float32 under bf16 autocast too


def _inverse_sqrt(s: Tensor) -> Tensor:
    """S^{-1/2} of a symmetric positive matrix, eigenvalues at or below :data:`CCA_EPS` dropped."""
    values, vectors = torch.linalg.eigh(s)
    keep = values > CCA_EPS
    values, vectors = values[keep], vectors[:, keep]
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T


def cca_correlation(h1: Tensor, h2: Tensor, ridge: float = CCA_RIDGE) -> Tensor:
    """The total canonical correlation of two views ``(B, E)``, the deep CCA objective:

        Σ11 = H̄1ᵀH̄1/(B−1) + r I,  Σ22 likewise,  Σ12 = H̄1ᵀH̄2/(B−1),  T = Σ11^{-1/2} Σ12 Σ22^{-1/2},
        corr = Σ_i sqrt(λ_i(TᵀT + r I))   (the sum of T's singular values, E of them).

    With H̄ the centred embeddings. Perfectly correlated views (h2 an invertible linear map of h1) give
    ≈ E; independent ones ≈ 0 (for B ≫ E). As MultiVae's ``cca_loss`` with all components kept.
    """
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise ValueError(f"cca_correlation needs two (B, E) views of one shape, got {tuple(h1.shape)} "
                         f"and {tuple(h2.shape)}")
    with exact(h1):                           # eigendecompositions in float32 under any autocast
        return _cca_correlation(widened(h1), widened(h2), ridge)


def _cca_correlation(h1: Tensor, h2: Tensor, ridge: float) -> Tensor:
    b, e = h1.shape
    h1, h2 = h1 - h1.mean(0), h2 - h2.mean(0)
    eye = torch.eye(e, dtype=h1.dtype, device=h1.device)
    s11 = h1.T @ h1 / (b - 1) + ridge * eye
    s22 = h2.T @ h2 / (b - 1) + ridge * eye
    s12 = h1.T @ h2 / (b - 1)
    t = _inverse_sqrt(s11) @ s12 @ _inverse_sqrt(s22)
    values = torch.linalg.eigvalsh(t.T @ t + ridge * eye).clamp_min(CCA_EPS)
    return values.sqrt().sum()


def dcca_loss(hs: Sequence[Tensor]) -> Tensor:
    """−Σ_{i<j} :func:`cca_correlation` (h_i, h_j): the DCCA loss of M ≥ 2 views (MultiVae ``mcca_loss``)."""
    if len(hs) < 2:
        raise ValueError(f"dcca_loss needs at least two views, got {len(hs)}")
    return -sum(cca_correlation(hs[i], hs[j]) for i, j in itertools.combinations(range(len(hs)), 2))


def info_nce(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """InfoNCE (NT-Xent) of two views ``(B, E)``, per row of the stacked ``[a; b]`` ``(2B,)``:

        ℓ_i = −log [ exp(s(u_i, u_i⁺)/τ) / Σ_{j ≠ i} exp(s(u_i, u_j)/τ) ],   s = cosine similarity,

    u the 2B embeddings, u_i⁺ the other view of datapoint i. Lower when each embedding is closer to its
    partner than to the other datapoints'. (The authors' GMC uses raw dot products; cosine similarity, as
    in SimCLR, keeps exp(s/τ) finite at τ = 0.1.)
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"info_nce needs two (B, E) views of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    u = F.normalize(torch.cat([a, b]), dim=-1)                          # (2B, E)
    logits = u @ u.T / temperature                                      # (2B, 2B)
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=u.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(u.device)
    return F.cross_entropy(logits, partner, reduction="none")


def contrastive_loss(hs: Sequence[Tensor], temperature: float = 0.1) -> Tensor:
    """Σ_{i<j} mean :func:`info_nce` (h_i, h_j): the contrastive loss of M ≥ 2 views (a scalar)."""
    if len(hs) < 2:
        raise ValueError(f"contrastive_loss needs at least two views, got {len(hs)}")
    return sum(info_nce(hs[i], hs[j], temperature).mean() for i, j in itertools.combinations(range(len(hs)), 2))
