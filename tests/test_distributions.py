"""mmvae_lib.distributions: densities, sampling, the mixture and the product of experts."""
import math

import pytest
import torch

from mmvae_lib.models.distributions import Factorised, Mixture, Prior, moe_log_prob, poe, softmax_scale

TORCH_FAMILIES = {"laplace": torch.distributions.Laplace, "normal": torch.distributions.Normal}


@pytest.mark.parametrize("family", ["laplace", "normal"])
def test_log_prob_kl_entropy_match_torch(family):
    """Our densities, closed-form KLs and entropies equal torch.distributions' for both families."""
    g = torch.Generator().manual_seed(0)
    loc1, loc2 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    s1, s2 = torch.rand(4, 3, generator=g) + 0.2, torch.rand(4, 3, generator=g) + 0.2
    ours1, ours2 = Factorised(family, loc1, s1), Factorised(family, loc2, s2)
    ref1, ref2 = TORCH_FAMILIES[family](loc1, s1), TORCH_FAMILIES[family](loc2, s2)
    z = torch.randn(5, 4, 3, generator=g)
    torch.testing.assert_close(ours1.log_prob(z), ref1.log_prob(z).sum(-1))
    torch.testing.assert_close(ours1.kl(ours2), torch.distributions.kl_divergence(ref1, ref2))
    torch.testing.assert_close(ours1.entropy(), ref1.entropy().sum(-1))


