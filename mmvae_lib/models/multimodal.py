"""Multimodal VAEs built from the user's own encoders and decoders.

- :class:`MMVAE`: the joint posterior is the mixture of the unimodal experts (paper §3, MoE).
- :class:`MVAE`: the joint posterior is the product of Gaussian experts with a prior expert (PoE).
- :class:`MoPoE`: the mixture of the products of every non-empty subset of experts (Sutter et al. 2021).
- :class:`VAE`: one modality.

An encoder maps ``x_m`` ``(B, *event_m)`` to ``(loc, raw_scale)``, each ``(B, D)``; a decoder maps ``z``
``(N, D)`` to its likelihood's parameters ``(N, *event_m)``. Models hold no loss, write no files and keep
no state between calls: the bounds are in :mod:`mmvae_lib.objectives.bounds` and :mod:`mmvae_lib.objectives.estimators`.

Inputs ``xs`` are a sequence with one entry per modality; ``None`` marks a missing modality, so any
non-empty subset can be encoded. Each modality may declare what it takes (a :class:`Modality`: shape, dtype,
value range, vocabulary); inputs are checked against it where they enter the model.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmvae_lib.precision import widened

from mmvae_lib import speed
from mmvae_lib.models.distributions import SCALE_PARAMETRISATIONS, Factorised, Mixture, Prior, poe
from mmvae_lib.models.likelihoods import Likelihood
from mmvae_lib.models.modalities import Modality, as_modality


class MultimodalVAE(nn.Module):
    """What the MoE and PoE models share: experts, decoders, likelihoods, prior and generation."""

    def __init__(
        self,
        encoders: Sequence[nn.Module],
        decoders: Sequence[nn.Module],
        likelihoods: Sequence[Likelihood],
        *,
        latent_dim: int,
        posterior: str = "laplace",
        scale: str = "softmax",
        prior: Prior | None = None,
        llik_scaling: Sequence[float] | None = None,
        modalities: Sequence[Modality | str] | None = None,
    ):
        super().__init__()
        m = len(encoders)
        if not (len(decoders) == len(likelihoods) == m) or m == 0:
            raise ValueError(
                f"encoders, decoders and likelihoods need one entry per modality each, got "
                f"{len(encoders)}, {len(decoders)} and {len(likelihoods)}")
        if scale not in SCALE_PARAMETRISATIONS:
            raise ValueError(f"scale must be one of {sorted(SCALE_PARAMETRISATIONS)}, got {scale!r}")
        self.encoders = nn.ModuleList(encoders)
        self.decoders = nn.ModuleList(decoders)
        self.likelihoods = tuple(likelihoods)
        self.latent_dim = latent_dim
        self.posterior_family = posterior
        self.scale_name = scale
        self.prior = prior if prior is not None else Prior(latent_dim, family=posterior)
        self.llik_scaling = tuple(float(s) for s in (llik_scaling or [1.0] * m))
        specs = list(modalities or [f"x{i}" for i in range(m)])
        if len(self.llik_scaling) != m or len(specs) != m:
            raise ValueError(f"llik_scaling and modalities need {m} entries, got "
                             f"{len(self.llik_scaling)} and {len(specs)}")
        # a bare name checks what its likelihood can score (Bernoulli: [0, 1]; Categorical: ids >= 0)
        self.modalities = tuple(as_modality(spec, likelihood) for spec, likelihood in zip(specs, self.likelihoods))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(modality.name for modality in self.modalities)

    @property
    def n_modalities(self) -> int:
        return len(self.encoders)

    # --- inputs --------------------------------------------------------------------------------

    def check_inputs(self, xs: Sequence[Tensor | None]) -> list[int]:
        """Validate ``xs`` (one entry per modality, each as its :class:`Modality` declares, one batch size)
        and return the indices of the modalities present."""
        if isinstance(xs, Tensor) or len(xs) != self.n_modalities:
            got = "a single tensor" if isinstance(xs, Tensor) else f"{len(xs)} entries"
            raise ValueError(f"xs must hold one tensor (or None) per modality: expected "
                             f"{self.n_modalities}, got {got}")
        present = [m for m, x in enumerate(xs) if x is not None]
        if not present:
            raise ValueError("xs must hold at least one modality; every entry is None")
        for m in present:
            self.modalities[m].check(xs[m])
        sizes = {self.names[m]: xs[m].shape[0] for m in present}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"every modality needs the same batch size, got {sizes}")
        return present

    def _subset(self, xs, subset: Sequence[int] | None) -> list[int]:
        present = self.check_inputs(xs)
        if subset is None:
            return present
        subset = list(subset)
        missing = [m for m in subset if m not in present]
        if not subset or missing:
            raise ValueError(f"subset must be a non-empty list of modalities present in xs "
                             f"(present: {present}), got {subset}")
        return subset

    # --- inference -------------------------------------------------------------------------------

    def experts(self, xs: Sequence[Tensor | None], subset: Sequence[int] | None = None) -> Factorised:
        """The unimodal posteriors q_m(z | x_m) of the modalities in ``subset``: loc/scale ``(S, B, D)``."""
        subset = self._subset(xs, subset)
        to_scale = SCALE_PARAMETRISATIONS[self.scale_name]
        locs, scales = [], []
        for m in subset:
            loc, raw = self.encode(m, xs[m])
            locs.append(loc)
            scales.append(to_scale(raw))
        return Factorised(self.posterior_family, torch.stack(locs), torch.stack(scales))

    def encode(self, m: int, x: Tensor, network: nn.Module | None = None):
        """``network(x)`` (default: encoder m); an input the network rejects (a shape or dtype its first layer
        cannot take) becomes one error naming modality m and what came, instead of the layer's own message."""
        try:
            return _float((self.encoders[m] if network is None else network)(x))
        except torch.OutOfMemoryError:
            raise
        except (RuntimeError, TypeError, ValueError, IndexError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"modality {self.names[m]!r}: its encoder rejected inputs of shape {tuple(x.shape)} and "
                             f"dtype {x.dtype} ({first}); declare what it takes with "
                             f"modalities=[Modality(...)]") from err

    def posterior(self, xs: Sequence[Tensor | None], subset: Sequence[int] | None = None) -> Mixture:
        """The joint posterior q(z | x_S) given the modalities in ``subset`` (default: all present)."""
        raise NotImplementedError

    def unimodal_posteriors(self, xs: Sequence[Tensor | None]) -> Factorised:
        """q(z | x_m) for each modality m on its own, loc/scale ``(M, B, D)``: what cross-generation and
        latent classification use."""
        raise NotImplementedError

    # --- generation ------------------------------------------------------------------------------

    def decode(self, z: Tensor, m: int) -> Tensor:
        """Decoder m's likelihood parameters for latents ``(..., D)`` → ``(..., *event_m)``, one call."""
        params = _float(self.decoders[m](z.reshape(-1, z.shape[-1])))
        return params.reshape(*z.shape[:-1], *params.shape[1:])

    def log_likelihoods(self, z: Tensor, xs: Sequence[Tensor | None], targets: Sequence[int],
                        scaled: bool = True) -> Tensor:
        """Σ_{d in targets} s_d log p(x_d | z) for latents ``(..., B, D)`` → ``(..., B)``.

        Batched decoder calls per target: with z ``(M, K, B, D)`` from M experts this is the paper's M²
        cross-decodings. Each call decodes and scores :func:`mmvae_lib.speed.decode_chunk` latents (whole
        rows of B), or all of them at once with the fast paths off.
        """
        lead, (b, d_z) = z.shape[:-2], z.shape[-2:]
        rows = z.reshape(-1, b, d_z)                                       # (S·K, B, D)
        chunk = speed.decode_chunk()
        per_call = rows.shape[0] if chunk is None else max(1, chunk // b)
        total = 0.0
        for d in targets:
            try:
                log_p = torch.cat([self.likelihoods[d].log_prob(self.decode(part, d), xs[d])
                                   for part in rows.split(per_call)])     # (S·K, B)
            except ValueError as err:                                     # the likelihood's check: name the modality
                raise ValueError(f"modality {self.names[d]!r}: {err}") from None
            total = total + (self.llik_scaling[d] if scaled else 1.0) * log_p
        return total.reshape(*lead, b)

    def log_joint(self, z: Tensor, xs: Sequence[Tensor | None], targets: Sequence[int],
                  scaled: bool = True) -> Tensor:
        """log p(z) + Σ_d s_d log p(x_d | z) for latents ``(..., B, D)`` → ``(..., B)``."""
        return self.prior().log_prob(z) + self.log_likelihoods(z, xs, targets, scaled)

    def cross_generate(self, xs: Sequence[Tensor], generator: torch.Generator | None = None,
                       use_mean: bool = False) -> list[list[Tensor]]:
        """``out[m][n]``: the likelihood mean of modality n decoded from z ~ q(z | x_m).

        The diagonal holds reconstructions. All M encodings go through each decoder in one call.
        """
        self.check_inputs(xs)
        q = self.unimodal_posteriors(xs)                           # (M, B, D)
        z = q.loc if use_mean else q.rsample(1, generator)[0]      # (M, B, D)
        out = [[None] * self.n_modalities for _ in range(self.n_modalities)]
        for n in range(self.n_modalities):
            means = self.likelihoods[n].mean(self.decode(z, n))    # (M, B, *event_n)
            for m in range(self.n_modalities):
                out[m][n] = means[m]
        return out

    def reconstruct(self, xs: Sequence[Tensor], generator: torch.Generator | None = None) -> list[Tensor]:
        """The likelihood mean of each modality decoded from its own posterior sample."""
        grid = self.cross_generate(xs, generator)
        return [grid[m][m] for m in range(self.n_modalities)]

    def generate(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Joint generation: n latents from the prior, decoded in every modality (likelihood means)."""
        z = self.prior().rsample(n, generator)                     # (n, D)
        return [self.likelihoods[m].mean(self.decode(z, m)) for m in range(self.n_modalities)]


class MMVAE(MultimodalVAE):
    """The mixture-of-experts multimodal VAE (paper §3): q(z | x_1:M) = (1/M) Σ_m q_m(z | x_m)."""

    def posterior(self, xs, subset=None) -> Mixture:
        return Mixture(self.experts(xs, subset))

    def unimodal_posteriors(self, xs) -> Factorised:
        return self.experts(xs, range(self.n_modalities))


class MVAE(MultimodalVAE):
    """The product-of-experts multimodal VAE (Wu & Goodman 2018): q(z | x_S) ∝ p(z) Π_{m in S} q_m(z | x_m).

    Gaussian experts and prior; by default the experts' scales are softplus-parametrised and the prior
    is the fixed standard Normal, as in the MVAE.
    """

    def __init__(self, encoders, decoders, likelihoods, *, latent_dim, scale="softplus", prior=None, **kw):
        if kw.pop("posterior", "normal") != "normal":
            raise ValueError("MVAE's product of experts needs Normal experts (posterior='normal')")
        prior = prior if prior is not None else Prior(latent_dim, family="normal", learnable=False)
        if prior.family != "normal":
            raise ValueError(f"MVAE needs a Normal prior, got {prior.family!r}")
        super().__init__(encoders, decoders, likelihoods, latent_dim=latent_dim, posterior="normal",
                         scale=scale, prior=prior, **kw)

    def posterior(self, xs, subset=None) -> Mixture:
        product = poe(self.experts(xs, subset), self.prior())      # (B, D)
        return Mixture(product[None])                              # one expert: (1, B, D)

    def unimodal_posteriors(self, xs) -> Factorised:
        return _poe_each(self.experts(xs, range(self.n_modalities)), self.prior())  # (M, B, D)


def _poe_each(experts: Factorised, prior: Factorised) -> Factorised:
    """PoE(prior, expert_m) for every m, batched: pair the prior with each expert along a new axis."""
    p_loc = prior.loc.expand_as(experts.loc)
    p_scale = prior.scale.expand_as(experts.scale)
    pairs = Factorised("normal", torch.stack([p_loc, experts.loc]), torch.stack([p_scale, experts.scale]))
    return poe(pairs)                                              # (M, B, D)


class MoPoE(MultimodalVAE):
    """The mixture of products of experts (Sutter, Daunhawer & Vogt 2021, "Generalized multimodal ELBO"):

        q(z | x_S) = (1 / (2^|S| − 1)) Σ_{∅ ≠ A ⊆ S} Π_{m in A} q_m(z | x_m),

    the MMVAE's mixture taken over the products (:func:`poe`) of every non-empty subset of the observed
    experts, so one modality alone gives its own expert and all of them give a mixture that contains their
    product. Gaussian experts, prior N(0, 1) by default, softplus scales. (The authors' code also multiplies
    the prior into the product of the full set only; here every product is of the experts alone, as in
    their paper's formula.)
    """

    def __init__(self, encoders, decoders, likelihoods, *, latent_dim, scale="softplus", prior=None, **kw):
        if kw.pop("posterior", "normal") != "normal":
            raise ValueError("MoPoE's products of experts need Normal experts (posterior='normal')")
        prior = prior if prior is not None else Prior(latent_dim, family="normal", learnable=False)
        super().__init__(encoders, decoders, likelihoods, latent_dim=latent_dim, posterior="normal",
                         scale=scale, prior=prior, **kw)

    def posterior(self, xs, subset=None) -> Mixture:
        experts = self.experts(xs, subset)                                    # (S, B, D)
        members = nonempty_subsets(experts.loc.shape[0]).to(experts.loc)     # (A, S) 0/1
        precision = experts.scale.pow(-2)                                     # (S, B, D)
        total = torch.einsum("as,sbd->abd", members, precision)               # (A, B, D)
        loc = torch.einsum("as,sbd->abd", members, precision * experts.loc) / total
        return Mixture(Factorised("normal", loc, total.rsqrt()))

    def unimodal_posteriors(self, xs) -> Factorised:
        return self.experts(xs, range(self.n_modalities))


def nonempty_subsets(n: int) -> Tensor:
    """Every non-empty subset of n items as rows of a 0/1 matrix ``(2^n − 1, n)``, smaller subsets first."""
    rows = [[1.0 if i in chosen else 0.0 for i in range(n)]
            for size in range(1, n + 1) for chosen in itertools.combinations(range(n), size)]
    return torch.tensor(rows)


class VAE(MMVAE):
    """A single-modality VAE: the mixture of one expert is that expert."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood, *, latent_dim: int,
                 modality: Modality | str = "x", **kw):
        super().__init__([encoder], [decoder], [likelihood], latent_dim=latent_dim, modalities=[modality], **kw)


MODELS = {"mmvae": MMVAE, "mvae": MVAE, "mopoe": MoPoE, "vae": VAE}


def _float(out):
    """A network's output in float32 where bf16 autocast (:mod:`mmvae_lib.precision`) made it bf16: the
    log-densities computed from it must not be. Any other output is returned as it is."""
    if isinstance(out, (tuple, list)):
        return type(out)(_float(part) for part in out)
    return widened(out)
