"""The paper's metrics: latent accuracy (Table 1), coherence (Table 2), likelihoods (Table 3) and the
per-dimension KLs and traversals of Figure 5.

Data are tensors of whole test sets, one per modality (``(N, *event_m)``); the functions batch them.
Randomness comes from the generator passed in.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from .bounds import log_likelihood


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode(model, xs: Sequence[Tensor | None], generator: torch.Generator, *, modality: int | None = None,
           batch_size: int = 512) -> Tensor:
    """One posterior sample per input, ``(N, D)``: from q(z | x_m) alone if ``modality`` is given (what a
    unimodal encoder sees at test time), else from the joint posterior given every modality present (for
    a mixture, the expert is picked uniformly per input)."""
    device = _device(model)
    n = next(x for x in xs if x is not None).shape[0]
    out = []
    for s in _batches(n, batch_size):
        batch = [None if x is None else x[s].to(device) for x in xs]
        if modality is not None:
            q = model.unimodal_posteriors(batch)[modality]                     # (B, D)
            out.append(q.rsample(1, generator)[0])
        else:
            z = model.posterior(batch).rsample(1, generator)[:, 0]             # (S, B, D)
            pick = torch.randint(z.shape[0], (z.shape[1],), generator=generator, device=z.device)
            out.append(z[pick, torch.arange(z.shape[1], device=z.device)])
    return torch.cat(out).cpu()


def latent_accuracy(train_z: Tensor, train_y: Tensor, test_z: Tensor, test_y: Tensor, *, epochs: int = 30,
                    lr: float = 1e-3, batch_size: int = 128, seed: int = 0) -> float:
    """Table 1: accuracy (fraction) of a linear classifier D → 10 trained with cross-entropy (Adam) on
    latents of the training set and evaluated on latents of the test set."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = nn.Linear(train_z.shape[1], 10)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in torch.randperm(len(train_z), generator=g).split(batch_size):
            optimiser.zero_grad()
            F.cross_entropy(classifier(train_z[idx]), train_y[idx]).backward()
            optimiser.step()
    with torch.no_grad():
        return (classifier(test_z).argmax(-1) == test_y).float().mean().item()


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
    device = _device(model)
    m_count = model.n_modalities
    preds = {(m, n): [] for m in range(m_count) for n in range(m_count) if m != n}
    for s in _batches(len(labels), batch_size):
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
    for s in _batches(n, batch_size):
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


# Table 3: name → (targets, proposal) relative to (m, n)
LIKELIHOOD_TERMS = {
    "log p(x_m, x_n)": (("m", "n"), ("m", "n")),
    "log p(x_m | x_m, x_n)": (("m",), ("m", "n")),
    "log p(x_m | x_m)": (("m",), ("m",)),
    "log p(x_m | x_n)": (("m",), ("n",)),
}


@torch.no_grad()
def likelihoods(model, xs: Sequence[Tensor], k: int, generator: torch.Generator, *, batch_size: int = 128,
                progress: bool = True) -> dict[tuple[int, str], float]:
    """Table 3: the mean over datapoints of each :data:`LIKELIHOOD_TERMS` entry for each modality m (and
    its partner n, two modalities), importance-sampled with K samples per expert of the proposal
    (:func:`mmvae_lib.bounds.log_likelihood`). Returns ``{(m, term): value}``."""
    if model.n_modalities != 2:
        raise ValueError(f"Table 3 pairs two modalities; the model has {model.n_modalities}")
    device = _device(model)
    n_points = xs[0].shape[0]
    sums: dict[tuple[int, str], float] = {}
    steps = list(_batches(n_points, batch_size))
    for s in tqdm(steps, desc=f"likelihoods K={k}", disable=not progress, leave=False):
        batch = [x[s].to(device) for x in xs]
        for m in (0, 1):
            roles = {"m": m, "n": 1 - m}
            for term, (targets, proposal) in LIKELIHOOD_TERMS.items():
                value = log_likelihood(model, batch, k, generator, targets=[roles[r] for r in targets],
                                       proposal=[roles[r] for r in proposal])
                sums[(m, term)] = sums.get((m, term), 0.0) + value.sum().item()
    return {key: total / n_points for key, total in sums.items()}


@torch.no_grad()
def per_dimension_kl(model, xs: Sequence[Tensor], *, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Figure 5 (right): per latent dimension, the mean over datapoints of KL(q(z | x_m) || p(z)) for each
    modality, ``(M, D)``, and of the symmetric KL between the two unimodal posteriors, ``(D,)``."""
    device = _device(model)
    prior = model.prior()
    kl_prior, kl_sym, n = 0.0, 0.0, xs[0].shape[0]
    for s in _batches(n, batch_size):
        q = model.unimodal_posteriors([x[s].to(device) for x in xs])              # (M, B, D)
        kl_prior = kl_prior + q.kl(prior).sum(1)
        q1, q2 = q[0], q[1]
        kl_sym = kl_sym + (q1.kl(q2) + q2.kl(q1)).sum(0)
    return (kl_prior / n).cpu(), (kl_sym / n).cpu()


@torch.no_grad()
def traversals(model, x: Tensor, modality: int, *, steps: int = 7, span: float = 5.0) -> list[Tensor]:
    """Figure 5 (left): encode one datapoint ``x`` ``(1, *event)`` of ``modality`` to its mean μ; for each
    dimension d, set z_d to ``steps`` values across (μ_d − span·σ0_d, μ_d + span·σ0_d) (σ0 the learnt prior
    scale) and decode in every modality. Returns one ``(D, steps, *event_n)`` tensor per modality n."""
    device = _device(model)
    xs = [None] * model.n_modalities
    xs[modality] = x.to(device)
    mu = model.posterior(xs, [modality]).experts.loc[0, 0]                      # (D,)
    sigma0 = model.prior().scale                                                # (D,)
    d = mu.shape[0]
    offsets = torch.linspace(-span, span, steps, device=device)
    z = mu.repeat(d, steps, 1)                                                  # (D, steps, D)
    z[torch.arange(d), :, torch.arange(d)] = mu[:, None] + offsets[None] * sigma0[:, None]
    return [model.likelihoods[n].mean(model.decode(z, n)).cpu() for n in range(model.n_modalities)]
