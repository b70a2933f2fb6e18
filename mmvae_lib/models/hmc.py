"""Hamiltonian Monte Carlo, batched over independent chains: how JNF samples a subset posterior that has
no closed form (Senellart & Allassonnière, "Bridging the inference gap", the PoE of flow posteriors).

A target is given by its unnormalised log density ``log π(z)``, a function of latents ``(N, D)`` returning
``(N,)``; each row is its own chain (one per datapoint and sample). Each HMC step draws a momentum
``ρ ~ N(0, I)`` (identity mass matrix), follows the Hamiltonian ``H(z, ρ) = −log π(z) + ½|ρ|²`` for
``leapfrog_steps`` leapfrog steps of size ``ε``,

    ρ ← ρ + (ε/2) ∇ log π(z);   z ← z + ε ρ;   ρ ← ρ + (ε/2) ∇ log π(z),

and accepts the end point with probability ``min(1, exp(H_start − H_end))`` (Metropolis), chain by chain.
No step-size adaptation, no burn-in or thinning: the final state is returned (as the authors' code does),
with each chain's acceptance rate. Gradients come from autograd on ``log π``; all randomness from the
generator passed in.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor


@dataclass(frozen=True)
class HMCSettings:
    """The sampler's schedule. Defaults: the authors' (MultiVae ``jnf_model._sample_from_poe_subset`` as
    called by ``encode``: 100 steps, 10 leapfrog steps of size 0.01)."""

    steps: int = 100
    leapfrog_steps: int = 10
    step_size: float = 0.01

    def __post_init__(self):
        for name in ("steps", "leapfrog_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"HMC {name} must be an integer >= 1, got {value!r}")
        if not self.step_size > 0:
            raise ValueError(f"HMC step_size must be positive, got {self.step_size!r}")


class HMCResult(NamedTuple):
    z: Tensor           # (N, D) the chains' final states
    acceptance: Tensor  # (N,) the fraction of steps each chain accepted


def _grad(log_density: Callable[[Tensor], Tensor], z: Tensor) -> tuple[Tensor, Tensor]:
    """log π(z) ``(N,)`` and its gradient ``(N, D)``, both detached."""
    z = z.detach().requires_grad_(True)
    value = log_density(z)
    (grad,) = torch.autograd.grad(value.sum(), z)
    return value.detach(), grad.detach()


def _noise(fn, shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    device = generator.device if generator is not None else like.device
    return fn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def hmc(log_density: Callable[[Tensor], Tensor], z0: Tensor, generator: torch.Generator | None = None,
        settings: HMCSettings = HMCSettings()) -> HMCResult:
    """Run ``settings.steps`` HMC steps from ``z0`` ``(N, D)`` (N independent chains) on the target
    ``log_density`` (``(N, D)`` → ``(N,)``, unnormalised). Returns the final states and acceptance rates.

    Works under ``torch.no_grad()`` (it enables gradients for its own leapfrog steps); the samples carry
    no gradient. A proposal whose energy is not finite is rejected.
    """
    if z0.dim() != 2:
        raise ValueError(f"z0 must be (chains, latent) = 2-D, got shape {tuple(z0.shape)}")
    eps = settings.step_size
    accepted = torch.zeros(z0.shape[0], device=z0.device, dtype=z0.dtype)
    with torch.enable_grad():
        z = z0.detach()
        log_p, grad = _grad(log_density, z)
        for _ in range(settings.steps):
            rho = _noise(torch.randn, z.shape, generator, z)
            h_start = -log_p + 0.5 * rho.pow(2).sum(-1)
            z_new, g_new, log_p_new = z, grad, log_p
            for _ in range(settings.leapfrog_steps):
                rho = rho + 0.5 * eps * g_new
                z_new = z_new + eps * rho
                log_p_new, g_new = _grad(log_density, z_new)
                rho = rho + 0.5 * eps * g_new
            h_end = -log_p_new + 0.5 * rho.pow(2).sum(-1)
            u = _noise(torch.rand, z.shape[:1], generator, z)
            accept = torch.isfinite(h_end) & (torch.log(u) < h_start - h_end)     # (N,)
            z = torch.where(accept[:, None], z_new, z)
            grad = torch.where(accept[:, None], g_new, grad)
            log_p = torch.where(accept, log_p_new, log_p)
            accepted += accept.to(accepted.dtype)
    return HMCResult(z.detach(), accepted / settings.steps)
