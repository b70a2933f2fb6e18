"""JNF and JNF-Shared (Senellart & Allassonnière, "Bridging the inference gap in Multimodal VAEs"): a
joint model trained first, unimodal posteriors learnt afterwards, subset posteriors sampled.

- **Joint model.** A joint encoder q(z | x_1..x_M) (:class:`JointEncoder`: per-modality embeddings,
  concatenated, an MLP) and the decoders, trained with the β-ELBO (stage 1,
  :func:`mmvae_lib.objectives.jnf.jnf_joint_elbo`). Prior N(0, I).
- **Unimodal posteriors.** With the joint model frozen, one q_m(z | x_m) per modality: a diagonal Gaussian
  from an encoder pushed through a masked autoregressive flow (:mod:`mmvae_lib.models.flows`), fitted by
  maximising E_{q(z|X)}[log q_m(z | x_m)] (stage 2, :func:`mmvae_lib.objectives.jnf.jnf_unimodal`).
- **JNF-Shared.** The unimodal encoders read g_m(x_m), a projector pretrained to keep what the modalities
  share (:mod:`mmvae_lib.models.projectors`; its own stage, before stage 2).
- **Subset posteriors.** For 1 < |S| < M, the product of the unimodal posteriors divided by the prior,

      q(z | x_S) ∝ Π_{m∈S} q_m(z | x_m) / p(z)^{n},

  with n = |S| − 1 (``divide_prior="exact"``: the product of the true posteriors p(z | x_m) ∝ p(z) p(x_m | z)
  is p(z | x_S) · p(z)^{|S|−1} for conditionally independent modalities) or n = 1 (``"once"``: what the
  authors' released code does). With n ≥ 1 the target need not be a density: experts broader than the prior
  make it improper, its log rising without bound (``tests/test_jnf.py``; notebook 13 measures where HMC's
  chains go). n = 0 (``"none"``) is the experts' plain product, a density whenever the experts are, which
  counts the prior |S| times. No closed form: sampled by HMC (:mod:`mmvae_lib.models.hmc`), each chain
  started from a sample of one expert of S picked uniformly. S = all modalities: the joint encoder;
  |S| = 1: the flow posterior.

The model answers the same calls as the other models (:class:`mmvae_lib.models.MultimodalVAE`):
``posterior(xs, subset).rsample(k, generator)`` is ``(1, K, B, D)`` (one stratum), ``unimodal_posteriors``,
``decode``, ``cross_generate``, ``generate``, so the coherence metrics work on it unchanged. Submodules,
by the stage that trains them: ``joint_encoder`` and ``decoders`` (stage 1), ``encoders`` and ``flows``
(stage 2), ``projectors`` (their own stage).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmvae_lib.models.distributions import SCALE_PARAMETRISATIONS, Factorised, Mixture, Prior
from mmvae_lib.models.flows import FlowPosterior, FlowPosteriors, maf
from mmvae_lib.models.hmc import HMCResult, HMCSettings, hmc
from mmvae_lib.models.multimodal import MultimodalVAE

# how many times the prior divides the product of |S| experts. "exact" (the default) is the model's posterior
# when the experts are the true unimodal posteriors, but not always a density: experts broader than the prior
# make it improper, and an adapting sampler then leaves the data (README, "JNF on PolyMNIST (notebook 13)";
# tests/test_jnf.py shows it in closed form)
DIVIDE_PRIOR: dict[str, Callable[[int], int]] = {
    "exact": lambda size: size - 1,   # Π_m p(z | x_m) = p(z | x_S) p(z)^{|S|-1}
    "once": lambda size: 1,           # the authors' released code (MultiVae jnf_model._compute_poe_posterior)
    "none": lambda size: 0,           # the experts' plain product: a density whenever they are, the prior counted |S| times
}


class JointEncoder(nn.Module):
    """q(z | x_1..x_M): ``embedders[m]`` maps x_m to ``(B, E_m)`` (an encoder returning ``(loc, raw)`` is
    read by its first output, as MultiVae's ``MultipleHeadJointEncoder`` reads ``.embedding``); the
    embeddings are concatenated and go through an MLP with ``hidden`` ReLU layers (default [512, 512], the
    authors') to two heads, ``(loc, raw_scale)`` each ``(B, D)``."""

    def __init__(self, embedders: Sequence[nn.Module], embedding_dims: Sequence[int], latent_dim: int,
                 hidden: Sequence[int] = (512, 512)):
        super().__init__()
        if len(embedders) != len(embedding_dims) or not embedders:
            raise ValueError(f"JointEncoder needs one embedding size per embedder, got {len(embedders)} "
                             f"embedders and {len(embedding_dims)} sizes")
        self.embedders = nn.ModuleList(embedders)
        self.head = MLPEncoder(sum(embedding_dims), latent_dim, hidden)     # the MLP on the concatenation

    def forward(self, xs: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        parts = []
        for embed, x in zip(self.embedders, xs):
            out = embed(x)
            parts.append((out[0] if isinstance(out, (tuple, list)) else out).flatten(1))
        return self.head(torch.cat(parts, dim=-1))


class MLPEncoder(nn.Module):
    """x ``(B, *shape)``, flattened, → ReLU layers ``hidden`` → two heads ``(loc, raw_scale)`` each ``(B, D)``.
    With a projector's embedding as input and [512, 512], MultiVae's default unimodal encoder of
    JNF-Shared (``Encoder_VAE_MLP``)."""

    def __init__(self, in_features: int, latent_dim: int, hidden: Sequence[int] = (512, 512)):
        super().__init__()
        layers, width = [nn.Flatten()], in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.body = nn.Sequential(*layers)
        self.loc = nn.Linear(width, latent_dim)
        self.raw_scale = nn.Linear(width, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.loc(h), self.raw_scale(h)


@dataclass(frozen=True)
class SubsetPosterior:
    """q(z | x_S) ∝ Π_{s∈S} q_s(z | x_s) / p(z)^n for 1 < |S|, sampled by HMC (module docstring).

    ``experts``: the S flow posteriors, bases ``(S, B, D)``; ``prior``: p(z); ``divisions``: n."""

    experts: FlowPosteriors
    prior: Factorised
    divisions: int
    hmc: HMCSettings

    def log_density(self, z: Tensor) -> Tensor:
        """The unnormalised log density Σ_s log q_s(z | x_s) − n log p(z): z ``(..., B, D)`` → ``(...)``."""
        return self.experts.log_prob_each(z).sum(-2) - self.divisions * self.prior.log_prob(z)

    def sample(self, k: int, generator: torch.Generator | None = None) -> HMCResult:
        """K HMC samples per datapoint: z ``(K, B, D)``, acceptance rates ``(K, B)``. Each of the K·B chains
        starts from a draw of one expert picked uniformly (from ``generator``). No gradient."""
        base = self.experts.base
        eps = base.noise(k, generator)                                          # (K, S, B, D)
        n_experts, b, d = eps.shape[1], eps.shape[2], eps.shape[3]
        pick = torch.randint(n_experts, (k, b), generator=generator,
                             device=generator.device if generator is not None else eps.device).to(eps.device)
        z0 = torch.empty(k, b, d, dtype=eps.dtype, device=eps.device)
        with torch.no_grad():        # each chain's start through its own expert's flow only (D passes each)
            for s in range(n_experts):
                ks, bs = torch.nonzero(pick == s, as_tuple=True)
                if len(ks):
                    expert = FlowPosterior(Factorised("normal", base.loc[s, bs], base.scale[s, bs]),
                                           self.experts.flows[s])
                    z0[ks, bs] = expert.transform(eps[ks, s, bs])

        def log_density(flat: Tensor) -> Tensor:                              # (K·B, D) → (K·B,)
            return self.log_density(flat.view(k, b, d)).reshape(-1)

        result = hmc(log_density, z0.reshape(k * b, d), generator, self.hmc)
        return HMCResult(result.z.view(k, b, d), result.acceptance.view(k, b), result.step_size.view(k, b))

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """K samples ``(K, B, D)`` (the name of the interface; HMC samples carry no gradient)."""
        return self.sample(k, generator).z


@dataclass(frozen=True)
class OneStratum:
    """A posterior that is not a mixture, seen as a mixture of one stratum, as the metrics expect:
    ``rsample(k)`` is ``(1, K, B, D)``."""

    posterior: FlowPosterior | SubsetPosterior

    @property
    def n_experts(self) -> int:
        return 1

    def rsample(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        return self.posterior.rsample(k, generator).unsqueeze(0)

    def _flow(self, what: str) -> FlowPosterior:
        if not isinstance(self.posterior, FlowPosterior):
            raise ValueError(f"{what} needs a normalised density; a subset posterior of JNF is known only up to "
                             f"its normalising constant (sample it with rsample)")
        return self.posterior

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z | x_m) for z ``(..., B, D)`` → ``(...)`` (a single modality's flow posterior only)."""
        return self._flow("log_prob").log_prob(z)

    def noise(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        return self._flow("noise").base.noise(k, generator).unsqueeze(0)      # (1, K, B, D)

    def transform(self, eps: Tensor) -> Tensor:
        return self._flow("transform").transform(eps[0]).unsqueeze(0)

    def detach(self) -> "OneStratum":
        flow = self._flow("detach")
        return OneStratum(FlowPosterior(flow.base.detach(), flow.flow))


class JNF(MultimodalVAE):
    """JNF (``projectors=None``) and JNF-Shared (one projector per modality): see the module docstring.

    ``joint_encoder``: ``xs`` (all M modalities) → ``(loc, raw_scale)``; ``encoders[m]``: x_m (or
    g_m(x_m)) → ``(loc, raw_scale)`` of the flow's base; ``flows``: ``"maf"`` (one :func:`maf` per
    modality, pythae's default size), ``None`` (no flow: diagonal Gaussian unimodal posteriors) or one
    flow module per modality. ``divide_prior`` in :data:`DIVIDE_PRIOR` and ``hmc`` set how subset
    posteriors are sampled (both may be overridden per call of :meth:`posterior`). Normal posteriors,
    softplus scales, prior N(0, I) unless given.
    """

    def __init__(self, joint_encoder: nn.Module, encoders: Sequence[nn.Module], decoders: Sequence[nn.Module],
                 likelihoods, *, latent_dim: int, flows: str | Sequence[nn.Module] | None = "maf",
                 projectors: Sequence[nn.Module] | None = None, divide_prior: str = "exact",
                 hmc: HMCSettings = HMCSettings(), scale: str = "softplus", prior: Prior | None = None, **kw):
        if kw.pop("posterior", "normal") != "normal":
            raise ValueError("JNF's flow posteriors have Normal bases (posterior='normal')")
        prior = prior if prior is not None else Prior(latent_dim, family="normal", learnable=False)
        if prior.family != "normal":
            raise ValueError(f"JNF needs a Normal prior, got {prior.family!r}")
        super().__init__(encoders, decoders, likelihoods, latent_dim=latent_dim, posterior="normal", scale=scale,
                         prior=prior, **kw)
        m = self.n_modalities
        self.joint_encoder = joint_encoder
        if isinstance(flows, str):
            if flows != "maf":
                raise ValueError(f"flows must be 'maf', None or one module per modality, got {flows!r}")
            flows = [maf(latent_dim) for _ in range(m)]
        if flows is not None and (len(flows) != m or any(f is None for f in flows)):
            raise ValueError(f"flows must hold one flow module per modality ({m}), got {len(flows)}")
        self.flows = None if flows is None else nn.ModuleList(flows)
        if projectors is not None and len(projectors) != m:
            raise ValueError(f"projectors must hold one projector per modality ({m}), got {len(projectors)}")
        self.projectors = None if projectors is None else nn.ModuleList(projectors)
        if divide_prior not in DIVIDE_PRIOR:
            raise ValueError(f"divide_prior must be one of {sorted(DIVIDE_PRIOR)}, got {divide_prior!r}")
        self.divide_prior = divide_prior
        self.hmc = hmc

    # --- which submodules each stage trains -----------------------------------------------------

    JOINT_PARTS = ("joint_encoder", "decoders")
    PROJECTOR_PARTS = ("projectors",)

    @property
    def unimodal_parts(self) -> tuple[str, ...]:
        """The submodules stage 2 trains: the unimodal encoders, and the flows if there are any."""
        return ("encoders",) if self.flows is None else ("encoders", "flows")

    # --- inference -------------------------------------------------------------------------------

    def joint_posterior(self, xs: Sequence[Tensor]) -> Factorised:
        """q(z | x_1..x_M) from the joint encoder: Normal loc/scale ``(B, D)``. Needs every modality."""
        present = self.check_inputs(xs)
        if len(present) != self.n_modalities:
            raise ValueError(f"the joint encoder needs every modality; xs holds {present} of "
                             f"{list(range(self.n_modalities))}")
        loc, raw = self.joint_encoder(list(xs))
        return Factorised("normal", loc, SCALE_PARAMETRISATIONS[self.scale_name](raw))

    def project(self, xs: Sequence[Tensor | None]) -> list[Tensor | None]:
        """g_m(x_m) for each modality present (JNF-Shared), ``(B, E)`` each."""
        if self.projectors is None:
            raise ValueError("this model has no projectors (JNF-Shared has them: pass projectors=...)")
        self.check_inputs(xs)
        return [None if x is None else g(x) for g, x in zip(self.projectors, xs)]

    def experts(self, xs: Sequence[Tensor | None], subset: Sequence[int] | None = None) -> FlowPosteriors:
        """The unimodal flow posteriors q_m(z | x_m) (or q_m(z | g_m(x_m))) of the modalities in ``subset``:
        bases ``(S, B, D)``."""
        subset = self._subset(xs, subset)
        to_scale = SCALE_PARAMETRISATIONS[self.scale_name]
        locs, scales = [], []
        for m in subset:
            x = xs[m] if self.projectors is None else self.encode(m, xs[m], self.projectors[m]).detach()  # frozen
            loc, raw = self.encode(m, x)
            locs.append(loc)
            scales.append(to_scale(raw))
        base = Factorised("normal", torch.stack(locs), torch.stack(scales))
        flows = tuple(None if self.flows is None else self.flows[m] for m in subset)
        return FlowPosteriors(base, flows)

    def unimodal_posteriors(self, xs: Sequence[Tensor | None]) -> FlowPosteriors:
        return self.experts(xs, range(self.n_modalities))

    def posterior(self, xs: Sequence[Tensor | None], subset: Sequence[int] | None = None, *,
                  divide_prior: str | None = None, hmc: HMCSettings | None = None):
        """q(z | x_S): the joint encoder for S = every modality (a :class:`Mixture` of one expert), the flow
        posterior for |S| = 1, the HMC-sampled :class:`SubsetPosterior` otherwise (both as
        :class:`OneStratum`). ``divide_prior`` and ``hmc`` override the model's for this call."""
        subset = self._subset(xs, subset)
        if sorted(subset) == list(range(self.n_modalities)):
            return Mixture(self.joint_posterior(xs)[None])                       # (1, B, D)
        experts = self.experts(xs, subset)
        if len(subset) == 1:
            return OneStratum(experts[0])
        divide_prior = self.divide_prior if divide_prior is None else divide_prior
        if divide_prior not in DIVIDE_PRIOR:
            raise ValueError(f"divide_prior must be one of {sorted(DIVIDE_PRIOR)}, got {divide_prior!r}")
        return OneStratum(SubsetPosterior(experts, self.prior(), DIVIDE_PRIOR[divide_prior](len(subset)),
                                          self.hmc if hmc is None else hmc))


def copy_joint_model(target: JNF, source: JNF) -> JNF:
    """Give ``target`` the joint encoder and decoders of ``source`` (a trained stage 1), in place: the
    variants (flows or not, projectors or not) share one joint model. Returns ``target``."""
    for part in JNF.JOINT_PARTS:
        getattr(target, part).load_state_dict(getattr(source, part).state_dict())
    return target
