"""mmvae_lib.bounds against the exact log-likelihood of a multimodal linear-Gaussian model.

Each bound is a Monte Carlo estimate; the inequalities below are checked on the mean over 512
datapoints with fixed seeds, where the Monte Carlo error is far smaller than the gaps being compared.
"""
import pytest
import torch

from mmvae_lib.theory.linear_gaussian import LinearGaussian
from mmvae_lib.objectives import bounds
from mmvae_lib.models.distributions import Factorised, Mixture
from mmvae_lib.models import MMVAE

LG = LinearGaussian.make()
XS = LG.sample(512)
LOG_P = LG.log_marginal(XS)                      # (B,) exact log p(x_1, x_2)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_reference_marginal_is_right():
    """The fixture's closed-form log p(x) equals the Gaussian chain rule log p(x_1) + log p(x_2 | x_1),
    with p(x_2 | x_1) from the exact posterior p(z | x_1): a check independent of the joint covariance."""
    loc, scale = LG.posterior(XS, [0])
    mean = loc @ LG.W[1].T + LG.b[1]                                   # E[x_2 | x_1]
    cov = LG.W[1] @ torch.diag(scale ** 2) @ LG.W[1].T + LG.sigma[1] ** 2 * torch.eye(LG.W[1].shape[0],
                                                                                      dtype=loc.dtype)
    log_cond = torch.distributions.MultivariateNormal(mean, cov).log_prob(XS[1])
    torch.testing.assert_close(LG.log_marginal(XS, [0]) + log_cond, LOG_P)


def test_elbo_below_iwae_below_log_p_and_iwae_converges():
    """ELBO <= IWAE_K <= log p for K = 1..5000 with an imperfect encoder; the IWAE gap shrinks with K and is
    within 0.02 nats of log p at K = 5000 (it is 1.9 nats at K = 1)."""
    vae = LG.vae(0, loc_shift=0.3, scale_factor=1.5)
    log_p = LG.log_marginal(XS, [0]).mean().item()
    gaps = []
    for k in [1, 10, 100, 1000, 5000]:
        log_w = bounds.log_weights(vae, [XS[0]], k, _gen(k)).log_w        # (1, K, B)
        elbo, iwae = bounds.elbo(log_w).mean().item(), bounds.iwae(log_w).mean().item()
        assert elbo <= iwae + 1e-9 and iwae <= log_p + 0.01
        gaps.append(log_p - iwae)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[0] > 1.0 and abs(gaps[-1]) < 0.02


@pytest.mark.parametrize("k", [1, 10, 100])
def test_moe_bounds_below_log_p(k):
    """Every MoE bound is below log p; the paper's eq. (3) (modality average outside the log) is below
    the tight variant, and the MoE-ELBO below both. Averaged over 512 datapoints x 10 draws: the standard
    error of the tight bound at K = 1 is then about 0.04 nats, its gap to log p about 0.3."""
    mmvae = LG.mmvae()
    reductions = (bounds.moe_elbo, bounds.moe_iwae, bounds.moe_iwae_tight)
    values = torch.zeros(3)
    for seed in range(10):
        log_w = bounds.log_weights(mmvae, XS, k, _gen(100 * k + seed)).log_w   # (M=2, K, B)
        values += torch.tensor([f(log_w).mean().item() for f in reductions]) / 10
    elbo, looser, tight = values.tolist()
    log_p = LOG_P.mean().item()
    assert elbo <= looser + 1e-9 <= tight + 1e-9
    assert tight < log_p


def test_moe_iwae_tight_converges_but_eq3_does_not():
    """The tight MoE-IWAE is an importance-sampling estimate of log p (within 0.02 nats at K = 2000); the
    looser eq. (3) converges to (1/M) Σ_m log E_{q_m}[w], which stays below log p (here by > 0.1)."""
    log_w = bounds.log_weights(LG.mmvae(), XS, 2000, _gen(5)).log_w
    log_p = LOG_P.mean().item()
    assert abs(bounds.moe_iwae_tight(log_w).mean().item() - log_p) < 0.02
    assert log_p - bounds.moe_iwae(log_w).mean().item() > 0.1


def test_mvae_with_exact_posterior_is_exact():
    """With experts whose product is the exact posterior, log w = log p(x) for every sample: the ELBO
    and IWAE equal log p per datapoint to float64 error (1e-9)."""
    log_w = bounds.log_weights(LG.mvae(), XS, 7, _gen()).log_w
    for bound in (bounds.elbo, bounds.iwae):
        torch.testing.assert_close(bound(log_w)[0], LOG_P, atol=1e-9, rtol=0)


