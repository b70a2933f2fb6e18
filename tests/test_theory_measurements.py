"""The theory of notebook 02: mmvae_lib.theory, and the linear-time importance sampler of Appendix B in
mmvae_lib.bounds / mmvae_lib.estimators, against exact values of the linear-Gaussian model."""
import math

import pytest
import torch

from mmvae_lib.objectives import bounds, estimators
from mmvae_lib.theory import measurements as theory
from mmvae_lib.theory.linear_gaussian import LinearGaussian

LG = LinearGaussian.make()
XS = LG.sample(256)
LOG_P = LG.log_marginal(XS).mean().item()


pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- 1. precision miscalibration -------------------------------------------------------------------

def test_poe_mean_converges_to_the_confident_expert():
    """The PoE mean sits exactly a share τ_1/(τ_1+τ_2) of the way to the confident expert, so it reaches
    the confident expert's mean as τ_1 grows (within 1e-6 of it at τ_1/τ_2 = 1e6), in 1-D and 2-D."""
    taus = [0.5, 1.0, 10.0, 1e3, 1e6]
    for confident, other in (([2.0], [-1.0]), ([2.0, 1.0], [-1.0, -0.5])):
        rows = theory.precision_sweep(confident, other, taus, other_precision=1.0)
        for tau, row in zip(taus, rows):
            assert row["poe_pull"] == pytest.approx(tau / (tau + 1.0), abs=1e-12)
        for d, target in enumerate(confident):
            assert abs(rows[-1][f"poe_mean_{d}"] - target) < 1e-5


def test_moe_keeps_every_expert_and_poe_vetoes():
    """The MoE mean is the average of the experts' means whatever their precisions, and its density at
    the other expert's mean stays above log q_2(μ_2) − log 2; the PoE's falls without bound (below −1000
    at a precision ratio of 1000, as −τ_1·d²/2 predicts)."""
    rows = theory.precision_sweep([2.0], [-1.0], [1.0, 10.0, 1000.0])
    for row in rows:
        assert row["moe_mean_0"] == pytest.approx(0.5, abs=1e-12)
        assert row["moe_log_density_at_other"] >= row["other_log_density_at_own_mean"] - math.log(2) - 1e-12
    assert rows[-1]["poe_log_density_at_other"] < -1000


def test_log_densities_integrate_to_one():
    """Each expert, the product (normalised) and the mixture are densities: on a fine 1-D grid each
    integrates to 1 within 1e-6."""
    points = torch.linspace(-12, 12, 24001, dtype=torch.float64)[:, None]
    for name, log_q in theory.log_densities(theory.two_experts([2.0], [-1.0], 9.0), points).items():
        assert torch.trapezoid(log_q.exp(), points[:, 0]).item() == pytest.approx(1.0, abs=1e-6), name


