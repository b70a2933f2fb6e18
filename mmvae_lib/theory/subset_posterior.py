"""JNF's subset posterior where it has a closed form (notebook 11): Gaussian experts and a Gaussian prior.

With experts q_j = N(μ_j, Σ_j) and prior p = N(0, I), the product divided n times by the prior is Gaussian,

    Π_j q_j(z) / p(z)^n ∝ N(z; m, C),   C⁻¹ = Σ_j Σ_j⁻¹ − n I,   m = C Σ_j Σ_j⁻¹ μ_j

(n = |S| − 1 for the exact product of the true posteriors, n = 1 in the authors' code), so the HMC sampler
(:mod:`mmvae_lib.models.hmc`) can be checked against it: :func:`hmc_against_closed_form` runs it as JNF
does (each chain started from a draw of one expert) and compares the samples' mean and covariance with
(m, C) in units of their Monte Carlo standard errors.
"""
from __future__ import annotations

import torch
from torch import Tensor

from mmvae_lib.models.hmc import HMCSettings, hmc


def gaussian_experts(n_experts: int = 3, d: int = 2, seed: int = 0, spread: float = 0.5,
                     floor: float = 0.6) -> tuple[Tensor, Tensor]:
    """Correlated Gaussian experts: means N(0, I), covariances ``spread² A Aᵀ + floor I`` (A standard
    normal), ``(n_experts, d)`` and ``(n_experts, d, d)``."""
    g = torch.Generator().manual_seed(seed)
    locs = torch.randn(n_experts, d, generator=g)
    a = torch.randn(n_experts, d, d, generator=g) * spread
    return locs, a @ a.transpose(-1, -2) + floor * torch.eye(d)


def product_over_prior(locs: Tensor, covs: Tensor, divisions: int) -> tuple[Tensor, Tensor]:
    """(m, C) of Π_j N(μ_j, Σ_j) / N(0, I)^divisions (module docstring). Raises if C⁻¹ is not positive
    definite (the prior divided out more often than the experts can carry)."""
    precisions = torch.linalg.inv(covs)
    precision = precisions.sum(0) - divisions * torch.eye(locs.shape[-1], dtype=locs.dtype)
    if torch.linalg.eigvalsh(precision).min() <= 0:
        raise ValueError(f"dividing by the prior {divisions} times leaves no normalisable density for these experts")
    cov = torch.linalg.inv(precision)
    return cov @ (precisions @ locs[..., None]).sum(0)[:, 0], cov


def hmc_against_closed_form(locs: Tensor, covs: Tensor, divisions: int, chains: int, settings: HMCSettings,
                            seed: int = 0) -> dict[str, float]:
    """Sample Π_j q_j / p^divisions with ``chains`` HMC chains (each from a draw of an expert, in turn) and
    compare with the closed form: the largest error of the mean over dimensions in standard errors
    (σ_d / √chains), the largest error of the variances relative to the exact ones, the mean acceptance."""
    mean, cov = product_over_prior(locs, covs, divisions)
    experts = torch.distributions.MultivariateNormal(locs, covs)
    prior = torch.distributions.MultivariateNormal(torch.zeros_like(locs[0]), torch.eye(locs.shape[-1]))
    g = torch.Generator().manual_seed(seed)
    which = torch.arange(chains) % len(locs)                                 # a draw of each expert in turn
    eps = torch.randn(chains, locs.shape[-1], generator=g, dtype=locs.dtype)
    start = locs[which] + (torch.linalg.cholesky(covs)[which] @ eps[..., None])[..., 0]
    result = hmc(lambda z: experts.log_prob(z[:, None, :]).sum(-1) - divisions * prior.log_prob(z), start, g,
                 settings)
    sd = cov.diagonal().sqrt()
    mean_error = ((result.z.mean(0) - mean).abs() / (sd / chains ** 0.5)).max().item()
    var_error = ((torch.cov(result.z.T).diagonal() - cov.diagonal()).abs() / cov.diagonal()).max().item()
    return {"mean error (standard errors)": mean_error, "variance error (relative)": var_error,
            "acceptance": result.acceptance.mean().item(),
            "variance error, Monte Carlo scale": (2 / chains) ** 0.5}