@pytest.mark.parametrize("family", ["laplace", "normal"])
def test_rsample_moments_and_reproducibility(family):
    """Samples have the family's mean and variance, and the same generator seed gives the same samples."""
    q = Factorised(family, torch.tensor([1.0, -2.0]), torch.tensor([0.5, 2.0]))
    a = q.rsample(200_000, torch.Generator().manual_seed(3))
    b = q.rsample(200_000, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    var = q.scale ** 2 * (2 if family == "laplace" else 1)
    torch.testing.assert_close(a.mean(0), q.loc, atol=0.02, rtol=0)
    torch.testing.assert_close(a.var(0), var, rtol=0.03, atol=0)


def test_rsample_is_reparameterised():
    """Gradients reach loc and scale through a sample: d z / d loc = 1, d z / d scale = eps."""
    loc, scale = torch.zeros(3, requires_grad=True), torch.ones(3, requires_grad=True)
    q = Factorised("laplace", loc, scale)
    eps = q.noise(1, torch.Generator().manual_seed(0))
    q.transform(eps).sum().backward()
    torch.testing.assert_close(loc.grad, torch.ones(3))
    torch.testing.assert_close(scale.grad, eps[0])


@pytest.mark.parametrize("family", ["laplace", "normal"])
def test_moe_density_is_mean_of_expert_densities(family):
    """log q_MoE(z) = log (1/M) Σ_m q_m(z), computed from the experts one by one, and it integrates to 1."""
    experts = Factorised(family, torch.tensor([-2.0, 0.5, 3.0]).view(3, 1, 1),
                         torch.tensor([0.7, 1.5, 0.4]).view(3, 1, 1))          # (M=3, B=1, D=1)
    z = torch.linspace(-15, 15, 30_001).view(-1, 1, 1)                     # (N, B=1, D=1)
    direct = torch.stack([experts[m].log_prob(z).exp() for m in range(3)]).mean(0)
    torch.testing.assert_close(moe_log_prob(z, experts).exp(), direct)
    mass = torch.trapezoid(moe_log_prob(z, experts).exp().squeeze(), z.squeeze())
    assert abs(mass.item() - 1) < 1e-4


def test_mixture_samples_are_stratified():
    """Mixture.rsample draws K samples from each expert: stratum m has expert m's mean."""
    experts = Factorised("normal", torch.tensor([[[-5.0]], [[5.0]]]), torch.ones(2, 1, 1))   # (M=2, B=1, D=1)
    z = Mixture(experts).rsample(20_000, torch.Generator().manual_seed(0))               # (2, K, 1, 1)
    assert z.shape == (2, 20_000, 1, 1)
    torch.testing.assert_close(z.mean(1).squeeze(), torch.tensor([-5.0, 5.0]), atol=0.05, rtol=0)


def test_mixture_noise_chunks_reproduce_one_draw():
    """Noise is drawn K-major, so its first k samples do not depend on how many are drawn in total."""
    mixture = Mixture(Factorised("laplace", torch.zeros(2, 3, 4), torch.ones(2, 3, 4)))
    big = mixture.noise(50, torch.Generator().manual_seed(1))
    small = mixture.noise(20, torch.Generator().manual_seed(1))
    assert big.shape == (2, 50, 3, 4)
    torch.testing.assert_close(big[:, :20], small)


def test_poe_matches_numerical_product_in_1d():
    """PoE of Gaussians = the precision-weighted product, checked against the normalised product of
    densities (with the prior expert) on a fine grid."""
    experts = Factorised("normal", torch.tensor([[[1.5]], [[-0.5]]], dtype=torch.float64),
                         torch.tensor([[[0.4]], [[1.3]]], dtype=torch.float64))
    prior = Factorised("normal", torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    product = poe(experts, prior)
    z = torch.linspace(-10, 10, 200_001, dtype=torch.float64).view(-1, 1, 1)
    log_density = prior.log_prob(z) + experts.log_prob(z.unsqueeze(1)).sum(1)           # (N, 1)
    density = (log_density - log_density.max()).exp().squeeze()
    density = density / torch.trapezoid(density, z.squeeze())
    mean = torch.trapezoid(density * z.squeeze(), z.squeeze())
    var = torch.trapezoid(density * (z.squeeze() - mean) ** 2, z.squeeze())
    assert abs(product.loc.item() - mean.item()) < 1e-8
    assert abs(product.scale.item() ** 2 - var.item()) < 1e-8


def test_poe_follows_the_most_precise_expert():
    """Each expert holds a veto: as one expert's precision grows, the product's mean goes to its mean."""
    means = []
    for scale in [1.0, 0.1, 0.01]:
        experts = Factorised("normal", torch.tensor([[[4.0]], [[-4.0]]]), torch.tensor([[[1.0]], [[scale]]]))
        means.append(poe(experts).loc.item())
    assert means[0] == pytest.approx(0.0, abs=1e-6)
    assert means[2] == pytest.approx(-4.0, abs=1e-2)


def test_poe_rejects_laplace_experts():
    """The closed-form product is for Gaussians only: Laplace experts get a clear error."""
    with pytest.raises(ValueError, match="Normal experts"):
        poe(Factorised("laplace", torch.zeros(2, 1, 3), torch.ones(2, 1, 3)))


def test_paper_scale_parametrisation_sums_to_d():
    """softmax(raw) * D + 1e-6: the D scales sum to D (paper §4), for any raw values."""
    raw = torch.randn(7, 20)
    torch.testing.assert_close(softmax_scale(raw).sum(-1), torch.full((7,), 20 + 20e-6))


def test_prior_scale_is_learnable_and_starts_standard():
    """The prior has zero mean, scale 1 at initialisation (softmax(0) * D), and a learnable parameter."""
    prior = Prior(5, "laplace", learnable=True)
    p = prior()
    torch.testing.assert_close(p.scale, torch.ones(5))
    p.log_prob(torch.randn(3, 5)).sum().backward()
    assert prior.param.grad is not None
    assert not Prior(5, "normal", learnable=False).param.requires_grad


def test_unknown_family_is_an_error():
    """An unknown family name gets one clear error naming the choices."""
    with pytest.raises(ValueError, match="family must be one of"):
        Factorised("cauchy", torch.zeros(1), torch.ones(1))
    with pytest.raises(ValueError, match="family must be one of"):
        Prior(3, "cauchy")
    assert math.isfinite(Factorised("normal", torch.zeros(1), torch.ones(1)).entropy().item())


@pytest.mark.parametrize("family", ["laplace", "normal"])
def test_a_generator_on_another_device_draws_there_and_moves_the_noise(family):
    """A CPU generator sampling for parameters elsewhere (here the meta device, standing in for a GPU, which
    these machines lack) draws on the CPU, so the same seed gives the same noise on every device."""
    q = Factorised(family, torch.zeros(2, 3, device="meta"), torch.ones(2, 3, device="meta"))
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    noise = q.noise(4, g)
    assert noise.device.type == "meta" and noise.shape == (4, 2, 3)
    assert not torch.equal(g.get_state(), before)  # the CPU generator was consumed
