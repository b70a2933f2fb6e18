"""mmvae_lib.models.jnf and mmvae_lib.objectives.jnf: JNF's posteriors and stage objectives against closed
forms (Gaussian experts, identity flows), subset posteriors by HMC with both prior divisions, and the model
on five modalities through the library's metrics."""
import itertools

import pytest
import torch
from torch import nn

from mmvae_lib.metrics import coherence
from mmvae_lib.models import JNF, Likelihood
from mmvae_lib.models.distributions import Factorised
from mmvae_lib.models.flows import maf
from mmvae_lib.models.hmc import HMCSettings
from mmvae_lib.models.jnf import DIVIDE_PRIOR, OneStratum, SubsetPosterior
from mmvae_lib.models.projectors import Projector
from mmvae_lib.objectives import OBJECTIVES

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: one thread is far faster here


class Split(nn.Module):
    """x (B, 2D) → (loc, raw scale) = its two halves: a posterior whose parameters the test chooses."""

    def forward(self, x):
        return x.chunk(2, dim=-1)


class JointOfFirst(nn.Module):
    """The joint encoder reading the first modality's (loc, raw) halves."""

    def forward(self, xs):
        return xs[0].chunk(2, dim=-1)


def gaussian_jnf(m=2, d=2, flows=None, projectors=None):
    decoders = [nn.Linear(d, 2 * d) for _ in range(m)]
    return JNF(JointOfFirst(), [Split() for _ in range(m)], decoders, [Likelihood("normal", 1.0)] * m, latent_dim=d,
               flows=flows, projectors=projectors)


def raw_for(scale):
    """The raw value whose softplus (+1e-6) is ``scale``."""
    return torch.log(torch.expm1(torch.as_tensor(scale) - 1e-6))


def identity_maf(d):
    """A MAF whose last layers are zero: shift 0, log-scale 0 in every block, the identity map."""
    flow = maf(d, transforms=2, hidden=(8, 8))
    with torch.no_grad():
        for block in flow.transforms:
            last = block.hyper[-1]
            last.weight.zero_()
            last.bias.zero_()
    return flow


def pairs(b=3, d=2, m=2, seed=0, scales=(0.4, 1.4)):
    """Inputs whose halves are (loc, raw scale) of each modality's Gaussian, scales uniform in ``scales``."""
    g = torch.Generator().manual_seed(seed)
    low, high = scales
    return [torch.cat([torch.randn(b, d, generator=g), raw_for(low + (high - low) * torch.rand(b, d, generator=g))], -1)
            for _ in range(m)]


@pytest.mark.parametrize("flow", ["none", "identity MAF"])
def test_stage2_loss_is_the_kl_from_the_joint_up_to_the_joint_entropy(flow):
    """With Gaussian posteriors (and an identity flow), the logged value of jnf_unimodal is
    −Σ_m KL(q(z|X) || q_m(z|x_m)) in closed form (Monte Carlo over 20,000 samples, within 0.05 nats), and
    the surrogate differs from it by exactly M times the joint's entropy."""
    d = 2
    model = gaussian_jnf(d=d, flows=None if flow == "none" else [identity_maf(d), identity_maf(d)])
    xs = pairs(d=d)
    estimate = OBJECTIVES["jnf_unimodal"](model, xs, 20_000, torch.Generator().manual_seed(0))
    joint = model.joint_posterior(xs)
    experts = Factorised("normal", torch.stack([x.chunk(2, -1)[0] for x in xs]),
                         torch.nn.functional.softplus(torch.stack([x.chunk(2, -1)[1] for x in xs])) + 1e-6)
    exact = -joint.kl(experts).sum(-1).sum(0)                                # (B,)
    assert torch.allclose(estimate.bound, exact, atol=0.05)
    assert torch.allclose(estimate.surrogate.detach(), estimate.bound - 2 * joint.entropy(), atol=1e-4)


def test_joint_elbo_bound_and_beta_surrogate():
    """jnf_joint_elbo: bound − surrogate = (β − 1) KL(q(z|X) || p(z)), the KL in closed form."""
    model = gaussian_jnf()
    xs = pairs()
    g = torch.Generator().manual_seed(0)
    estimate = OBJECTIVES["jnf_joint_elbo"](model, xs, 4, g, beta=0.5)
    kl = model.joint_posterior(xs).kl(model.prior()).sum(-1)
    assert torch.allclose(estimate.bound - estimate.surrogate.detach(), -0.5 * kl, atol=1e-5)


