"""Metrics of the latent space: latent accuracy (MMVAE paper, Table 1), the per-dimension KLs and the
traversals of Figure 5.

Data are tensors of whole test sets, one per modality (``(N, *event_m)``); the functions batch them.
Randomness comes from the generator passed in.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmvae_lib.metrics.batching import batches, model_device


@torch.no_grad()
def encode(model, xs: Sequence[Tensor | None], generator: torch.Generator, *, modality: int | None = None,
           batch_size: int = 512) -> Tensor:
    """One posterior sample per input, ``(N, D)``: from q(z | x_m) alone if ``modality`` is given (what a
    unimodal encoder sees at test time), else from the joint posterior given every modality present (for
    a mixture, the expert is picked uniformly per input)."""
    device = model_device(model)
    n = next(x for x in xs if x is not None).shape[0]
    out = []
    for s in batches(n, batch_size):
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


@torch.no_grad()
def per_dimension_kl(model, xs: Sequence[Tensor], *, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Figure 5 (right): per latent dimension, the mean over datapoints of KL(q(z | x_m) || p(z)) for each
    modality, ``(M, D)``, and of the symmetric KL between the two unimodal posteriors, ``(D,)``."""
    device = model_device(model)
    prior = model.prior()
    kl_prior, kl_sym, n = 0.0, 0.0, xs[0].shape[0]
    for s in batches(n, batch_size):
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
    device = model_device(model)
    xs = [None] * model.n_modalities
    xs[modality] = x.to(device)
    mu = model.posterior(xs, [modality]).experts.loc[0, 0]                      # (D,)
    sigma0 = model.prior().scale                                                # (D,)
    d = mu.shape[0]
    offsets = torch.linspace(-span, span, steps, device=device)
    z = mu.repeat(d, steps, 1)                                                  # (D, steps, D)
    z[torch.arange(d), :, torch.arange(d)] = mu[:, None] + offsets[None] * sigma0[:, None]
    return [model.likelihoods[n].mean(model.decode(z, n)).cpu() for n in range(model.n_modalities)]
