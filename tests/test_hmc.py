"""mmvae_lib.models.hmc: the batched HMC sampler against a target with a closed form, the product of
Gaussian experts divided by a Gaussian prior (JNF's subset posterior with Gaussian experts)."""
import pytest
import torch

from mmvae_lib.models.hmc import DualAveraging, HMCSettings, hmc

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: one thread is far faster here


def gaussian_experts(seed=0, d=2, n_experts=3):
    """Correlated Gaussian experts N(μ_j, Σ_j) and the prior N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    locs = torch.randn(n_experts, d, generator=g)
    a = torch.randn(n_experts, d, d, generator=g) * 0.5
    covs = a @ a.transpose(-1, -2) + 0.6 * torch.eye(d)
    return locs, covs


def product_over_prior(locs, covs, divisions):
    """Π_j N(μ_j, Σ_j) / N(0, I)^n ∝ N(m, C): C⁻¹ = Σ_j Σ_j⁻¹ − n I, m = C Σ_j Σ_j⁻¹ μ_j."""
    precisions = torch.linalg.inv(covs)
    precision = precisions.sum(0) - divisions * torch.eye(locs.shape[-1])
    cov = torch.linalg.inv(precision)
    return cov @ (precisions @ locs[..., None]).sum(0)[:, 0], cov


def log_target(locs, covs, divisions):
    experts = torch.distributions.MultivariateNormal(locs, covs)
    prior = torch.distributions.MultivariateNormal(torch.zeros(locs.shape[-1]), torch.eye(locs.shape[-1]))

    def log_density(z):                                                   # (N, D) -> (N,)
        return experts.log_prob(z[:, None, :]).sum(-1) - divisions * prior.log_prob(z)
    return log_density


@pytest.mark.parametrize("divisions", [2, 1], ids=["|S|-1 divisions", "one division"])
def test_hmc_samples_match_the_closed_form_product_divided_by_the_prior(divisions):
    """2,000 chains started at one expert's mean each: after 40 steps the samples' mean and covariance
    match the exact product of three Gaussian experts divided by the prior (|S| − 1 = 2 times, or once)
    within Monte Carlo error (5 standard errors), and most proposals are accepted."""
    locs, covs = gaussian_experts()
    mean, cov = product_over_prior(locs, covs, divisions)
    n = 2000
    start = locs[torch.arange(n) % 3]                                     # each chain from one expert
    result = hmc(log_target(locs, covs, divisions), start, torch.Generator().manual_seed(1),
                 HMCSettings(steps=40, leapfrog_steps=10, step_size=0.1))
    z = result.z
    sd = cov.diagonal().sqrt()
    assert torch.all((z.mean(0) - mean).abs() < 5 * sd / n ** 0.5), (z.mean(0), mean)
    # the standard error of a sample covariance entry is sqrt((C_ii C_jj + C_ij^2) / n)
    se = ((cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov ** 2) / n).sqrt()
    assert torch.all((torch.cov(z.T) - cov).abs() < 5 * se), (torch.cov(z.T), cov)
    assert result.acceptance.mean() > 0.8
    assert result.acceptance.shape == (n,)


def test_the_two_divisions_give_different_targets():
    """With three experts, dividing once or twice by the prior gives measurably different posteriors:
    their means and variances differ by more than the tolerances of the test above, so that test tells
    them apart: the option matters."""
    locs, covs = gaussian_experts()
    (m1, c1), (m2, c2) = product_over_prior(locs, covs, 1), product_over_prior(locs, covs, 2)
    n = 2000
    assert torch.all((m2 - m1).abs() > 5 * c2.diagonal().sqrt() / n ** 0.5)
    assert torch.all(c2.diagonal() - c1.diagonal() > 5 * (2 * c2.diagonal() ** 2 / n).sqrt())


def test_hmc_is_reproducible_from_its_generator_and_runs_under_no_grad():
    """Same generator seed, same samples; gradients for the leapfrog steps even inside torch.no_grad()."""
    locs, covs = gaussian_experts(d=3)
    target = log_target(locs, covs, 1)
    start = locs[torch.arange(50) % 3]
    settings = HMCSettings(steps=5, leapfrog_steps=3, step_size=0.1)
    with torch.no_grad():
        a = hmc(target, start, torch.Generator().manual_seed(0), settings)
    b = hmc(target, start, torch.Generator().manual_seed(0), settings)
    assert torch.equal(a.z, b.z) and torch.equal(a.acceptance, b.acceptance)
    assert not a.z.requires_grad


def test_a_huge_step_is_rejected_not_propagated():
    """Leapfrog steps that blow up the energy are rejected (the chain stays put, acceptance 0)."""
    target = lambda z: -0.5 * (z ** 4).sum(-1)                              # noqa: E731
    start = torch.ones(8, 2)
    result = hmc(target, start, torch.Generator().manual_seed(0), HMCSettings(steps=3, leapfrog_steps=20,
                                                                              step_size=5.0))
    assert torch.equal(result.z, start) and torch.all(result.acceptance == 0)


def test_adapting_from_the_authors_step_mixes_where_the_fixed_step_does_not():
    """From the authors' step 0.01, 10 steps of dual averaging then 10 of sampling match the closed-form
    product within 5 standard errors (mean) and 20 % (variances); the same 20 steps at the fixed 0.01 are
    far off (the check can fail). Each chain ends with its own step, much larger than 0.01."""
    from mmvae_lib.theory import subset_posterior

    locs, covs = gaussian_experts()
    adapted = subset_posterior.hmc_against_closed_form(locs, covs, 2, 2000, HMCSettings(20, 10, 0.01, adapt_steps=10))
    fixed = subset_posterior.hmc_against_closed_form(locs, covs, 2, 2000, HMCSettings(20, 10, 0.01))
    assert adapted["mean error (standard errors)"] < 5 and adapted["variance error (relative)"] < 0.2, adapted
    assert fixed["mean error (standard errors)"] > 10 and fixed["variance error (relative)"] > 1, fixed
    assert 0.65 <= adapted["acceptance"] < 1

    target = log_target(locs, covs, 2)
    result = hmc(target, locs[torch.arange(300) % 3], torch.Generator().manual_seed(0),
                 HMCSettings(20, 10, 0.01, adapt_steps=10))
    assert result.step_size.shape == (300,) and torch.all(result.step_size > 0.05)
    assert len(result.step_size.unique()) > 1                              # one step size per chain


def test_dual_averaging_moves_the_step_towards_the_target_acceptance():
    """Always accepting grows the step, never accepting shrinks it; the averaged step follows."""
    for accept, grows in ((1.0, True), (0.0, False)):
        adapter = DualAveraging(torch.full((2,), 0.1), target=0.65)
        for _ in range(20):
            adapter.update(torch.full((2,), accept))
        assert torch.all((adapter.final > 0.1) == grows) and torch.all((adapter.step > 0.1) == grows)


def test_acceptance_counts_only_the_steps_after_adaptation():
    """With 3 steps of which 2 adapt, each chain's acceptance is that of its one sampling step: 0 or 1."""
    locs, covs = gaussian_experts()
    result = hmc(log_target(locs, covs, 1), locs[torch.arange(40) % 3], torch.Generator().manual_seed(0),
                 HMCSettings(3, 5, 0.05, adapt_steps=2))
    assert set(result.acceptance.tolist()) <= {0.0, 1.0}