class _OracleMMVAE(MMVAE):
    """Every expert is the exact joint posterior p(z | x_1:M): the test double for exact MoE bounds."""

    def experts(self, xs, subset=None):
        loc, scale = LG.posterior(xs)
        m = self.n_modalities
        return Factorised("normal", loc.expand(m, *loc.shape), scale.expand(m, *loc.shape))


def test_moe_bounds_with_exact_posterior_are_exact():
    """With the exact posterior in every expert, q_MoE = p(z | x) and every MoE bound equals log p."""
    base = LG.mmvae()
    oracle = _OracleMMVAE(list(base.encoders), list(base.decoders), base.likelihoods, latent_dim=3,
                          posterior="normal", scale="softplus", prior=base.prior).double()
    log_w = bounds.log_weights(oracle, XS, 5, _gen()).log_w
    for bound in (bounds.moe_elbo, bounds.moe_iwae, bounds.moe_iwae_tight):
        torch.testing.assert_close(bound(log_w), LOG_P, atol=1e-9, rtol=0)


def test_reductions_on_known_weights():
    """The reductions on hand-made log weights: elbo = mean, iwae = log-mean-exp, eq. (3) = mean over
    modalities of per-modality log-mean-exp, tight = log-mean-exp over everything."""
    log_w = torch.log(torch.tensor([[[1.0], [3.0]], [[2.0], [6.0]]], dtype=torch.float64))  # (M=2, K=2, B=1)
    torch.testing.assert_close(bounds.moe_elbo(log_w), torch.log(torch.tensor([36.0])).double() / 4)
    # eq. (3): (log mean(1, 3) + log mean(2, 6)) / 2 = (log 2 + log 4) / 2 = log(2√2)
    torch.testing.assert_close(bounds.moe_iwae(log_w), torch.tensor([2 * 2 ** 0.5]).double().log())
    torch.testing.assert_close(bounds.moe_iwae_tight(log_w), torch.tensor([3.0]).double().log())


def test_chunked_log_likelihood_equals_one_chunk():
    """The K=1000 likelihood estimate does not depend on the chunk size (same noise, same value)."""
    mmvae = LG.mmvae(loc_shift=0.2)
    one = bounds.log_likelihood(mmvae, XS, 1000, _gen(9), chunk_size=1000)
    chunked = bounds.log_likelihood(mmvae, XS, 1000, _gen(9), chunk_size=64)
    torch.testing.assert_close(chunked, one, atol=1e-10, rtol=0)
    assert abs(one.mean().item() - LOG_P.mean().item()) < 0.05


def test_log_likelihood_of_one_modality_given_another():
    """log p(x_1) estimated with the proposal q(z | x_1) and with q(z | x_1, x_2) agrees with the exact
    marginal (the Table 3 quantities), within 0.02 nats at K = 1000."""
    mvae = LG.mvae()
    exact = LG.log_marginal(XS, [0]).mean().item()
    for proposal in ([0], [0, 1]):
        est = bounds.log_likelihood(mvae, XS, 1000, _gen(2), proposal=proposal, targets=[0])
        assert abs(est.mean().item() - exact) < 0.02


def test_stratified_mixture_samples_feed_log_weights():
    """log_weights returns K samples per expert, (S, K, B, D), and weights (S, K, B)."""
    out = bounds.log_weights(LG.mmvae(), XS, 4, _gen())
    assert out.z.shape == (2, 4, 512, 3) and out.log_w.shape == (2, 4, 512)
    assert isinstance(LG.mmvae().posterior(XS), Mixture)


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_k_must_be_a_positive_integer(k):
    """K < 1 (or not an integer) gets one clear error, in the bounds and the likelihood estimator."""
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        bounds.log_weights(LG.mmvae(), XS, k)
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        bounds.log_likelihood(LG.mmvae(), XS, k)


def test_table3_likelihoods_per_item_average_to_the_table():
    """marginal.likelihoods with per_item: each datapoint's estimate, whose mean is the table's entry (same draws)."""
    from mmvae_lib.metrics import marginal

    xs = [x[:40] for x in XS]
    means = marginal.likelihoods(LG.mmvae(), xs, 8, _gen(3), batch_size=16, progress=False)
    items = marginal.likelihoods(LG.mmvae(), xs, 8, _gen(3), batch_size=16, progress=False, per_item=True)
    assert set(items) == set(means)
    for key, value in items.items():
        assert value.shape == (40,)
        assert abs(value.double().mean().item() - means[key]) < 1e-4
