"""Hamiltonian Monte Carlo, batched over independent chains: how JNF samples a subset posterior that has
no closed form (Senellart & Allassonnière, "Bridging the inference gap", the PoE of flow posteriors).

A target is given by its unnormalised log density ``log π(z)``, a function of latents ``(N, D)`` returning
``(N,)``; each row is its own chain (one per datapoint and sample). Each HMC step draws a momentum
``ρ ~ N(0, I)`` (identity mass matrix), follows the Hamiltonian ``H(z, ρ) = −log π(z) + ½|ρ|²`` for
``leapfrog_steps`` leapfrog steps of size ``ε``,

    ρ ← ρ + (ε/2) ∇ log π(z);   z ← z + ε ρ;   ρ ← ρ + (ε/2) ∇ log π(z),

and accepts the end point with probability ``min(1, exp(H_start − H_end))`` (Metropolis), chain by chain.
The final state is returned (as the authors' code does), with each chain's acceptance rate. Gradients come
from autograd on ``log π``; all randomness from the generator passed in.

The authors use a fixed step size (0.01). Against a closed-form target (a product of Gaussian experts
divided by the prior, :mod:`mmvae_lib.theory.subset_posterior`) that step accepts nearly every proposal
but moves too little to forget the starting expert in 100 steps. ``adapt_steps`` > 0 therefore tunes each
chain's step size during its first steps by the dual averaging of Hoffman & Gelman (2014, "The No-U-Turn
Sampler", §3.2 and Algorithm 5), towards ``target_acceptance``, then samples with the averaged step;
those first steps are burn-in, and the reported acceptance counts only the steps after them. Each chain
adapts on its own: the chains sample different posteriors (one per datapoint), so one shared step size
would be set by the hardest of them. (Pyro's and other libraries' HMC adapt one step size for one chain
over the whole state, which here would be thousands of independent posteriors; hence this sampler.)
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
    called by ``encode``: 100 steps, 10 leapfrog steps of size 0.01, no adaptation).

    ``adapt_steps``: how many of the ``steps`` tune each chain's step size (dual averaging from
    ``step_size``, towards ``target_acceptance``) before the rest sample with it; 0 keeps ``step_size``."""

    steps: int = 100
    leapfrog_steps: int = 10
    step_size: float = 0.01
    adapt_steps: int = 0
    target_acceptance: float = 0.65

    def __post_init__(self):
        for name in ("steps", "leapfrog_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"HMC {name} must be an integer >= 1, got {value!r}")
        if not self.step_size > 0:
            raise ValueError(f"HMC step_size must be positive, got {self.step_size!r}")
        if (isinstance(self.adapt_steps, bool) or not isinstance(self.adapt_steps, int)
                or not 0 <= self.adapt_steps < self.steps):
            raise ValueError(f"HMC adapt_steps must be an integer in [0, steps) = [0, {self.steps}), so that some "
                             f"steps sample after adapting; got {self.adapt_steps!r}")
        if not 0 < self.target_acceptance < 1:
            raise ValueError(f"HMC target_acceptance must be in (0, 1), got {self.target_acceptance!r}")


class HMCResult(NamedTuple):
    z: Tensor           # (N, D) the chains' final states
    acceptance: Tensor  # (N,) the fraction of the sampling steps (after adaptation) each chain accepted
    step_size: Tensor | None = None   # (N,) the step each chain sampled with


class DualAveraging:
    """Hoffman & Gelman (2014), Algorithm 5's step-size adaptation, one step size per chain: after the
    m-th step with Metropolis acceptance probabilities α_m,

        H̄_m = (1 − 1/(m + t₀)) H̄_{m−1} + (δ − α_m)/(m + t₀),   log ε_m = μ − (√m / γ) H̄_m,
        log ε̄_m = m^(−κ) log ε_m + (1 − m^(−κ)) log ε̄_{m−1},

    with μ = log(10 ε₀) and their constants γ = 0.05, t₀ = 10, κ = 0.75. ``step`` is ε_m, what the next
    step uses; ``final`` is ε̄, what sampling uses after adaptation."""

    GAMMA, T0, KAPPA = 0.05, 10.0, 0.75

    def __init__(self, initial: Tensor, target: float):
        self.mu, self.target = torch.log(10 * initial), target
        self.h_bar = torch.zeros_like(initial)
        self.log_bar = torch.zeros_like(initial)
        self.step, self.m = initial, 0

    def update(self, accept_prob: Tensor) -> None:
        self.m += 1
        m = self.m
        self.h_bar = (1 - 1 / (m + self.T0)) * self.h_bar + (self.target - accept_prob) / (m + self.T0)
        log_step = self.mu - (m ** 0.5 / self.GAMMA) * self.h_bar
        weight = m ** -self.KAPPA
        self.log_bar = weight * log_step + (1 - weight) * self.log_bar
        self.step = log_step.exp()

    @property
    def final(self) -> Tensor:
        return self.log_bar.exp()


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
    ``log_density`` (``(N, D)`` → ``(N,)``, unnormalised). Returns the final states, the acceptance rates
    over the sampling steps and each chain's step size (see :class:`HMCSettings` for the adaptation).

    Works under ``torch.no_grad()`` (it enables gradients for its own leapfrog steps); the samples carry
    no gradient. A proposal whose energy is not finite is rejected.
    """
    if z0.dim() != 2:
        raise ValueError(f"z0 must be (chains, latent) = 2-D, got shape {tuple(z0.shape)}")
    n = z0.shape[0]
    adapter = DualAveraging(torch.full((n,), settings.step_size, device=z0.device, dtype=z0.dtype),
                            settings.target_acceptance) if settings.adapt_steps else None
    eps = settings.step_size                      # a number, or (N, 1) per chain while adapting and after
    accepted = torch.zeros(n, device=z0.device, dtype=z0.dtype)
    with torch.enable_grad():
        z = z0.detach()
        log_p, grad = _grad(log_density, z)
        for step in range(settings.steps):
            rho = _noise(torch.randn, z.shape, generator, z)
            h_start = -log_p + 0.5 * rho.pow(2).sum(-1)
            z_new, g_new, log_p_new = z, grad, log_p
            for _ in range(settings.leapfrog_steps):
                rho = rho + 0.5 * eps * g_new
                z_new = z_new + eps * rho
                log_p_new, g_new = _grad(log_density, z_new)
                rho = rho + 0.5 * eps * g_new
            h_end = -log_p_new + 0.5 * rho.pow(2).sum(-1)
            log_ratio = torch.where(torch.isfinite(h_end), h_start - h_end, -torch.inf)    # (N,)
            u = _noise(torch.rand, z.shape[:1], generator, z)
            accept = torch.log(u) < log_ratio                                             # (N,)
            z = torch.where(accept[:, None], z_new, z)
            grad = torch.where(accept[:, None], g_new, grad)
            log_p = torch.where(accept, log_p_new, log_p)
            if step < settings.adapt_steps:
                adapter.update(log_ratio.clamp(max=0).exp())
                eps = (adapter.step if step + 1 < settings.adapt_steps else adapter.final)[:, None]
            else:
                accepted += accept.to(accepted.dtype)
    steps = eps[:, 0] if adapter else torch.full((n,), eps, device=z0.device, dtype=z0.dtype)
    return HMCResult(z.detach(), accepted / (settings.steps - settings.adapt_steps), steps)
