"""The training objectives of JNF and JNF-Shared (:mod:`mmvae_lib.models.jnf`), one per stage, with the
estimator signature ``(model, xs, k, generator, **options) -> Estimate`` (registered in
:data:`mmvae_lib.objectives.OBJECTIVES`).

A recipe (each stage updates only its submodules, :class:`mmvae_lib.training.Stage` ``update=``):

    [Stage("joint", "jnf_joint_elbo", update=JNF.JOINT_PARTS, options=KLWeight(β)),
     Stage("dcca", "dcca", update=JNF.PROJECTOR_PARTS, batch_size=800),            # JNF-Shared only
     Stage("unimodal", "jnf_unimodal", update=model.unimodal_parts)]

The trainer logs ``Estimate.bound``. Only the first is a bound on log p; for the others the docstring says
what is logged instead.
"""
from __future__ import annotations

import torch

from mmvae_lib.models.projectors import contrastive_loss, dcca_loss
from mmvae_lib.objectives.estimators import Estimate


def _all_modalities(model, xs, name: str) -> None:
    present = model.check_inputs(xs)
    if len(present) != model.n_modalities:
        raise ValueError(f"{name} needs every modality in each batch; got {present} of "
                         f"{list(range(model.n_modalities))}")


def jnf_joint_elbo(model, xs, k: int = 1, generator: torch.Generator | None = None, beta: float = 1.0) -> Estimate:
    """Stage 1, the joint model's β-ELBO with the joint encoder's posterior q(z | X), X = x_1..x_M:

        E_{q(z|X)}[Σ_m s_m log p(x_m | z)] − β KL(q(z | X) || p(z)),

    the expectation over K reparameterised samples, the KL in closed form (Gaussians, as the authors').
    ``bound``: the ELBO (β = 1) per datapoint, ``(B,)``; ``surrogate``: the β-weighted one.
    """
    _all_modalities(model, xs, "jnf_joint_elbo")
    q = model.joint_posterior(xs)                                      # (B, D)
    z = q.rsample(k, generator)                                        # (K, B, D)
    log_lik = model.log_likelihoods(z, xs, range(model.n_modalities)).mean(0)   # (B,)
    kl = q.kl(model.prior()).sum(-1)                                   # (B,)
    return Estimate((log_lik - kl).detach(), log_lik - beta * kl)


def jnf_unimodal(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
    """Stage 2: fit each unimodal posterior to the frozen joint one by maximising

        Σ_m E_{q(z|X)}[log q_m(z | x_m)]  =  −Σ_m KL(q(z | X) || q_m(z | x_m)) − M·H[q(z | X)],

    K samples z ~ q(z | X), drawn without gradient (the joint encoder is frozen). ``surrogate``: the left
    side, ``(B,)``. ``bound`` (what the trainer logs; not a bound on log p): −Σ_m KL(q(z|X) || q_m(z|x_m)),
    the left side plus M times the joint's entropy (closed form), so it rises to 0 as the fit closes the
    gap. The entropy does not depend on what this stage trains: both have the same gradient.
    """
    _all_modalities(model, xs, "jnf_unimodal")
    with torch.no_grad():
        q = model.joint_posterior(xs)                                  # (B, D)
        z = q.rsample(k, generator)                                    # (K, B, D)
        entropy = q.entropy()                                          # (B,)
    log_q = model.unimodal_posteriors(xs).log_prob_each(z)             # (K, M, B)
    fit = log_q.sum(1).mean(0)                                         # (B,)
    return Estimate((fit + model.n_modalities * entropy).detach(), fit)


def _per_datapoint(value: torch.Tensor, xs) -> torch.Tensor:
    b = next(x for x in xs if x is not None).shape[0]
    return value.expand(b)


def dcca(model, xs, k: int = 1, generator: torch.Generator | None = None) -> Estimate:
    """The projectors' deep CCA stage: maximise Σ_{i<j} the total canonical correlation of g_i(x_i) and
    g_j(x_j) over the batch (:func:`mmvae_lib.models.projectors.dcca_loss`). A batch-level quantity, given
    to every datapoint; ``bound`` (logged; not a bound on log p) is the total correlation itself, the
    negative of the DCCA loss. ``k`` and ``generator`` are unused (deterministic)."""
    _all_modalities(model, xs, "dcca")
    corr = -dcca_loss(model.project(xs))
    return Estimate(_per_datapoint(corr.detach(), xs), _per_datapoint(corr, xs))


def contrastive(model, xs, k: int = 1, generator: torch.Generator | None = None,
                temperature: float = 0.1) -> Estimate:
    """The projectors' contrastive stage: minimise Σ_{i<j} InfoNCE(g_i(x_i), g_j(x_j)) at ``temperature``
    (:func:`mmvae_lib.models.projectors.contrastive_loss`). ``bound`` (logged; not a bound on log p) is the
    negative of the loss, ≤ 0, rising as matching pairs are told apart from the rest of the batch."""
    _all_modalities(model, xs, "contrastive")
    value = -contrastive_loss(model.project(xs), temperature)
    return Estimate(_per_datapoint(value.detach(), xs), _per_datapoint(value, xs))


OBJECTIVES = {
    "jnf_joint_elbo": jnf_joint_elbo,
    "jnf_unimodal": jnf_unimodal,
    "dcca": dcca,
    "contrastive": contrastive,
}
