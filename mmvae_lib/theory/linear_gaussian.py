"""A multimodal linear-Gaussian model whose marginal likelihood and posteriors are known in closed form.

    z ~ N(0, I_D),   x_m = W_m z + b_m + σ_m ε_m,   ε_m ~ N(0, I_{P_m}),   m = 1..M.

W_m = Q_m diag(c_m) with orthonormal columns Q_m, so W_mᵀW_m = diag(c_m²) and every posterior (unimodal and
joint) is a diagonal Gaussian, representable by the library's experts:

- joint posterior p(z | x_1:M): precision λ = 1 + Σ_m c_m²/σ_m², mean = (Σ_m W_mᵀ(x_m − b_m)/σ_m²) / λ;
- unimodal posterior p(z | x_m): the same with the one term m;
- marginal: x = [x_1..x_M] ~ N(b, W Wᵀ + diag(σ²)), so log p(x_1:M) is exact.

This is the ruler against which the paper's bounds (§3, eqs. 1-3) and their gradient estimators are
measured: the tests check them against :meth:`LinearGaussian.log_marginal`, and notebook 02 plots them.
The module also holds the two small tools that notebook uses on the toy model: :func:`fit`, a seeded
optimisation loop, and :func:`gradient_snr`, the signal-to-noise ratio of an estimator's gradients
(Rainforth et al. 2018; the reason the paper uses DReG, §3 and its Appendix C).

Everything is float64 (:data:`DTYPE`): the exact values are compared to Monte Carlo estimates at 1e-9.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmvae_lib.models import MMVAE, MVAE, VAE, Likelihood, MoPoE, Prior
from mmvae_lib.objectives.estimators import OBJECTIVES

DTYPE = torch.float64


# --- affine encoders and decoders ------------------------------------------------------------------

def _raw_for_scale(scale: Tensor) -> Tensor:
    """The raw value that the softplus parametrisation (softplus(raw) + 1e-6) maps to ``scale``."""
    y = scale - 1e-6
    return y + torch.log(-torch.expm1(-y))


class AffineEncoder(nn.Module):
    """loc = A x + a, ``(B, D)``, and one learnable scale per latent dimension, returned raw for the
    softplus parametrisation (the same for every datapoint, as in the exact posterior)."""

    def __init__(self, A: Tensor, a: Tensor, scale: Tensor):
        super().__init__()
        self.A = nn.Parameter(A.clone())                       # (D, P)
        self.a = nn.Parameter(a.clone())                       # (D,)
        self.raw = nn.Parameter(_raw_for_scale(scale.clone()))  # (D,)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        loc = x @ self.A.T + self.a                            # (B, D)
        return loc, self.raw.expand_as(loc)


class AffineDecoder(nn.Module):
    """The likelihood mean W z + b: ``(N, D)`` → ``(N, P)``."""

    def __init__(self, W: Tensor, b: Tensor):
        super().__init__()
        self.W = nn.Parameter(W.clone())                       # (P, D)
        self.b = nn.Parameter(b.clone())                       # (P,)

    def forward(self, z: Tensor) -> Tensor:
        return z @ self.W.T + self.b


# --- the model -------------------------------------------------------------------------------------

@dataclass
class LinearGaussian:
    """The generative model's parameters, one entry per modality, and its exact inference.

    ``W[m]`` ``(P_m, D)``, ``b[m]`` ``(P_m,)``, ``sigma[m]`` a float (the noise scale), ``c[m]`` ``(D,)``
    the column norms of ``W[m]``. Build one with :meth:`make`; :meth:`mmvae`, :meth:`mvae` and :meth:`vae`
    turn it into the library's models with affine encoders initialised at the exact posteriors.
    """

    W: list
    b: list
    sigma: list
    c: list

    @property
    def latent_dim(self) -> int:
        return self.W[0].shape[1]

    @property
    def n_modalities(self) -> int:
        return len(self.W)

    @classmethod
    def make(cls, dims: Sequence[int] = (6, 5), latent_dim: int = 3, sigma: Sequence[float] = (0.6, 0.9),
             seed: int = 0) -> "LinearGaussian":
        """A random model with ``len(dims)`` modalities of sizes ``dims``; column norms c in [0.5, 2)."""
        if len(sigma) != len(dims):
            raise ValueError(f"sigma needs one noise scale per modality: {len(dims)} dims, got {len(sigma)}")
        if min(dims) < latent_dim:
            raise ValueError(f"every modality needs at least latent_dim={latent_dim} dimensions for "
                             f"orthonormal columns, got dims={tuple(dims)}")
        g = torch.Generator().manual_seed(seed)
        W, b, c = [], [], []
        for p in dims:
            q, _ = torch.linalg.qr(torch.randn(p, latent_dim, generator=g, dtype=DTYPE))  # (P, D)
            cm = 0.5 + 1.5 * torch.rand(latent_dim, generator=g, dtype=DTYPE)            # (D,)
            W.append(q * cm)
            b.append(torch.randn(p, generator=g, dtype=DTYPE))
            c.append(cm)
        return cls(W, b, list(sigma), c)

    def sample(self, n: int, seed: int = 1) -> list:
        """n draws of (x_1, .., x_M) from the model: a list of ``(n, P_m)``."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=g, dtype=DTYPE)
        return [z @ W.T + b + s * torch.randn(n, W.shape[0], generator=g, dtype=DTYPE)
                for W, b, s in zip(self.W, self.b, self.sigma)]

    def log_marginal(self, xs: list, subset: Sequence[int] | None = None) -> Tensor:
        """Exact log p(x_subset) (default: all modalities), ``(B,)``."""
        subset = range(self.n_modalities) if subset is None else subset
        W = torch.cat([self.W[m] for m in subset])
        b = torch.cat([self.b[m] for m in subset])
        noise = torch.cat([torch.full((self.W[m].shape[0],), self.sigma[m] ** 2, dtype=DTYPE) for m in subset])
        cov = W @ W.T + torch.diag(noise)
        x = torch.cat([xs[m] for m in subset], dim=1)
        return torch.distributions.MultivariateNormal(b, cov).log_prob(x)

    def posterior(self, xs: list, subset: Sequence[int] | None = None, with_prior: bool = True):
        """Exact posterior ``(loc (B, D), scale (D,))`` given x_subset. Without the prior: the "expert"
        whose product with the prior is the posterior (what an MVAE expert should learn)."""
        subset = range(self.n_modalities) if subset is None else subset
        precision = torch.ones(self.latent_dim, dtype=DTYPE) if with_prior else 0.0
        eta = 0.0
        for m in subset:
            precision = precision + self.c[m] ** 2 / self.sigma[m] ** 2
            eta = eta + (xs[m] - self.b[m]) @ self.W[m] / self.sigma[m] ** 2
        return eta / precision, precision.rsqrt()

    # --- the library's models on this generative model -------------------------------------------

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

    def mmvae(self, loc_shift: float = 0.0, scale_factor: float = 1.0) -> MMVAE:
        """An MMVAE whose expert m is the exact unimodal posterior p(z | x_m), optionally perturbed: its
        mean shifted by ``loc_shift`` and its scale multiplied by ``scale_factor``."""
        encoders = [self._expert_encoder(m, True, loc_shift, scale_factor) for m in range(self.n_modalities)]
        decoders, likelihoods = self._decoders_and_likelihoods()
        return MMVAE(encoders, decoders, likelihoods, latent_dim=self.latent_dim, posterior="normal",
                     scale="softplus", prior=self._prior()).to(DTYPE)

    def mvae(self, loc_shift: float = 0.0, scale_factor: float = 1.0) -> MVAE:
        """An MVAE whose product of experts is the exact joint posterior (when unperturbed)."""
        encoders = [self._expert_encoder(m, False, loc_shift, scale_factor) for m in range(self.n_modalities)]
        decoders, likelihoods = self._decoders_and_likelihoods()
        return MVAE(encoders, decoders, likelihoods, latent_dim=self.latent_dim, prior=self._prior()).to(DTYPE)

    def mopoe(self, loc_shift: float = 0.0, scale_factor: float = 1.0) -> MoPoE:
        """A MoPoE whose experts are the exact unimodal posteriors p(z | x_m) (optionally perturbed)."""
        encoders = [self._expert_encoder(m, True, loc_shift, scale_factor) for m in range(self.n_modalities)]
        decoders, likelihoods = self._decoders_and_likelihoods()
        return MoPoE(encoders, decoders, likelihoods, latent_dim=self.latent_dim, prior=self._prior()).to(DTYPE)

    def vae(self, m: int = 0, loc_shift: float = 0.0, scale_factor: float = 1.0) -> VAE:
        """A VAE on modality m alone whose encoder is p(z | x_m) (optionally perturbed)."""
        decoders, likelihoods = self._decoders_and_likelihoods()
        return VAE(self._expert_encoder(m, True, loc_shift, scale_factor), decoders[m], likelihoods[m],
                   latent_dim=self.latent_dim, posterior="normal", scale="softplus",
                   prior=self._prior()).to(DTYPE)


