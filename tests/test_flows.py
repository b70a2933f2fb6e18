"""mmvae_lib.models.flows: a flow posterior with a data-dependent Gaussian base is a normalised density,
its samples follow it, and the sampling and density directions invert each other."""
import math

import pytest
import torch

from mmvae_lib.models.distributions import Factorised
from mmvae_lib.models.flows import FlowPosterior, FlowPosteriors, maf

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: one thread is far faster here


def random_flow(seed=0, d=2, scale=1.0):
    """A MAF whose weights are drawn larger than at initialisation, so that it bends the base visibly."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        flow = maf(d, transforms=2, hidden=(16, 16))
        with torch.no_grad():
            for p in flow.parameters():
                p.mul_(scale)
    return flow


def base(loc, scale):
    return Factorised("normal", torch.tensor([loc]), torch.tensor([scale]))


def grid(lo=-9.0, hi=9.0, n=500):
    x = torch.linspace(lo, hi, n)
    gx, gy = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([gx, gy], -1).reshape(-1, 1, 2), ((hi - lo) / (n - 1)) ** 2     # (N, B=1, D=2), cell area


@torch.no_grad()
def test_log_density_integrates_to_one_on_a_2d_grid():
    """exp(log q) summed over a fine 2-D grid times the cell area is 1 within 1 %, for a bent flow on a
    shifted, anisotropic base (the change of variables carries its log-determinant)."""
    q = FlowPosterior(base([0.5, -0.3], [0.8, 1.3]), random_flow(scale=1.5))
    z, area = grid()
    mass = q.log_prob(z).exp().sum() * area
    assert abs(mass.item() - 1) < 0.01
    assert not torch.allclose(q.log_prob(z), q.base.log_prob(z))       # the flow does change the density


@torch.no_grad()
def test_samples_follow_the_density():
    """The mean and covariance of 40,000 samples match those of the density integrated on the grid,
    within 5 standard errors."""
    q = FlowPosterior(base([0.5, -0.3], [0.8, 1.3]), random_flow(scale=1.5))
    z, area = grid()
    w = (q.log_prob(z).exp() * area)[:, 0]                              # (N,)
    pts = z[:, 0]
    mean = (w[:, None] * pts).sum(0)
    cov = (w[:, None, None] * (pts - mean)[:, :, None] * (pts - mean)[:, None, :]).sum(0)
    n = 40_000
    samples = q.rsample(n, torch.Generator().manual_seed(0))[:, 0]       # (K, D)
    sd = cov.diagonal().sqrt()
    assert torch.all((samples.mean(0) - mean).abs() < 5 * sd / math.sqrt(n))
    se = ((cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov ** 2) / n).sqrt()
    # the variance of a sample covariance is larger for a non-Gaussian: allow for its fourth moments
    assert torch.all((torch.cov(samples.T) - cov).abs() < 10 * se)


@torch.no_grad()
def test_sampling_inverts_the_density_direction():
    """f(f⁻¹(μ + σε)) = μ + σε: the sample's base point is recovered (to float precision)."""
    q = FlowPosterior(Factorised("normal", torch.randn(4, 3), torch.rand(4, 3) + 0.5), random_flow(d=3))
    eps = q.base.noise(5, torch.Generator().manual_seed(0))              # (K, B, D)
    z = q.transform(eps)
    z0, _ = q.flow(None).call_and_ladj(z)
    assert torch.allclose(z0, q.base.transform(eps), atol=1e-5)


def test_without_a_flow_the_posterior_is_its_gaussian():
    """flow=None: the density, samples and central point are the base Gaussian's."""
    b = Factorised("normal", torch.randn(3, 2), torch.rand(3, 2) + 0.1)
    q = FlowPosterior(b)
    z = torch.randn(7, 3, 2)
    assert torch.equal(q.log_prob(z), b.log_prob(z))
    assert torch.equal(q.rsample(4, torch.Generator().manual_seed(1)), b.rsample(4, torch.Generator().manual_seed(1)))
    assert torch.equal(q.loc, b.loc)


@torch.no_grad()
def test_stacked_posteriors_apply_each_its_own_flow():
    """FlowPosteriors: stratum s is FlowPosterior s, for sampling (one draw of noise for all) and density,
    and log_prob_each scores one latent under every posterior."""
    b = Factorised("normal", torch.randn(2, 5, 2), torch.rand(2, 5, 2) + 0.5)
    flows = (random_flow(0), None)
    qs = FlowPosteriors(b, flows)
    eps = b.noise(3, torch.Generator().manual_seed(0))                   # (K, S, B, D)
    z = qs.transform(eps)
    for s in range(2):
        assert torch.allclose(z[:, s], qs[s].transform(eps[:, s]))
        assert torch.allclose(qs.log_prob(z)[:, s], qs[s].log_prob(z[:, s]))
        assert torch.allclose(qs.log_prob_each(z[:, 0])[:, s], qs[s].log_prob(z[:, 0]))
    assert qs.rsample(3, torch.Generator().manual_seed(0)).shape == (3, 2, 5, 2)
    with pytest.raises(ValueError, match="one flow"):
        FlowPosteriors(b, (None,))
