"""Gradient estimators: each returns the bound's value and, separately, the surrogate to differentiate.

Training maximises ``Estimate.surrogate`` and logs ``Estimate.bound``. For the plain reparameterised
estimators the two coincide; for DReG (Tucker et al. 2019) the surrogate's value is *not* the bound.

Every estimator has the signature ``(model, xs, k, generator=None, **options) -> Estimate`` and is
listed by name in :data:`OBJECTIVES`.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import torch
from torch import Tensor

from mmvae_lib.objectives import bounds
from mmvae_lib.objectives.bounds import log_weights


class Estimate(NamedTuple):
    bound: Tensor      # (B,) the value of the bound, detached: what to log and report
    surrogate: Tensor  # (B,) what to differentiate (maximise); its value need not be the bound


def _one_expert(value: Tensor, name: str) -> Tensor:
    if value.shape[0] != 1:
        raise ValueError(f"{name} is a single-posterior bound but the posterior has {value.shape[0]} "
                         f"experts; use the moe_ variant")
    return value[0]


def _reparameterised(reduction, single: bool, sampler=log_weights, name: str | None = None):
    """The estimator whose surrogate is the bound itself: ``reduction`` of the log weights that
    ``sampler`` draws (stratified by default)."""
    name = name or reduction.__name__

    def estimate(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
        value = reduction(sampler(model, xs, k, generator).log_w)
        value = _one_expert(value, name) if single else value
        return Estimate(value.detach(), value)

    estimate.__name__ = name
    estimate.__doc__ = f"The reparameterised estimator of :func:`mmvae_lib.objectives.bounds.{name}`."
    return estimate


elbo = _reparameterised(bounds.elbo, single=True)
iwae = _reparameterised(bounds.iwae, single=True)
moe_elbo = _reparameterised(bounds.moe_elbo, single=False)
moe_iwae = _reparameterised(bounds.moe_iwae, single=False)
moe_iwae_tight = _reparameterised(bounds.moe_iwae_tight, single=False)


def _dreg(model, xs, k, generator, per_expert: bool, hook: bool = True) -> tuple[Tensor, Tensor]:
    """The DReG surrogate (Tucker et al. 2019) over log weights ``(S, K, B)``.

    With normalised weights w̃ (over K within each expert if ``per_expert``, else over all S·K samples)
    and log q evaluated at detached posterior parameters:
    - the decoder (and prior) gradient is Σ w̃ ∇ log w, as in IWAE;
    - the encoder gradient flows only along the reparameterised path z(φ), weighted by w̃²:
      the surrogate Σ w̃ log w carries one factor w̃, and a hook on z multiplies the gradient reaching
      the samples by a second.
    Without ``hook``, the second factor is missing: the official MMVAE code's gradient (:func:`official`).
    Returns (log_w, surrogate (S, B) if per_expert else (B,)).
    """
    log_w, z, _ = log_weights(model, xs, k, generator, detach_q=True)     # (S, K, B), (S, K, B, D)
    if per_expert:
        w = torch.softmax(log_w, dim=1).detach()                          # over K
    else:
        w = torch.softmax(log_w.flatten(0, 1), dim=0).view_as(log_w).detach()  # over S·K
    if hook and z.requires_grad:
        z.register_hook(lambda grad: grad * w.unsqueeze(-1))
    surrogate = (w * log_w).sum(1)                                        # (S, B)
    return log_w, surrogate if per_expert else surrogate.sum(0)


def dreg(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
    """DReG for a single posterior: bound :func:`mmvae_lib.objectives.bounds.iwae`."""
    log_w, surrogate = _dreg(model, xs, k, generator, per_expert=True)
    return Estimate(_one_expert(bounds.iwae(log_w), "dreg").detach(), _one_expert(surrogate, "dreg"))


def moe_dreg(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
    """DReG for the tight MoE-IWAE (weights normalised over all M·K samples): bound
    :func:`mmvae_lib.objectives.bounds.moe_iwae_tight`."""
    log_w, surrogate = _dreg(model, xs, k, generator, per_expert=False)
    return Estimate(bounds.moe_iwae_tight(log_w).detach(), surrogate)


def moe_dreg_looser(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
    """DReG for the paper's eq. (3), the "looser" MoE-IWAE (weights normalised within each modality,
    then the average over modalities): bound :func:`mmvae_lib.objectives.bounds.moe_iwae`. What the paper trains."""
    log_w, surrogate = _dreg(model, xs, k, generator, per_expert=True)
    return Estimate(bounds.moe_iwae(log_w).detach(), surrogate.mean(0))


def official(estimator):
    """The official MMVAE code's version of a DReG ``estimator`` (``dreg``, ``moe_dreg`` or ``moe_dreg_looser``):
    the same surrogate Σ w̃ log w (w̃ and q's parameters detached), without the hook that multiplies the gradient
    reaching z by w̃ a second time. The released code (Shi et al., ``iffsid/mmvae``, ``src/objectives.py``) registers
    that hook on a tensor it builds after the log weights (a ``torch.stack``/``torch.cat`` of the samples), which the
    loss does not depend on, so the hook never fires: its encoder gradient is Σ w̃ ∇_z log w · ∂z/∂φ, one factor
    of w̃ where DReG has w̃². The decoder gradient is DReG's. Not an unbiased estimator of the bound's encoder
    gradient; the paper's runs presumably trained with it."""
    per_expert = estimator is not moe_dreg

    def estimate(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
        log_w, surrogate = _dreg(model, xs, k, generator, per_expert=per_expert, hook=False)
        if estimator is dreg:
            return Estimate(_one_expert(bounds.iwae(log_w), "dreg").detach(), _one_expert(surrogate, "dreg"))
        if estimator is moe_dreg:
            return Estimate(bounds.moe_iwae_tight(log_w).detach(), surrogate)
        return Estimate(bounds.moe_iwae(log_w).detach(), surrogate.mean(0))

    estimate.__name__ = f"{estimator.__name__}_official"
    estimate.__doc__ = f"The official code's gradient for :func:`{estimator.__name__}` (see :func:`official`)."
    return estimate


dreg_official = official(dreg)
moe_dreg_official = official(moe_dreg)
moe_dreg_looser_official = official(moe_dreg_looser)


def mvae(model, xs, k: int = 1, generator: torch.Generator | None = None, beta: float = 1.0,
         subsets: int = 0) -> Estimate:
    """The MVAE objective (Wu & Goodman 2018): ELBO(x_1:M) + Σ_m ELBO(x_m) + Σ_{j=1..subsets} ELBO(X_j), each
    ELBO with its own product-of-experts posterior and only its own modalities' likelihoods (the "sub-sampled"
    terms). With more than two modalities the paper adds the ELBOs of ``subsets`` random subsets X_j; here
    each is drawn uniformly among the subsets of 2 to M − 1 present modalities, with ``generator`` (none
    exist for M ≤ 2, where ``subsets`` changes nothing).

    ``beta`` weighs the KL part, log q − log p(z), of every term (KL annealing, or a β-VAE weight). The bound
    reported is the joint ELBO at beta = 1; the surrogate is the weighted sum.
    """
    present = model.check_inputs(xs)
    terms = [present] + ([[m] for m in present] if len(present) > 1 else [])
    middle = [list(chosen) for size in range(2, len(present))
              for chosen in itertools.combinations(present, size)]
    if middle and subsets:
        device = generator.device if generator is not None else None
        picks = torch.randint(len(middle), (subsets,), generator=generator, device=device)
        terms += [middle[i] for i in picks.tolist()]
    surrogate, bound = 0.0, None
    for subset in terms:
        log_w, _, log_lik = log_weights(model, xs, k, generator, subset=subset, targets=subset)
        annealed = bounds.elbo(log_lik + beta * (log_w - log_lik))[0]      # (B,)
        surrogate = surrogate + annealed
        if bound is None:
            bound = bounds.elbo(log_w)[0].detach()
    return Estimate(bound, surrogate)


def moe_elbo_linear(model, xs, k: int = 1, generator: torch.Generator | None = None,
                    beta: float = 1.0) -> Estimate:
    """The linear-time MoE ELBO (paper §3, Appendix B): K samples from the mixture q_MoE (each from an expert
    picked uniformly), decoded once per modality (M·K decodings, not M²·K). An unbiased estimate of
    :func:`mmvae_lib.objectives.bounds.moe_elbo`'s expectation, with more variance. For any posterior that is a mixture
    (MoPoE's too), the ELBO with that mixture as the proposal.

    ``beta`` weighs the KL part, log q − log p(z) (a β-VAE weight; MoPoE's published runs use 2.5). The bound
    reported is the ELBO at beta = 1.
    """
    weights = bounds.mixture_log_weights(model, xs, k, generator)
    bound = _one_expert(bounds.elbo(weights.log_w), "moe_elbo_linear")
    if beta == 1.0:
        return Estimate(bound.detach(), bound)
    log_lik = weights.log_lik
    return Estimate(bound.detach(), _one_expert(bounds.elbo(log_lik + beta * (weights.log_w - log_lik)),
                                                "moe_elbo_linear"))


moe_iwae_linear = _reparameterised(bounds.iwae, True, bounds.mixture_log_weights, "moe_iwae_linear")
moe_iwae_linear.__doc__ = """IWAE (eq. 2) with the mixture q_MoE as proposal, sampled as in :func:`moe_elbo_linear`
(linear time in M): the importance-sampled log p(x) that the tight MoE-IWAE also estimates, from K
rather than M·K samples."""


OBJECTIVES = {
    "elbo": elbo,
    "iwae": iwae,
    "dreg": dreg,
    "moe_elbo": moe_elbo,
    "moe_iwae": moe_iwae,
    "moe_iwae_tight": moe_iwae_tight,
    "moe_dreg": moe_dreg,
    "moe_dreg_looser": moe_dreg_looser,
    "dreg_official": dreg_official,                  # the official code's gradient: one factor w̃ on the encoder
    "moe_dreg_official": moe_dreg_official,
    "moe_dreg_looser_official": moe_dreg_looser_official,
    "mvae": mvae,
    "moe_elbo_linear": moe_elbo_linear,
    "moe_iwae_linear": moe_iwae_linear,
}