# --- fitting a model on the toy data ---------------------------------------------------------------

TRAINABLE = ("encoders", "all")


def fit(model: nn.Module, xs: Sequence[Tensor | None], objective: str, k: int = 1, steps: int = 200,
        lr: float = 0.01, seed: int = 0, *, train: str = "encoders") -> list[float]:
    """Maximise an objective of :data:`mmvae_lib.estimators.OBJECTIVES` on the whole of ``xs`` (full batch),
    in place, with Adam (amsgrad, as in paper §4). Returns the bound (not the surrogate) after each step,
    averaged over the datapoints.

    ``train="encoders"`` updates only the encoders, so the generative model, and with it the exact log p and
    the exact posteriors, stay fixed: what is learnt is the posterior each objective prefers. ``"all"``
    updates every parameter. The latent samples come from a generator seeded with ``seed``.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
    if train not in TRAINABLE:
        raise ValueError(f"train must be one of {TRAINABLE}, got {train!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    params = list((model.encoders if train == "encoders" else model).parameters())
    optimiser = torch.optim.Adam([p for p in params if p.requires_grad], lr=lr, amsgrad=True)
    generator = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        estimate = OBJECTIVES[objective](model, xs, k, generator)
        (-estimate.surrogate.mean()).backward()
        optimiser.step()
        history.append(estimate.bound.mean().item())
    model.zero_grad(set_to_none=True)
    return history


# --- gradient signal-to-noise ratio (paper §3, Appendix C; Rainforth et al. 2018) -----------------

DEFAULT_PARAMETERS = ("encoders.0.a", "decoders.0.b")  # one encoder and one decoder offset


def gradient_samples(model: nn.Module, xs: Sequence[Tensor | None], objective: str, k: int, reps: int,
                     seed: int = 0, parameters: Sequence[str] = DEFAULT_PARAMETERS) -> list[Tensor]:
    """``reps`` independent gradients of an objective's surrogate (summed over the batch), one stacked
    tensor ``(reps, *shape)`` per named parameter (names as in ``model.named_parameters()``).

    All repetitions draw from one generator seeded with ``seed``, one after another.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
    named = dict(model.named_parameters())
    unknown = [p for p in parameters if p not in named]
    if unknown:
        raise ValueError(f"parameters must name parameters of the model (e.g. {sorted(named)[:4]}), "
                         f"got unknown {unknown}")
    generator = torch.Generator().manual_seed(seed)
    draws = [[] for _ in parameters]
    for _ in range(reps):
        model.zero_grad()
        OBJECTIVES[objective](model, xs, k, generator).surrogate.sum().backward()
        for out, name in zip(draws, parameters):
            if named[name].grad is None:
                raise ValueError(f"parameter {name!r} gets no gradient from objective {objective!r}")
            out.append(named[name].grad.clone())
    model.zero_grad(set_to_none=True)
    return [torch.stack(d) for d in draws]


def signal_to_noise(grads: Tensor) -> float:
    """SNR of repeated gradient draws ``(reps, ...)``: |mean| / std per coordinate, averaged over the
    coordinates (Rainforth et al. 2018's SNR, averaged)."""
    if grads.shape[0] < 2:
        raise ValueError(f"the SNR needs at least 2 repetitions, got {grads.shape[0]}")
    return (grads.mean(0).abs() / grads.std(0)).mean().item()


def gradient_snr(model: nn.Module, xs: Sequence[Tensor | None], objective: str, k: int, reps: int,
                 seed: int = 0, parameter: str = "encoders.0.a") -> float:
    """The signal-to-noise ratio of one parameter's gradient (default: the first encoder's offset) under
    ``objective`` with K samples, from ``reps`` repetitions.

    Rainforth et al. (2018): for IWAE the encoder's SNR falls like 1/√K; DReG (Tucker et al. 2019), which
    the paper uses for eq. (3), keeps it from collapsing.
    """
    return signal_to_noise(gradient_samples(model, xs, objective, k, reps, seed, [parameter])[0])
