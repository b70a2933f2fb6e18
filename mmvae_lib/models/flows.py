"""Unimodal posteriors as normalizing flows with a data-dependent Gaussian base (JNF, Senellart &
Allassonnière): the density of q_m(z | x_m) is

    q_m(z | x_m) = N(f_m(z); μ_m(x_m), σ_m(x_m)) · |det ∂f_m / ∂z|,

where the flow f_m maps the latent space to the base space and (μ_m, σ_m) come from an encoder. A sample is
``z = f_m⁻¹(μ_m + σ_m ε)``, ε ~ N(0, I). Without a flow (``f_m`` the identity) q_m is the diagonal
Gaussian itself.

The flows are zuko's masked autoregressive flows (:func:`maf`): the density direction ``f_m`` is one
pass, the sampling direction ``f_m⁻¹`` one pass per latent dimension. Axis order: a posterior's base is
``(..., B, D)``; samples ``(K, ..., B, D)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

_VALIDATE_ARGS = torch.distributions.Distribution._validate_args
import zuko  # noqa: E402

# zuko turns torch.distributions' argument validation off for the whole process when imported
# (zuko/distributions.py); a library must not change its user's defaults, so the setting is put back
torch.distributions.Distribution._validate_args = _VALIDATE_ARGS
from torch import Tensor, nn  # noqa: E402

from mmvae_lib.models.distributions import Factorised
from mmvae_lib.precision import exact, widened


def maf(latent_dim: int, transforms: int = 2, hidden: Sequence[int] = (128, 128, 128)) -> nn.Module:
    """A masked autoregressive flow on ``latent_dim`` features: ``transforms`` MADE blocks, each a masked
    MLP with the ``hidden`` layers (ReLU) giving a shift and a (soft-bounded) log-scale per feature, the
    feature order reversed between blocks. The defaults are pythae's ``MAFConfig`` (2 blocks, 3 × 128),
    which the authors' JNF uses. Returns the flow's transform module: called with ``None`` it gives f."""
    if latent_dim < 1 or transforms < 1:
        raise ValueError(f"a MAF needs latent_dim >= 1 and transforms >= 1, got {latent_dim} and {transforms}")
    return zuko.flows.MAF(latent_dim, 0, transforms=transforms, hidden_features=list(hidden)).transform


@dataclass(frozen=True)
class FlowPosterior:
    """One flow posterior: ``base`` a Normal ``(..., B, D)``, ``flow`` the transform module (None: none)."""

    base: Factorised
    flow: nn.Module | None = None

    def _f(self):
        return None if self.flow is None else self.flow(None)

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z | x) = log N(f(z); μ, σ) + log |det ∂f/∂z|: z ``(..., B, D)`` → ``(...)`` with B kept.
        In float32 under any autocast (:func:`mmvae_lib.precision.exact`)."""
        f = self._f()
        if f is None:
            return self.base.log_prob(z)
        with exact(z):
            z0, ladj = f.call_and_ladj(widened(z))
        return self.base.log_prob(z0) + ladj

    def transform(self, eps: Tensor) -> Tensor:
        """Samples from standard noise ``eps`` ``(K, ..., B, D)``: ``f⁻¹(μ + σ ε)`` (float32, as log_prob)."""
        z0 = self.base.transform(eps)
        f = self._f()
        if f is None:
            return z0
        with exact(z0):
            return f.inv(widened(z0))

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """K samples ``(K, ..., B, D)`` (reparameterised through the base and the flow)."""
        return self.transform(self.base.noise(k, generator))

    @property
    def loc(self) -> Tensor:
        """f⁻¹(μ): the base's mean carried back into the latent space, ``(..., B, D)``. A central point
        (the mode when there is no flow), not the mean of q; what generation ``use_mean`` decodes."""
        f = self._f()
        return self.base.loc if f is None else f.inv(self.base.loc)


@dataclass(frozen=True)
class FlowPosteriors:
    """S flow posteriors stacked on a leading axis (S modalities, each its own flow): bases ``(S, B, D)``.

    What JNF's ``experts`` and ``unimodal_posteriors`` return: ``[m]`` is modality m's
    :class:`FlowPosterior`, ``rsample`` gives ``(K, S, B, D)`` (one draw of noise for all of them)."""

    base: Factorised
    flows: tuple[nn.Module | None, ...]

    def __post_init__(self):
        if self.base.loc.shape[0] != len(self.flows):
            raise ValueError(f"FlowPosteriors needs one flow (or None) per stacked base, got {len(self.flows)} "
                             f"flows for {self.base.loc.shape[0]} bases")

    def __len__(self) -> int:
        return len(self.flows)

    def __getitem__(self, s: int) -> FlowPosterior:
        return FlowPosterior(self.base[s], self.flows[s])

    def transform(self, eps: Tensor) -> Tensor:
        """Samples ``(K, S, B, D)`` from standard noise of that shape: stratum s through flow s."""
        return torch.stack([self[s].transform(eps[:, s]) for s in range(len(self))], dim=1)

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        return self.transform(self.base.noise(k, generator))

    def log_prob(self, z: Tensor) -> Tensor:
        """Each posterior's log density at its own latents: z ``(..., S, B, D)`` → ``(..., S, B)``."""
        return torch.stack([self[s].log_prob(z[..., s, :, :]) for s in range(len(self))], dim=-2)

    def log_prob_each(self, z: Tensor) -> Tensor:
        """Every posterior's log density at the same latents: z ``(..., B, D)`` → ``(..., S, B)``."""
        return torch.stack([self[s].log_prob(z) for s in range(len(self))], dim=-2)

    @property
    def loc(self) -> Tensor:
        """Each posterior's :attr:`FlowPosterior.loc`, ``(S, B, D)``."""
        return torch.stack([self[s].loc for s in range(len(self))])