@pytest.mark.parametrize("divide_prior", ["exact", "once", "none"])
def test_subset_posterior_matches_the_product_of_gaussian_experts_over_the_prior(divide_prior):
    """Four modalities, S = {0, 1, 2}, Gaussian experts (no flow): the HMC samples of the subset posterior
    match Π_s q_s / p^n, n = |S| − 1 = 2 ("exact"), 1 ("once") or 0 ("none"), in mean and variance per dimension within
    5 standard errors (3,000 chains per datapoint); acceptance is high; the closed forms of the two options
    differ by more than that."""
    model = gaussian_jnf(m=4, d=2)
    xs = pairs(b=2, m=4, seed=3, scales=(0.7, 0.9))   # broad enough for the prior to matter
    subset = [0, 1, 2]
    settings = HMCSettings(steps=40, leapfrog_steps=10, step_size=0.1)
    q = model.posterior(xs, subset, divide_prior=divide_prior, hmc=settings)
    assert isinstance(q, OneStratum) and isinstance(q.posterior, SubsetPosterior)
    assert q.posterior.divisions == DIVIDE_PRIOR[divide_prior](3)
    k = 3000
    result = q.posterior.sample(k, torch.Generator().manual_seed(1))
    z = result.z                                                               # (K, B, D)
    experts = model.experts(xs, subset).base
    n = q.posterior.divisions
    precision = experts.scale.pow(-2).sum(0) - n                               # prior N(0, 1): precision 1
    mean = (experts.loc * experts.scale.pow(-2)).sum(0) / precision
    var = 1 / precision
    assert torch.all((z.mean(0) - mean).abs() < 5 * (var / k).sqrt())
    assert torch.all((z.var(0) - var).abs() < 5 * var * (2 / k) ** 0.5)
    assert result.acceptance.mean() > 0.8
    other = experts.scale.pow(-2).sum(0) - (3 - n)
    assert torch.all((1 / other - var).abs() > 5 * var * (2 / k) ** 0.5)


def test_posterior_by_subset_size():
    """S = all: the joint encoder (a Mixture of one expert); |S| = 1: the flow posterior; otherwise HMC.
    Every one samples (1, K, B, D); the two-modality subset of two modalities is the joint encoder."""
    model = gaussian_jnf(m=3, d=2, flows=[maf(2) for _ in range(3)])
    xs = pairs(b=4, m=3)
    g = torch.Generator().manual_seed(0)
    full = model.posterior(xs)
    assert torch.equal(full.experts.loc[0], model.joint_posterior(xs).loc)
    single = model.posterior(xs, [1])
    assert torch.allclose(single.log_prob(torch.zeros(4, 2)), model.experts(xs, [1])[0].log_prob(torch.zeros(4, 2)))
    pair = model.posterior(xs, [0, 2], hmc=HMCSettings(steps=2, leapfrog_steps=2))
    for q in (full, single, pair):
        assert q.rsample(5, g).shape == (1, 5, 4, 2)
    with pytest.raises(ValueError, match="normalising constant"):
        pair.log_prob(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="divide_prior must be one of"):
        model.posterior(xs, [0, 1], divide_prior="twice")
    with pytest.raises(ValueError, match="joint encoder needs every modality"):
        model.joint_posterior([xs[0], None, xs[2]])


def five_modality_model(d=3, e=4):
    """A small JNF-Shared on five 6-dimensional modalities: MLP networks, MAF flows, projectors."""
    from mmvae_lib.models import JointEncoder, MLPEncoder
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        joint = JointEncoder([nn.Linear(6, 8) for _ in range(5)], [8] * 5, d, hidden=(16,))
        return JNF(joint, [MLPEncoder(e, d, hidden=(16,)) for _ in range(5)], [nn.Linear(d, 6) for _ in range(5)],
                   [Likelihood("normal", 1.0)] * 5, latent_dim=d,
                   projectors=[Projector(nn.Linear(6, e)) for _ in range(5)], hmc=HMCSettings(steps=3, leapfrog_steps=2))


