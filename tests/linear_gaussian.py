"""A multimodal linear-Gaussian model with closed-form marginal likelihood and posteriors.

    z ~ N(0, I_D),   x_m = W_m z + b_m + σ_m ε_m,   ε_m ~ N(0, I_{P_m}),   m = 1..M.

W_m = Q_m diag(c_m) with orthonormal columns Q_m, so W_mᵀW_m = diag(c_m²) and every posterior (unimodal
and joint) is a diagonal Gaussian: the exact posteriors are representable by the library's experts.

- joint posterior: precision λ = 1 + Σ_m c_m²/σ_m², mean = (Σ_m W_mᵀ(x_m − b_m)/σ_m²) / λ
- unimodal posterior p(z | x_m): the same with one term.
- marginal: x = [x_1..x_M] ~ N(b, W Wᵀ + diag(σ²)).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmvae_lib.distributions import Prior
from mmvae_lib.likelihoods import Likelihood
from mmvae_lib.models import MMVAE, MVAE, VAE

DTYPE = torch.float64


def _raw_for_scale(scale: torch.Tensor) -> torch.Tensor:
    """The raw value that the softplus parametrisation (softplus(raw) + 1e-6) maps to ``scale``."""
    y = scale - 1e-6
    return y + torch.log(-torch.expm1(-y))


class AffineEncoder(nn.Module):
    """loc = A x + a; a constant scale, returned raw for the softplus parametrisation."""

    def __init__(self, A, a, scale):
        super().__init__()
        self.A = nn.Parameter(A.clone())
        self.a = nn.Parameter(a.clone())
        self.raw = nn.Parameter(_raw_for_scale(scale.clone()))

    def forward(self, x):
        loc = x @ self.A.T + self.a
        return loc, self.raw.expand_as(loc)


class AffineDecoder(nn.Module):
    def __init__(self, W, b):
        super().__init__()
        self.W = nn.Parameter(W.clone())
        self.b = nn.Parameter(b.clone())

    def forward(self, z):
        return z @ self.W.T + self.b


@dataclass
class LinearGaussian:
    W: list      # (P_m, D)
    b: list      # (P_m,)
    sigma: list  # floats
    c: list      # (D,) column norms of W_m

    @property
    def latent_dim(self) -> int:
        return self.W[0].shape[1]

    @property
    def n_modalities(self) -> int:
        return len(self.W)

    @classmethod
    def make(cls, dims=(6, 5), latent_dim=3, sigma=(0.6, 0.9), seed=0) -> "LinearGaussian":
        g = torch.Generator().manual_seed(seed)
        W, b, c = [], [], []
        for p in dims:
            q, _ = torch.linalg.qr(torch.randn(p, latent_dim, generator=g, dtype=DTYPE))
            cm = 0.5 + 1.5 * torch.rand(latent_dim, generator=g, dtype=DTYPE)
            W.append(q * cm)
            b.append(torch.randn(p, generator=g, dtype=DTYPE))
            c.append(cm)
        return cls(W, b, list(sigma), c)

    def sample(self, n: int, seed: int = 1) -> list:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=g, dtype=DTYPE)
        return [z @ W.T + b + s * torch.randn(n, W.shape[0], generator=g, dtype=DTYPE)
                for W, b, s in zip(self.W, self.b, self.sigma)]

    def log_marginal(self, xs: list, subset=None) -> torch.Tensor:
        """Exact log p(x_subset), (B,)."""
        subset = range(self.n_modalities) if subset is None else subset
        W = torch.cat([self.W[m] for m in subset])
        b = torch.cat([self.b[m] for m in subset])
        noise = torch.cat([torch.full((self.W[m].shape[0],), self.sigma[m] ** 2, dtype=DTYPE) for m in subset])
        cov = W @ W.T + torch.diag(noise)
        x = torch.cat([xs[m] for m in subset], dim=1)
        return torch.distributions.MultivariateNormal(b, cov).log_prob(x)

    def posterior(self, xs: list, subset=None, with_prior=True):
        """Exact posterior (loc (B, D), scale (D,)) given x_subset. Without the prior: the "expert" whose
        product with the prior is the posterior."""
        subset = range(self.n_modalities) if subset is None else subset
        precision = torch.ones(self.latent_dim, dtype=DTYPE) if with_prior else 0.0
        eta = 0.0
        for m in subset:
            precision = precision + self.c[m] ** 2 / self.sigma[m] ** 2
            eta = eta + (xs[m] - self.b[m]) @ self.W[m] / self.sigma[m] ** 2
        return eta / precision, precision.rsqrt()

    def _expert_encoder(self, m, with_prior, loc_shift=0.0, scale_factor=1.0):
        precision = (1.0 if with_prior else 0.0) + self.c[m] ** 2 / self.sigma[m] ** 2
        A = self.W[m].T / self.sigma[m] ** 2 / precision[:, None]
        a = -(A @ self.b[m]) + loc_shift
        return AffineEncoder(A, a, scale_factor * precision.rsqrt())

    def _decoders_and_likelihoods(self):
        decoders = [AffineDecoder(W, b) for W, b in zip(self.W, self.b)]
        return decoders, [Likelihood("normal", s) for s in self.sigma]

    def _prior(self):
        return Prior(self.latent_dim, family="normal", learnable=False)

    def mmvae(self, loc_shift=0.0, scale_factor=1.0) -> MMVAE:
        """An MMVAE whose expert m is the exact unimodal posterior p(z | x_m) (optionally perturbed)."""
        encoders = [self._expert_encoder(m, True, loc_shift, scale_factor) for m in range(self.n_modalities)]
        decoders, likelihoods = self._decoders_and_likelihoods()
        return MMVAE(encoders, decoders, likelihoods, latent_dim=self.latent_dim, posterior="normal",
                     scale="softplus", prior=self._prior()).to(DTYPE)

    def mvae(self, loc_shift=0.0, scale_factor=1.0) -> MVAE:
        """An MVAE whose product of experts is the exact joint posterior (when unperturbed)."""
        encoders = [self._expert_encoder(m, False, loc_shift, scale_factor) for m in range(self.n_modalities)]
        decoders, likelihoods = self._decoders_and_likelihoods()
        return MVAE(encoders, decoders, likelihoods, latent_dim=self.latent_dim, prior=self._prior()).to(DTYPE)

    def vae(self, m=0, loc_shift=0.0, scale_factor=1.0) -> VAE:
        """A VAE on modality m alone whose encoder is p(z | x_m) (optionally perturbed)."""
        decoders, likelihoods = self._decoders_and_likelihoods()
        return VAE(self._expert_encoder(m, True, loc_shift, scale_factor), decoders[m], likelihoods[m],
                   latent_dim=self.latent_dim, posterior="normal", scale="softplus",
                   prior=self._prior()).to(DTYPE)

