"""The measurements behind notebook 02: the paper's mixture-versus-product argument (§3, Appendices B-D)
made into numbers on small models whose answers are known.

- :func:`precision_sweep`, :func:`log_densities`: Gaussian experts, their product (:func:`~mmvae_lib.poe`)
  and their mixture (:func:`~mmvae_lib.moe_log_prob`) as one expert grows confident (§3, "MoE vs. PoE").
- :func:`bounds_against_k`: every bound of §3 (eqs. 1-3, the tight variant, Appendix B's mixture-sampled
  ELBO and IWAE, the PoE ELBO) on the linear-Gaussian model, beside its exact log p(x_1:M).
- :func:`expert_entropy`, :func:`exact_entropies`: posterior entropies (Appendix D).
- :func:`cost_against_m`, :func:`decoded_samples`, :func:`time_per_step`: the M² decodings of stratified
  sampling against Appendix B's M.
- :func:`snr_against_k`: encoder-gradient signal-to-noise ratios of IWAE and DReG (§3, Appendix C).
- :func:`official_against_dreg`: DReG's gradient of eq. (3) beside the official code's, on the same samples.

Every size comes from the profile (:class:`mmvae_lib.profiles.TheorySizes`); every function takes its seed.
Functions return lists of plain dicts (one row per measurement), ready for ``pandas.DataFrame``.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from mmvae_lib.models.distributions import Factorised, moe_log_prob, poe
from mmvae_lib.objectives import bounds
from mmvae_lib.objectives.estimators import OBJECTIVES
from mmvae_lib.theory.linear_gaussian import DTYPE, LinearGaussian, gradient_snr


# --- 1. precision miscalibration (§3, "MoE vs. PoE") -----------------------------------------------

def two_experts(confident_loc: Sequence[float], other_loc: Sequence[float],
                confident_precision: float | Sequence[float], other_precision: float | Sequence[float] = 1.0
                ) -> Factorised:
    """Two Gaussian experts in D = len(loc) dimensions, loc/scale ``(M=2, B=1, D)``; a precision is one
    number (the same in every dimension) or one per dimension."""
    if len(confident_loc) != len(other_loc):
        raise ValueError(f"both experts need a mean of the same dimension, got {len(confident_loc)} and "
                         f"{len(other_loc)}")
    locs = torch.tensor([confident_loc, other_loc], dtype=DTYPE)[:, None]             # (2, 1, D)
    precisions = torch.stack([torch.as_tensor(p, dtype=DTYPE).expand(locs.shape[-1])
                              for p in (confident_precision, other_precision)])      # (2, D)
    if not bool((precisions > 0).all()):
        raise ValueError(f"precisions must be positive, got {confident_precision!r} and {other_precision!r}")
    return Factorised("normal", locs, precisions.rsqrt()[:, None, :])


def precision_sweep(confident_loc: Sequence[float], other_loc: Sequence[float], precisions: Sequence[float],
                    other_precision: float = 1.0) -> list[dict]:
    """The product and the mixture of two Gaussian experts as the first expert's precision grows.

    Per precision: the PoE mean (:func:`poe`, no prior expert) and the MoE mean (the average of the
    experts' means, whatever their precisions); ``poe_pull``, the share of the way from the other
    expert's mean to the confident one's that the PoE mean has gone (its precision share,
    τ_1/(τ_1+τ_2)); and the log density each combination gives the *other* expert's mean (the veto: the
    PoE's falls without bound, the mixture's stays above log q_2(μ_2) − log 2).
    """
    rows = []
    for tau in precisions:
        experts = two_experts(confident_loc, other_loc, tau, other_precision)
        product = poe(experts)                                                          # (1, D)
        at_other = experts.loc[1]                                                       # (1, D)
        a, b = experts.loc[0, 0], experts.loc[1, 0]
        pull = ((product.loc[0] - b) @ (a - b) / ((a - b) @ (a - b))).item()
        row = {"precision_confident": float(tau), "precision_other": float(other_precision),
               "precision_ratio": float(tau) / other_precision, "poe_pull": pull,
               "poe_log_density_at_other": product.log_prob(at_other).item(),
               "moe_log_density_at_other": moe_log_prob(at_other, experts).item(),
               "other_log_density_at_own_mean": experts[1].log_prob(at_other).item()}
        for d in range(experts.loc.shape[-1]):
            row[f"poe_mean_{d}"] = product.loc[0, d].item()
            row[f"moe_mean_{d}"] = experts.loc[:, 0, d].mean().item()
        rows.append(row)
    return rows


def log_densities(experts: Factorised, points: Tensor) -> dict[str, Tensor]:
    """log q at ``points`` ``(N, D)`` for each expert of ``experts`` (loc/scale ``(M, 1, D)``), for their
    product (:func:`poe`) and for their mixture (:func:`moe_log_prob`): each ``(N,)``."""
    z = points[:, None, :]                                                              # (N, B=1, D)
    out = {f"expert {m + 1}": experts[m].log_prob(z)[:, 0] for m in range(experts.loc.shape[0])}
    out["PoE"] = poe(experts).log_prob(z)[:, 0]
    out["MoE"] = moe_log_prob(z, experts)[:, 0]
    return out


# --- 2. the bounds against the exact log-likelihood (§3, eqs. 1-3; Appendix B) ----------------------

BOUND_NAMES = ("ELBO (mixture-sampled)", "IWAE_K (mixture-sampled)", "MoE-ELBO", "MoE-IWAE eq. (3)",
               "MoE-IWAE tight", "PoE ELBO", "PoE IWAE_K")


@torch.no_grad()
def bound_values(mmvae, mvae, xs: Sequence[Tensor], k: int, generator: torch.Generator) -> dict[str, float]:
    """One estimate of every bound in :data:`BOUND_NAMES` at K, each averaged over the datapoints.

    Stratified MoE bounds use K samples from each of the M experts; the mixture-sampled ELBO and IWAE
    (Appendix B) use K samples from the mixture itself; the PoE bounds K samples from the product.
    """
    strat = bounds.log_weights(mmvae, xs, k, generator).log_w                           # (M, K, B)
    mixed = bounds.mixture_log_weights(mmvae, xs, k, generator).log_w                   # (1, K, B)
    product = bounds.log_weights(mvae, xs, k, generator).log_w                          # (1, K, B)
    values = (bounds.elbo(mixed)[0], bounds.iwae(mixed)[0], bounds.moe_elbo(strat), bounds.moe_iwae(strat),
              bounds.moe_iwae_tight(strat), bounds.elbo(product)[0], bounds.iwae(product)[0])
    return {name: v.mean().item() for name, v in zip(BOUND_NAMES, values)}


def bounds_against_k(mmvae, mvae, xs: Sequence[Tensor], log_p: float, k_grid: Sequence[int], reps: int,
                     seed: int = 0) -> list[dict]:
    """Every bound at every K: the mean over ``reps`` independent estimates, their standard deviation
    (the spread of one estimate over the datapoints' mean), and the gap to the exact mean ``log_p``."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for k in k_grid:
        draws = [bound_values(mmvae, mvae, xs, k, generator) for _ in range(reps)]
        for name in BOUND_NAMES:
            values = np.array([d[name] for d in draws])
            rows.append({"k": k, "bound": name, "value": float(values.mean()),
                         "std": float(values.std(ddof=1)) if reps > 1 else 0.0,
                         "gap": log_p - float(values.mean()), "reps": reps, "seed": seed})
    return rows


# --- 3. entropy of the learnt posteriors (Appendix D) ----------------------------------------------

@torch.no_grad()
def expert_entropy(model, xs: Sequence[Tensor]) -> list[float]:
    """The differential entropy of each unimodal expert q_m(z | x_m), averaged over the datapoints."""
    experts = model.experts(xs)                                                         # (M, B, D)
    return experts.entropy().mean(-1).tolist()


def exact_entropies(lg: LinearGaussian, xs: Sequence[Tensor]) -> dict[str, float]:
    """Entropies of the exact posteriors: each unimodal p(z | x_m), and the joint p(z | x_1:M).

    (The linear-Gaussian posteriors' scales do not depend on x, so these are exact, not averages.)"""
    out = {}
    for m in range(lg.n_modalities):
        loc, scale = lg.posterior(xs, [m])
        out[f"p(z | x_{m + 1})"] = Factorised("normal", loc[0], scale).entropy().item()
    loc, scale = lg.posterior(xs)
    out["p(z | x_1:M)"] = Factorised("normal", loc[0], scale).entropy().item()
    return out


# --- 4. cost: M² decodings against M (§3, Appendix B) ----------------------------------------------

def decoded_samples(model, xs: Sequence[Tensor], objective: str, k: int, seed: int = 0) -> int:
    """How many latent samples the decoders decode, all decoders together, in one evaluation of
    ``objective``: counted by hooks on the decoders, not computed from a formula."""
    count = [0]

    def hook(module, inputs, output):
        count[0] += inputs[0].shape[0]

    handles = [d.register_forward_hook(hook) for d in model.decoders]
    try:
        with torch.no_grad():
            OBJECTIVES[objective](model, xs, k, torch.Generator().manual_seed(seed))
    finally:
        for h in handles:
            h.remove()
    return count[0]


def time_per_step(model, xs: Sequence[Tensor], objective: str, k: int, reps: int, seed: int = 0) -> float:
    """The shortest wall time (s) of one training step's work, the objective forward and its backward,
    over ``reps`` steps after one untimed warm-up. The minimum, not the mean: other processes only ever
    add time, so the fastest step is the best estimate of the step's own cost."""
    generator = torch.Generator().manual_seed(seed)
    times = []
    for i in range(reps + 1):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        OBJECTIVES[objective](model, xs, k, generator).surrogate.mean().backward()
        if i:
            times.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return min(times)


@torch.no_grad()
def estimator_spread(model, xs: Sequence[Tensor], objective: str, k: int, reps: int, seed: int = 0
                     ) -> tuple[float, float]:
    """``reps`` independent estimates of ``objective``'s bound per datapoint: their mean over everything,
    and the standard deviation of one estimate (over the draws), averaged over the datapoints."""
    if reps < 2:
        raise ValueError(f"the spread of an estimate needs reps >= 2 draws, got {reps}")
    generator = torch.Generator().manual_seed(seed)
    draws = torch.stack([OBJECTIVES[objective](model, xs, k, generator).bound for _ in range(reps)])  # (R, B)
    return draws.mean().item(), draws.std(0).mean().item()


COST_OBJECTIVES = ("moe_elbo", "moe_elbo_linear")


def cost_against_m(m_grid: Sequence[int], k: int, batch: int, obs_dim: int, reps: int, seed: int = 0,
                   latent_dim: int = 8, objectives: Sequence[str] = COST_OBJECTIVES) -> list[dict]:
    """For M modalities of ``obs_dim`` dimensions each (a linear-Gaussian model with the exact unimodal
    posteriors as experts): per objective, the samples decoded per datapoint, the bound's mean and its
    per-datapoint spread over ``reps`` draws, and the fastest time per step. Stratified ``moe_elbo``
    decodes M·K·B samples with each of the M decoders; Appendix B's ``moe_elbo_linear`` K·B with each."""
    rows = []
    for m in m_grid:
        lg = LinearGaussian.make(dims=(obs_dim,) * m, latent_dim=latent_dim, sigma=(0.8,) * m, seed=seed)
        model, xs = lg.mmvae(), lg.sample(batch, seed=seed + 1)
        for name in objectives:
            mean, spread = estimator_spread(model, xs, name, k, reps, seed)
            rows.append({"m": m, "objective": name, "k": k, "batch": batch,
                         "decoded_per_point": decoded_samples(model, xs, name, k, seed) / batch,
                         "bound_mean": mean, "bound_std_per_point": spread,
                         "seconds_per_step": time_per_step(model, xs, name, k, reps, seed), "seed": seed})
    return rows


def growth_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """The slope of log y against log x (least squares): y ∝ x^slope. 2 for quadratic growth."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


# --- 5. gradient signal-to-noise against K (§3, Appendix C) ----------------------------------------

def snr_against_k(model, xs: Sequence[Tensor], objectives: Sequence[str], k_grid: Sequence[int], reps: int,
                  seed: int = 0, parameter: str = "encoders.0.a") -> list[dict]:
    """The SNR of one encoder parameter's gradient (:func:`~mmvae_lib.linear_gaussian.gradient_snr`) for
    each objective and K; the draws at K use the seed ``seed + K``, the same for every objective."""
    return [{"objective": name, "k": k, "snr": gradient_snr(model, xs, name, k, reps, seed + k, parameter),
             "reps": reps, "seed": seed}
            for name in objectives for k in k_grid]



def official_against_dreg(model, xs: Sequence[Tensor], k_grid: Sequence[int], seed: int = 0) -> list[dict]:
    """Eq. (3)'s gradient on one batch by DReG (``moe_dreg_looser``) and by the official code's estimator
    (``moe_dreg_looser_official``: one factor of the normalised weights on the encoder path, not two), on the same
    samples (seed ``seed + K``): for each K, the cosine between the two encoder gradients (every encoder parameter,
    flattened), the ratio of their norms, and the largest difference between the two decoder gradients."""
    encoder = [p for n, p in model.named_parameters() if n.startswith("encoders")]
    decoder = [p for n, p in model.named_parameters() if n.startswith("decoders")]
    rows = []
    for k in k_grid:
        grads = []
        for name in ("moe_dreg_looser", "moe_dreg_looser_official"):
            estimate = OBJECTIVES[name](model, xs, k, torch.Generator().manual_seed(seed + k))
            g = torch.autograd.grad(estimate.surrogate.mean(), encoder + decoder)
            grads.append((torch.cat([x.flatten() for x in g[:len(encoder)]]),
                          torch.cat([x.flatten() for x in g[len(encoder):]])))
        (dreg_enc, dreg_dec), (official_enc, official_dec) = grads
        rows.append({"k": k, "encoder cosine": float(torch.nn.functional.cosine_similarity(dreg_enc, official_enc, 0)),
                     "encoder norm, official / DReG": float(official_enc.norm() / dreg_enc.norm()),
                     "decoder max |difference|": float((dreg_dec - official_dec).abs().max()), "seed": seed})
    return rows