def test_settings_are_checked():
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        HMCSettings(steps=0)
    with pytest.raises(ValueError, match="step_size must be positive"):
        HMCSettings(step_size=0.0)
    with pytest.raises(ValueError, match="adapt_steps must be an integer in"):
        HMCSettings(steps=10, adapt_steps=10)
    with pytest.raises(ValueError, match="target_acceptance must be in"):
        HMCSettings(adapt_steps=5, target_acceptance=1.0)
    with pytest.raises(ValueError, match="z0 must be"):
        hmc(lambda z: -z.pow(2).sum(-1), torch.zeros(3), None)


def test_the_notebook_check_reports_a_converged_sampler_as_such():
    """mmvae_lib.theory.subset_posterior: its closed form is the one above, and a schedule that mixes is
    reported within a few standard errors, with its acceptance rate."""
    from mmvae_lib.theory import subset_posterior

    locs, covs = gaussian_experts()
    for n in (1, 2):
        mean, cov = subset_posterior.product_over_prior(locs, covs, n)
        expected = product_over_prior(locs, covs, n)
        assert torch.allclose(mean, expected[0]) and torch.allclose(cov, expected[1])
    report = subset_posterior.hmc_against_closed_form(locs, covs, 2, 1000, HMCSettings(30, 10, 0.1), seed=0)
    assert report["mean error (standard errors)"] < 5 and report["variance error (relative)"] < 0.2
    assert 0.8 < report["acceptance"] <= 1
    with pytest.raises(ValueError, match="no normalisable density"):
        subset_posterior.product_over_prior(locs, covs, 50)
