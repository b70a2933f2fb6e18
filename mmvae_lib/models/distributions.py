"""Latent distributions: diagonal Laplace and Normal, the mixture and the product of experts, the prior.

Axis order (see the package docstring): experts ``(M, B, D)``, samples ``(M, K, B, D)``.

Sampling takes a ``torch.Generator`` (never global randomness) and is reparameterised: a draw is
``loc + scale * eps`` with standard noise ``eps``, so gradients reach ``loc`` and ``scale``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --- scale parametrisations ------------------------------------------------------------------------

def softmax_scale(raw: Tensor) -> Tensor:
    """The paper's scale: ``softmax(raw) * D + 1e-6`` over the last axis, so the D scales sum to ~D."""
    return F.softmax(raw, dim=-1) * raw.shape[-1] + 1e-6


def softplus_scale(raw: Tensor) -> Tensor:
    """An unconstrained positive scale, ``softplus(raw) + 1e-6`` (as most Gaussian VAEs use)."""
    return F.softplus(raw) + 1e-6


SCALE_PARAMETRISATIONS = {"softmax": softmax_scale, "softplus": softplus_scale}


# --- the two families ------------------------------------------------------------------------------

def _laplace_log_prob(x: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    return -torch.log(2.0 * scale) - (x - loc).abs() / scale


def _normal_log_prob(x: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    return -torch.log(scale) - _HALF_LOG_2PI - 0.5 * ((x - loc) / scale) ** 2


def _draw(fn, shape, generator, device, dtype) -> Tensor:
    """``fn`` (torch.rand or torch.randn) on ``device``. A generator on another device (a CPU generator
    for a model on the GPU) draws on its own device and the result is moved: the same seed then gives
    the same numbers on every device."""
    device = torch.device(device)
    if generator is not None and generator.device.type != device.type:
        return fn(shape, generator=generator, device=generator.device, dtype=dtype).to(device)
    return fn(shape, generator=generator, device=device, dtype=dtype)


def _laplace_noise(shape, generator, device, dtype) -> Tensor:
    # inverse CDF of the standard Laplace on u ~ U(-1, 1), kept away from |u| = 1
    u = _draw(torch.rand, shape, generator, device, dtype) * 2 - 1
    u = u.clamp(-1 + torch.finfo(dtype).eps, 1 - torch.finfo(dtype).eps)
    return -u.sign() * torch.log1p(-u.abs())


def _normal_noise(shape, generator, device, dtype) -> Tensor:
    return _draw(torch.randn, shape, generator, device, dtype)


def _laplace_kl(loc1, scale1, loc2, scale2) -> Tensor:
    # KL(Laplace(m1, b1) || Laplace(m2, b2)) = log(b2/b1) + |m1-m2|/b2 + (b1/b2) exp(-|m1-m2|/b1) - 1
    gap = (loc1 - loc2).abs()
    return torch.log(scale2 / scale1) + gap / scale2 + (scale1 / scale2) * torch.exp(-gap / scale1) - 1


def _normal_kl(loc1, scale1, loc2, scale2) -> Tensor:
    ratio = (scale1 / scale2) ** 2
    return 0.5 * (ratio + ((loc1 - loc2) / scale2) ** 2 - 1 - torch.log(ratio))


def _laplace_entropy(scale: Tensor) -> Tensor:
    return 1 + torch.log(2 * scale)


def _normal_entropy(scale: Tensor) -> Tensor:
    return 0.5 + _HALF_LOG_2PI + torch.log(scale)


@dataclass(frozen=True)
class _Family:
    log_prob: callable
    noise: callable
    kl: callable
    entropy: callable


FAMILIES = {
    "laplace": _Family(_laplace_log_prob, _laplace_noise, _laplace_kl, _laplace_entropy),
    "normal": _Family(_normal_log_prob, _normal_noise, _normal_kl, _normal_entropy),
}


@dataclass(frozen=True)
class Factorised:
    """A diagonal Laplace or Normal over the last axis: ``loc`` and ``scale`` of shape ``(..., D)``."""

    family: str
    loc: Tensor
    scale: Tensor

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {self.family!r}")

    def log_prob(self, z: Tensor) -> Tensor:
        """Log density summed over the latent axis: ``z`` (..., D) broadcast against loc → (...)."""
        return FAMILIES[self.family].log_prob(z, self.loc, self.scale).sum(-1)

    def noise(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """Standard noise of shape ``(K, *loc.shape)``, drawn K-major so a draw of K can be chunked."""
        return FAMILIES[self.family].noise((k, *self.loc.shape), generator, self.loc.device, self.loc.dtype)

    def transform(self, eps: Tensor) -> Tensor:
        """The reparameterised sample ``loc + scale * eps``."""
        return self.loc + self.scale * eps

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """K reparameterised samples, ``(K, *loc.shape)``."""
        return self.transform(self.noise(k, generator))

    def kl(self, other: "Factorised") -> Tensor:
        """Closed-form KL(self || other) per latent dimension (same family), shape broadcast of both."""
        if other.family != self.family:
            raise ValueError(f"closed-form KL needs one family, got {self.family!r} and {other.family!r}")
        return FAMILIES[self.family].kl(self.loc, self.scale, other.loc, other.scale)

    def entropy(self) -> Tensor:
        """Differential entropy summed over the latent axis."""
        return FAMILIES[self.family].entropy(self.scale).sum(-1)

    def detach(self) -> "Factorised":
        return Factorised(self.family, self.loc.detach(), self.scale.detach())

    def __getitem__(self, index) -> "Factorised":
        return Factorised(self.family, self.loc[index], self.scale[index])


# --- mixture and product of experts ----------------------------------------------------------------

def moe_log_prob(z: Tensor, experts: Factorised) -> Tensor:
    """Log density of the mixture of experts with equal weights, the MMVAE posterior (paper §3):

        q_MoE(z | x_1:M) = (1/M) Σ_m q_m(z | x_m),   so   log q_MoE = logsumexp_m log q_m(z) − log M.

    ``experts`` has loc/scale ``(M, B, D)``; ``z`` is ``(..., B, D)``; returns ``(...)`` with ``B`` kept,
    e.g. z ``(M, K, B, D)`` → ``(M, K, B)``. Every sample is scored under every expert.
    """
    m = experts.loc.shape[0]
    per_expert = experts.log_prob(z.unsqueeze(-3))  # (..., M, B)
    return torch.logsumexp(per_expert, dim=-2) - math.log(m)


def poe(experts: Factorised, prior: Factorised | None = None) -> Factorised:
    """Product of Gaussian experts, the MVAE posterior (Wu & Goodman 2018; paper §3, "MoE vs. PoE"):

        q_PoE(z | x_1:M) ∝ p(z) Π_m q_m(z | x_m),  precision T = Σ_m 1/σ_m²,  mean = (Σ_m μ_m/σ_m²) / T.

    ``experts``: Normal loc/scale ``(M, B, D)``; ``prior``: Normal broadcastable to ``(B, D)`` (the prior
    expert; omit it for a bare product). Returns a Normal ``(B, D)``. The expert with the greatest precision
    dominates the mean: each expert holds a veto.
    """
    if experts.family != "normal" or (prior is not None and prior.family != "normal"):
        raise ValueError("poe needs Normal experts: the product of Gaussians is the closed form it uses")
    locs, precisions = experts.loc, experts.scale.pow(-2)
    if prior is not None:
        p_loc = prior.loc.expand_as(locs[0]).unsqueeze(0)
        p_prec = prior.scale.expand_as(locs[0]).unsqueeze(0).pow(-2)
        locs, precisions = torch.cat([p_loc, locs]), torch.cat([p_prec, precisions])
    total = precisions.sum(0)
    return Factorised("normal", (locs * precisions).sum(0) / total, total.rsqrt())


@dataclass(frozen=True)
class Mixture:
    """A posterior sampled by stratification: K samples from each of its S experts ``(S, B, D)``.

    Every posterior in the library is one of these: the MMVAE posterior (S = number of modalities
    given), the MVAE posterior (one expert: the product) and a single VAE's (one expert).
    """

    experts: Factorised

    @property
    def n_experts(self) -> int:
        return self.experts.loc.shape[0]

    def noise(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """Standard noise ``(S, K, B, D)`` (drawn K-major, so chunks of K reproduce one big draw)."""
        return self.experts.noise(k, generator).transpose(0, 1)

    def transform(self, eps: Tensor) -> Tensor:
        """Samples ``(S, K, B, D)`` from noise ``(S, K, B, D)``: stratum s comes from expert s."""
        return self.experts.loc.unsqueeze(1) + self.experts.scale.unsqueeze(1) * eps

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        return self.transform(self.noise(k, generator))

    def log_prob(self, z: Tensor) -> Tensor:
        """``log q(z)`` of the whole mixture for z ``(..., B, D)`` → ``(...)``."""
        return moe_log_prob(z, self.experts)

    def detach(self) -> "Mixture":
        return Mixture(self.experts.detach())


# --- the prior -------------------------------------------------------------------------------------

class Prior(nn.Module):
    """p(z): zero mean, scale ``softmax(param) * D`` (paper §4), the parameter learnable or fixed.

    With ``param = 0`` every scale is 1, the standard prior.
    """

    def __init__(self, latent_dim: int, family: str = "laplace", learnable: bool = True):
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
        self.family = family
        self.register_buffer("loc", torch.zeros(latent_dim))
        self.param = nn.Parameter(torch.zeros(latent_dim), requires_grad=learnable)

    def forward(self) -> Factorised:
        d = self.param.shape[-1]
        return Factorised(self.family, self.loc, F.softmax(self.param, dim=-1) * d)
