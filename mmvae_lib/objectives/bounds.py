"""The paper's bounds, as reductions of one tensor of log importance weights.

Everything starts from

    log w = log p(z) + Σ_d s_d log p(x_d | z) − log q(z | x),      z ~ q,

built once by :func:`log_weights` with K samples from each of the posterior's S experts (stratified
sampling), shape ``(S, K, B)``. The bounds below differ only in how they reduce it, and each returns the
value of the bound per datapoint, ``(B,)``. Gradient estimators live in :mod:`mmvae_lib.objectives.estimators`.

A single-modality model (or one expert: a VAE, the MVAE's product) has S = 1.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from mmvae_lib.models.distributions import Mixture


class LogWeights(NamedTuple):
    log_w: Tensor    # (S, K, B)    log p(z) + Σ_d s_d log p(x_d|z) − log q(z|x)
    z: Tensor        # (S, K, B, D) the samples, K from each expert
    log_lik: Tensor  # (S, K, B)    Σ_d s_d log p(x_d|z), the part of log_w that is not the KL term


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (samples per expert) must be an integer >= 1, got {k!r}")
    return k


def _log_weights_at(model, q: Mixture, z: Tensor, xs, targets, scaled: bool,
                    q_for_density: Mixture) -> LogWeights:
    log_lik = model.log_likelihoods(z, xs, targets, scaled)
    log_w = log_lik + model.prior().log_prob(z) - q_for_density.log_prob(z)
    return LogWeights(log_w, z, log_lik)


def log_weights(model, xs: Sequence[Tensor | None], k: int, generator: torch.Generator | None = None, *,
                subset: Sequence[int] | None = None, targets: Sequence[int] | None = None,
                detach_q: bool = False, scaled: bool = True) -> LogWeights:
    """K reparameterised samples from each expert of q(z | x_subset), and their log weights.

    ``subset``: the modalities the posterior sees (default: all present); ``targets``: the modalities
    whose likelihood enters the weight (default: all present); ``scaled``: apply each modality's
    likelihood scaling s_d (training) or not (marginal likelihoods). ``detach_q`` evaluates log q with
    the posterior's parameters detached, which DReG needs; the values are unchanged.
    """
    check_k(k)
    q = model.posterior(xs, subset)
    targets = model.check_inputs(xs) if targets is None else list(targets)
    z = q.rsample(k, generator)                                        # (S, K, B, D)
    return _log_weights_at(model, q, z, xs, targets, scaled, q.detach() if detach_q else q)


# --- the reductions --------------------------------------------------------------------------------

def elbo(log_w: Tensor) -> Tensor:
    """ELBO, paper eq. (1): E_q[log w], estimated by the mean over the K axis. ``(..., K, B)`` → ``(..., B)``."""
    return log_w.mean(-2)


def iwae(log_w: Tensor) -> Tensor:
    """IWAE bound, paper eq. (2): E[log (1/K) Σ_k w_k]. ``(..., K, B)`` → ``(..., B)``."""
    return torch.logsumexp(log_w, dim=-2) - math.log(log_w.shape[-2])


def moe_elbo(log_w: Tensor) -> Tensor:
    """MoE ELBO (paper §3, the stratified ELBO written just after eq. 3):

        (1/M) Σ_m E_{z ~ q_m}[log p(z, x_1:M) − log q_MoE(z | x_1:M)].

    The stratified estimate: the mean over experts and samples. ``(M, K, B)`` → ``(B,)``.
    """
    return log_w.mean((0, 1))


def moe_iwae(log_w: Tensor) -> Tensor:
    """MoE-IWAE, the paper's eq. (3), the objective MMVAE trains:

        (1/M) Σ_m E_{z_m^1:K ~ q_m}[ log (1/K) Σ_k p(z_m^k, x_1:M) / q_MoE(z_m^k | x_1:M) ].

    The average over modalities sits outside the log ("looser"): each modality's samples get equal
    weight. ``(M, K, B)`` → ``(B,)``.
    """
    return iwae(log_w).mean(0)


def moe_iwae_tight(log_w: Tensor) -> Tensor:
    """The tight MoE-IWAE: log (1/(MK)) Σ_m Σ_k w(z_m^k), the average inside the log.

    An importance-sampled estimate of log p(x) with the mixture as proposal (sampled by stratification),
    so ``moe_iwae <= moe_iwae_tight <= log p(x)`` in expectation. ``(M, K, B)`` → ``(B,)``.
    """
    return iwae(log_w.flatten(0, 1))


# --- marginal likelihoods (paper Table 3) -----------------------------------------------------------

@torch.no_grad()
def log_likelihood(model, xs: Sequence[Tensor | None], k: int = 1000, generator: torch.Generator | None = None,
                   *, proposal: Sequence[int] | None = None, targets: Sequence[int] | None = None,
                   chunk_size: int | None = None, scaled: bool = False) -> Tensor:
    """Importance-sampled log p(x_targets) with proposal q(z | x_proposal): :func:`moe_iwae_tight`
    over K samples per expert, decoded ``chunk_size`` samples per expert at a time. ``(B,)``.

    The noise for all K samples is drawn at once (small), so the estimate does not depend on the chunk
    size; chunking bounds the decoders' memory (K=1000 at batch 128 fits on a CPU). Likelihoods are
    unscaled by default: this is the model's marginal likelihood, not the training objective.
    Paper Table 3: ``log p(x_m | x_m, x_n)`` is ``targets=[m], proposal=[m, n]``.
    """
    check_k(k)
    q = model.posterior(xs, proposal)
    targets = model.check_inputs(xs) if targets is None else list(targets)
    eps = q.noise(k, generator)                                        # (S, K, B, D)
    if chunk_size is None:  # ~4096 decoded samples per call keeps the big decoders in cache
        chunk_size = max(1, 4096 // (eps.shape[0] * eps.shape[2]))
    chunks = [_log_weights_at(model, q, q.transform(e), xs, targets, scaled, q).log_w
              for e in eps.split(chunk_size, dim=1)]
    return moe_iwae_tight(torch.cat(chunks, dim=1))


# --- the linear-time alternative (paper §3 and Appendix B) -------------------------------------------

def mixture_log_weights(model, xs: Sequence[Tensor | None], k: int, generator: torch.Generator | None = None, *,
                        subset: Sequence[int] | None = None, targets: Sequence[int] | None = None,
                        detach_q: bool = False, scaled: bool = True) -> LogWeights:
    """K samples from the mixture q_MoE itself, not K from each expert: the importance-sampling scheme on
    the standard ELBO that the paper offers (§3, Appendix B) when M² decodings cost too much.

    Each sample picks its expert uniformly, m ~ U{1..M}, then z ~ q_m(z | x_m) (reparameterised; the
    choice has fixed probabilities 1/M, so it needs no gradient of its own). The weights are those of
    eq. (1)-(2) with the mixture as the one proposal, w = p(z, x_1:M) / q_MoE(z | x_1:M), so
    :func:`elbo` of them is an unbiased estimate of the MoE ELBO and :func:`iwae` an importance-sampled
    estimate of log p(x) that tends to it as K grows. Each sample is decoded once per modality: M·K
    decodings per datapoint instead of stratification's M²·K, at the price of a noisier estimate.

    Arguments as :func:`log_weights`. Returns one stratum: ``log_w`` ``(1, K, B)``, ``z`` ``(1, K, B, D)``.
    """
    check_k(k)
    q = model.posterior(xs, subset)
    targets = model.check_inputs(xs) if targets is None else list(targets)
    experts = q.experts                                                # loc/scale (S, B, D)
    s, b = experts.loc.shape[:2]
    which = torch.randint(s, (k, b), generator=generator, device=experts.loc.device)   # (K, B)
    eps = experts[0].noise(k, generator)                               # (K, B, D)
    batch = torch.arange(b, device=experts.loc.device)
    z = experts.loc[which, batch] + experts.scale[which, batch] * eps  # (K, B, D)
    z = z.unsqueeze(0)                                                 # (1, K, B, D)
    return _log_weights_at(model, q, z, xs, targets, scaled, q.detach() if detach_q else q)