def test_two_experts_checks_its_arguments():
    """Means of different dimensions and non-positive precisions are refused in plain words; a precision
    may be given per dimension."""
    with pytest.raises(ValueError, match="same dimension"):
        theory.two_experts([1.0], [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="precisions must be positive"):
        theory.two_experts([1.0], [2.0], 0.0)
    experts = theory.two_experts([1.0, 2.0], [0.0, 0.0], [4.0, 16.0])
    torch.testing.assert_close(experts.scale[0, 0], torch.tensor([0.5, 0.25], dtype=torch.float64))


# --- Appendix B: the linear-time importance sampler ------------------------------------------------

def test_mixture_sampled_iwae_converges_to_exact_log_p():
    """Appendix B's estimator is an importance-sampling estimate of p(x) with q_MoE as proposal: with
    K = 4000 mixture samples its IWAE is within 0.02 nats of the exact log p(x_1, x_2) (its K = 1 value,
    the ELBO, is more than 1 nat below)."""
    mmvae = LG.mmvae()
    log_w = bounds.mixture_log_weights(mmvae, XS, 4000, _gen(1)).log_w         # (1, K, B)
    assert log_w.shape == (1, 4000, 256)
    assert abs(bounds.iwae(log_w).mean().item() - LOG_P) < 0.02
    assert LOG_P - bounds.elbo(log_w).mean().item() > 1.0


def test_mixture_sampled_weights_are_unbiased_for_p():
    """The weights w = p(z, x)/q_MoE(z | x) with z ~ q_MoE have expectation p(x): their mean over 4000
    samples, divided by the exact p(x), averages to 1 over the datapoints (within 0.02)."""
    log_w = bounds.mixture_log_weights(LG.mmvae(loc_shift=0.2), XS, 4000, _gen(2)).log_w[0]   # (K, B)
    ratio = (log_w - LG.log_marginal(XS)).exp().mean(0)                        # (B,) estimate of p / p
    assert ratio.mean().item() == pytest.approx(1.0, abs=0.02)


def test_mixture_sampled_elbo_has_the_stratified_moe_elbo_expectation():
    """Sampling from the mixture (expert picked uniformly) and stratifying (K from each expert) estimate
    the same MoE ELBO: with 2000 samples each, the means over 256 datapoints agree within 0.05 nats."""
    mmvae = LG.mmvae(loc_shift=0.2)
    mixed = bounds.elbo(bounds.mixture_log_weights(mmvae, XS, 2000, _gen(3)).log_w).mean().item()
    strat = bounds.moe_elbo(bounds.log_weights(mmvae, XS, 1000, _gen(4)).log_w).mean().item()
    assert mixed == pytest.approx(strat, abs=0.05)


def test_linear_time_decodes_m_k_samples_not_m_squared():
    """Counted by hooks: the stratified MoE-ELBO decodes M²·K samples per datapoint, the mixture-sampled
    one M·K (M = 3, K = 5)."""
    lg3 = LinearGaussian.make(dims=(4, 5, 6), latent_dim=3, sigma=(0.5, 0.7, 0.9))
    model, xs = lg3.mmvae(), lg3.sample(8)
    assert theory.decoded_samples(model, xs, "moe_elbo", 5) == 3 * 3 * 5 * 8
    assert theory.decoded_samples(model, xs, "moe_elbo_linear", 5) == 3 * 5 * 8
    assert theory.decoded_samples(model, xs, "moe_iwae_linear", 5) == 3 * 5 * 8


def test_linear_estimators_are_the_reductions_of_mixture_log_weights():
    """moe_elbo_linear and moe_iwae_linear report elbo and iwae of mixture_log_weights (same generator),
    and their gradient reaches every encoder."""
    mmvae = LG.mmvae(loc_shift=0.2)
    log_w = bounds.mixture_log_weights(mmvae, XS, 6, _gen(5)).log_w
    for name, reduction in (("moe_elbo_linear", bounds.elbo), ("moe_iwae_linear", bounds.iwae)):
        est = estimators.OBJECTIVES[name](mmvae, XS, 6, _gen(5))
        torch.testing.assert_close(est.bound, reduction(log_w)[0].detach())
        mmvae.zero_grad()
        est.surrogate.mean().backward()
        assert all(enc.A.grad.abs().sum() > 0 for enc in mmvae.encoders), name


# --- 2. the bounds table ---------------------------------------------------------------------------

def test_bounds_against_k_with_exact_poe_has_no_poe_gap():
    """With the exact product of experts, the PoE ELBO and IWAE equal log p for every sample, so their gap
    is 0 (1e-9); every MoE bound is at or below log p; one row per bound and K."""
    rows = theory.bounds_against_k(LG.mmvae(), LG.mvae(), XS, LOG_P, (1, 8), reps=2, seed=0)
    assert len(rows) == 2 * len(theory.BOUND_NAMES)
    for row in rows:
        if row["bound"].startswith("PoE"):
            assert abs(row["gap"]) < 1e-9
        else:
            assert row["gap"] > -0.05


# --- 3. entropy ------------------------------------------------------------------------------------

def test_expert_entropy_of_exact_experts_is_the_exact_posteriors():
    """The MMVAE started at the exact unimodal posteriors has expert entropies equal to those of p(z | x_m),
    and the joint posterior's is the smallest (it sees both modalities)."""
    exact = theory.exact_entropies(LG, XS)
    entropies = theory.expert_entropy(LG.mmvae(), XS)
    assert entropies == pytest.approx([exact["p(z | x_1)"], exact["p(z | x_2)"]], abs=1e-9)
    assert exact["p(z | x_1:M)"] < min(entropies)


# --- 4. cost and 5. SNR ----------------------------------------------------------------------------

def test_growth_exponent_of_powers():
    """The log-log slope of y = 3x² is 2 and of y = x is 1."""
    x = [2, 3, 4, 8]
    assert theory.growth_exponent(x, [3 * v ** 2 for v in x]) == pytest.approx(2.0)
    assert theory.growth_exponent(x, x) == pytest.approx(1.0)


def test_cost_against_m_rows():
    """One row per M and objective, with the counted decodings M²·K and M·K and a positive time."""
    rows = theory.cost_against_m((2, 3), k=2, batch=4, obs_dim=8, reps=2, latent_dim=3)
    assert [(r["m"], r["objective"]) for r in rows] == [(2, "moe_elbo"), (2, "moe_elbo_linear"),
                                                       (3, "moe_elbo"), (3, "moe_elbo_linear")]
    assert [r["decoded_per_point"] for r in rows] == [8, 4, 18, 6]
    assert all(r["seconds_per_step"] > 0 and r["bound_std_per_point"] > 0 for r in rows)


def test_snr_against_k_rows():
    """One SNR per objective and K, reproducible from the seed."""
    vae, x = LG.vae(0, loc_shift=0.3), [XS[0][:1]]
    rows = theory.snr_against_k(vae, x, ("iwae", "dreg"), (1, 4), reps=5, seed=2)
    assert [(r["objective"], r["k"]) for r in rows] == [("iwae", 1), ("iwae", 4), ("dreg", 1), ("dreg", 4)]
    assert rows == theory.snr_against_k(vae, x, ("iwae", "dreg"), (1, 4), reps=5, seed=2)


def test_the_official_gradient_agrees_with_dreg_at_one_sample_and_parts_from_it_beyond():
    """At K = 1 the normalised weight is 1, so the two estimators' gradients are equal; at K = 10 their encoder
    gradients differ (cosine below 1, the official one longer), and the decoder gradients stay equal."""
    from mmvae_lib.theory.linear_gaussian import LinearGaussian

    lg = LinearGaussian.make(seed=0)
    rows = theory.official_against_dreg(lg.mmvae(loc_shift=0.3, scale_factor=1.5), lg.sample(64, seed=1), (1, 10))
    one, ten = rows
    assert one["encoder cosine"] == pytest.approx(1.0) and one["encoder norm, official / DReG"] == pytest.approx(1.0)
    assert ten["encoder cosine"] < 0.999 and ten["encoder norm, official / DReG"] > 1.0
    assert one["decoder max |difference|"] == 0.0 and ten["decoder max |difference|"] < 1e-12