def test_five_modalities_every_subset_and_the_library_metrics():
    """M = 5 on random data: every objective runs and reaches only the parameters its stage trains; every
    subset size samples; cross and joint coherence of the library run unchanged on the model."""
    model = five_modality_model()
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(10, 6, generator=g) for _ in range(5)]
    parts = {"jnf_joint_elbo": JNF.JOINT_PARTS, "jnf_unimodal": model.unimodal_parts,
             "dcca": JNF.PROJECTOR_PARTS, "contrastive": JNF.PROJECTOR_PARTS}
    for name, updated in parts.items():
        model.zero_grad(set_to_none=True)
        OBJECTIVES[name](model, xs, 2, g).surrogate.mean().backward()
        for pname, p in model.named_parameters():
            reached = p.grad is not None and p.grad.abs().sum() > 0
            if pname.split(".")[0] not in updated:
                assert not reached, (name, pname)
        assert any(p.grad is not None for n, p in model.named_parameters() if n.split(".")[0] in updated), name
    for size in range(1, 6):
        for subset in itertools.combinations(range(5), size):
            assert model.posterior(xs, list(subset)).rsample(2, g).shape == (1, 2, 10, 3)
    judges = [nn.Linear(6, 10) for _ in range(5)]
    labels = torch.randint(0, 10, (10,), generator=g)
    cross = coherence.cross_coherence(model, xs, labels, judges, g)
    assert len(cross) == 20 and all(0 <= v[0] <= 1 for v in cross.values())
    assert 0 <= coherence.joint_coherence(model, 12, judges, g) <= 1


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="one flow module per modality"):
        gaussian_jnf(flows=[maf(2)])
    with pytest.raises(ValueError, match="one projector per modality"):
        gaussian_jnf(projectors=[nn.Identity()])
    with pytest.raises(ValueError, match="has no projectors"):
        gaussian_jnf().project(pairs())
    with pytest.raises(ValueError, match="needs every modality"):
        OBJECTIVES["jnf_unimodal"](gaussian_jnf(), [pairs()[0], None], 1, None)


def test_broad_experts_make_the_exact_product_improper_and_adapted_chains_run_away():
    """Gaussian experts broader than the prior: Π_s q_s / p^(|S|−1) has precision Σ_s 1/σ_s² − (|S| − 1) < 0
    (here 3/1.5² − 2 ≈ −0.67 per dimension), no normalisable density, its log rising without bound away from
    the experts. HMC whose step adapts follows it far out (what notebook 13 measures on PolyMNIST's flow
    posteriors), while the authors' fixed step of 0.01 stays near its start, one expert's draw; without the
    prior division the product is a density and the adapting chains stay."""
    model = gaussian_jnf(m=4, d=2)
    xs = pairs(b=4, m=4, seed=3, scales=(1.5, 1.5))
    experts = model.experts(xs, [0, 1, 2]).base
    assert torch.all(experts.scale.pow(-2).sum(0) - 2 < 0)
    q = model.posterior(xs, [0, 1, 2]).posterior
    ray = torch.tensor([1.0, 0.0]).expand(4, 2)
    assert all(torch.all(q.log_density(ray * 20) > q.log_density(ray * t)) for t in (1, 5, 10))
    g = lambda: torch.Generator().manual_seed(0)
    adapted = model.posterior(xs, [0, 1, 2], hmc=HMCSettings(steps=40, leapfrog_steps=10, step_size=0.01,
                                                             adapt_steps=20)).posterior.sample(20, g()).z
    fixed = model.posterior(xs, [0, 1, 2], hmc=HMCSettings(steps=40, leapfrog_steps=10,
                                                           step_size=0.01)).posterior.sample(20, g()).z
    start_spread = (experts.loc.abs() + 3 * experts.scale).max()
    assert fixed.norm(dim=-1).median() < start_spread < adapted.norm(dim=-1).median()
    # the experts' plain product ("none") is a density: the same adapting chains stay with the experts
    plain = model.posterior(xs, [0, 1, 2], divide_prior="none", hmc=HMCSettings(
        steps=40, leapfrog_steps=10, step_size=0.01, adapt_steps=20)).posterior.sample(20, g()).z
    assert plain.norm(dim=-1).median() < start_spread
