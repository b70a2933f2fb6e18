"""mmvae_lib.estimators: bound values, DReG gradients and the MVAE objective."""
import pytest
import torch

from mmvae_lib.theory.linear_gaussian import LinearGaussian, gradient_samples, gradient_snr
from mmvae_lib.objectives import bounds, estimators
from mmvae_lib.objectives.estimators import OBJECTIVES

LG = LinearGaussian.make()
XS = LG.sample(64)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _grads(model, name, k, reps, x, seed=0):
    """Per-repetition gradients of the surrogate w.r.t. one encoder and one decoder parameter."""
    return tuple(gradient_samples(model, x, name, k, reps, seed, ("encoders.0.a", "decoders.0.b")))


@pytest.mark.parametrize("pair", [("iwae", "dreg"), ("moe_iwae", "moe_dreg_looser"),
                                  ("moe_iwae_tight", "moe_dreg")])
def test_dreg_bound_and_decoder_gradient_equal_iwae(pair):
    """With the same samples, each DReG estimator reports the same bound value as its IWAE and gives
    exactly the same decoder gradient, Σ w̃ ∇θ log w (so, a fortiori, the same expectation)."""
    plain, dreg = pair
    model = LG.vae(0, loc_shift=0.3, scale_factor=1.5) if plain == "iwae" else LG.mmvae(loc_shift=0.3)
    x = [XS[0]] if plain == "iwae" else XS
    a, b = OBJECTIVES[plain](model, x, 16, _gen(1)), OBJECTIVES[dreg](model, x, 16, _gen(1))
    torch.testing.assert_close(a.bound, b.bound)
    _, dec_plain = _grads(model, plain, 16, 5, x, seed=2)
    _, dec_dreg = _grads(model, dreg, 16, 5, x, seed=2)
    torch.testing.assert_close(dec_plain, dec_dreg)


def test_dreg_surrogate_value_is_not_the_bound():
    """The DReG surrogate Σ w̃ log w is what training differentiates; its value differs from the bound."""
    est = estimators.dreg(LG.vae(0, loc_shift=0.3, scale_factor=1.5), [XS[0]], 16, _gen())
    assert not torch.allclose(est.surrogate, est.bound)
    assert not est.bound.requires_grad and est.surrogate.requires_grad


def test_dreg_encoder_gradient_is_unbiased():
    """For one posterior, DReG's encoder gradient has the expectation of IWAE's: the means over 400
    repetitions (K = 10, one datapoint) agree within 4 standard errors in every coordinate."""
    model = LG.vae(0, loc_shift=0.3, scale_factor=1.5)
    x = [XS[0][:1]]
    enc_iwae, _ = _grads(model, "iwae", 10, 400, x, seed=3)
    enc_dreg, _ = _grads(model, "dreg", 10, 400, x, seed=4)
    se = (enc_iwae.var(0) / 400 + enc_dreg.var(0) / 400).sqrt()
    assert ((enc_iwae.mean(0) - enc_dreg.mean(0)).abs() < 4 * se).all()


def test_dreg_signal_to_noise_does_not_collapse():
    """Rainforth et al. (2018): IWAE's encoder-gradient SNR falls as K grows (here by > 4x from K = 1 to
    1000); DReG's does not (it grows), and at K = 1000 it is > 20x IWAE's. 200 repetitions, one datapoint."""
    model = LG.vae(0, loc_shift=0.3, scale_factor=1.5)
    x = [XS[0][:1]]
    snr = {(name, k): gradient_snr(model, x, name, k, 200, seed=k)
           for name in ("iwae", "dreg") for k in (1, 1000)}
    assert snr[("iwae", 1000)] < snr[("iwae", 1)] / 4
    assert snr[("dreg", 1000)] > snr[("dreg", 1)]
    assert snr[("dreg", 1000)] > 20 * snr[("iwae", 1000)]


def test_mvae_objective_sums_joint_and_unimodal_elbos():
    """The MVAE surrogate = ELBO(x_1, x_2) + ELBO(x_1) + ELBO(x_2) (each with its own PoE posterior and
    only its own likelihoods), the bound is the joint ELBO; beta = 0 leaves only the likelihood terms."""
    mvae = LG.mvae(loc_shift=0.2)
    est = estimators.mvae(mvae, XS, 3, _gen(7))
    g = _gen(7)
    parts = [bounds.log_weights(mvae, XS, 3, g, subset=s, targets=s) for s in ([0, 1], [0], [1])]
    torch.testing.assert_close(est.surrogate, sum(bounds.elbo(p.log_w)[0] for p in parts))
    torch.testing.assert_close(est.bound, bounds.elbo(parts[0].log_w)[0])
    no_kl = estimators.mvae(mvae, XS, 3, _gen(7), beta=0.0)
    torch.testing.assert_close(no_kl.surrogate, sum(bounds.elbo(p.log_lik)[0] for p in parts))


def test_single_posterior_estimators_refuse_a_mixture():
    """elbo/iwae/dreg need one expert; with the MMVAE's two they say to use the moe_ variant."""
    for name in ("elbo", "iwae", "dreg"):
        with pytest.raises(ValueError, match="use the moe_ variant"):
            OBJECTIVES[name](LG.mmvae(), XS, 2, _gen())


def test_every_objective_trains_a_step():
    """Every named objective returns (B,) bound and surrogate and its gradient reaches the encoders."""
    for name, objective in OBJECTIVES.items():
        single = name in ("elbo", "iwae", "dreg", "dreg_official")
        model = LG.vae(0) if single else (LG.mvae() if name == "mvae" else LG.mmvae())
        x = [XS[0]] if single else XS
        est = objective(model, x, 4, _gen())
        assert est.bound.shape == est.surrogate.shape == (64,), name
        est.surrogate.mean().backward()
        assert model.encoders[0].A.grad.abs().sum() > 0, name


def test_mvae_random_subsets_add_their_elbos():
    """With four modalities, ``subsets=2`` adds the ELBOs of two subsets drawn uniformly (with the generator,
    before any sample) among the ten of 2 or 3 modalities, to the joint and unimodal ELBOs; with two
    modalities there are none, and the objective is unchanged."""
    lg = LinearGaussian.make(dims=(5, 5, 5, 5), sigma=(0.6, 0.7, 0.8, 0.9))
    model, xs = lg.mvae(loc_shift=0.2), lg.sample(16)
    est = estimators.mvae(model, xs, 2, _gen(3), subsets=2)
    g = _gen(3)
    middle = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    drawn = [middle[i] for i in torch.randint(10, (2,), generator=g).tolist()]
    terms = [[0, 1, 2, 3], [0], [1], [2], [3]] + drawn
    parts = [bounds.log_weights(model, xs, 2, g, subset=s, targets=s) for s in terms]
    torch.testing.assert_close(est.surrogate, sum(bounds.elbo(p.log_w)[0] for p in parts))
    torch.testing.assert_close(est.bound, bounds.elbo(parts[0].log_w)[0])
    two = LG.mvae(loc_shift=0.2)
    torch.testing.assert_close(estimators.mvae(two, XS, 3, _gen(7), subsets=3).surrogate,
                               estimators.mvae(two, XS, 3, _gen(7)).surrogate)


def test_moe_elbo_linear_beta_weighs_only_the_kl_part():
    """moe_elbo_linear is the ELBO of K samples from the mixture; beta = 1 is that ELBO, beta = 0 keeps only
    the likelihood term, and the bound reported is the ELBO whatever beta."""
    model = LG.mmvae(loc_shift=0.3)
    weights = bounds.mixture_log_weights(model, XS, 5, _gen(4))
    plain = estimators.moe_elbo_linear(model, XS, 5, _gen(4))
    torch.testing.assert_close(plain.surrogate, bounds.elbo(weights.log_w)[0])
    no_kl = estimators.moe_elbo_linear(model, XS, 5, _gen(4), beta=0.0)
    torch.testing.assert_close(no_kl.surrogate, bounds.elbo(weights.log_lik)[0])
    torch.testing.assert_close(no_kl.bound, plain.bound)


@pytest.mark.parametrize("name, per_expert, expert_weight", [("dreg", True, 1.0), ("moe_dreg", False, 1.0),
                                                             ("moe_dreg_looser", True, 0.5)])
def test_the_official_codes_gradient_carries_one_factor_of_the_weights_along_the_path(name, per_expert, expert_weight):
    """Derived here by the chain rule, apart from the estimators: with ∂ log w / ∂z at each sample (q's parameters
    detached), the encoder gradient of the official code's surrogate is Σ w̃ ∂ log w/∂z · ∂z/∂φ and DReG's
    Σ w̃² ∂ log w/∂z · ∂z/∂φ (each expert's terms weighted by ``expert_weight``: 1/M for eq. 3's mean over
    modalities). The two differ where w̃ is not one-hot; their decoder gradients are the same."""
    model = LG.vae(0, loc_shift=0.3, scale_factor=1.5) if name == "dreg" else LG.mmvae(loc_shift=0.3)
    x = [XS[0][:6]] if name == "dreg" else [m[:6] for m in XS]
    k = 8
    encoder = [p for n, p in model.named_parameters() if n.startswith("encoders")]
    decoder = [p for n, p in model.named_parameters() if n.startswith("decoders")]

    z = model.posterior(x).rsample(k, _gen(1))                                        # (S, K, B, D), on φ's graph
    leaf = z.detach().requires_grad_()
    log_w = model.log_joint(leaf, x, list(range(len(x)))) - model.posterior(x).detach().log_prob(leaf)  # (S, K, B)
    (per_sample,) = torch.autograd.grad(log_w.sum(), leaf)        # each log w depends on its own z only
    w = (torch.softmax(log_w, 1) if per_expert else torch.softmax(log_w.flatten(0, 1), 0).view_as(log_w)).detach()
    derived = {power: torch.autograd.grad(z, encoder, grad_outputs=expert_weight * (w ** power)[..., None] * per_sample,
                                          retain_graph=True) for power in (1, 2)}

    def gradients(objective):
        surrogate = OBJECTIVES[objective](model, x, k, _gen(1)).surrogate.sum()
        return torch.autograd.grad(surrogate, encoder + decoder)

    official, published = gradients(f"{name}_official"), gradients(name)
    n = len(encoder)
    for got, want in zip(official[:n], derived[1], strict=True):
        torch.testing.assert_close(got, want)
    for got, want in zip(published[:n], derived[2], strict=True):
        torch.testing.assert_close(got, want)
    assert not all(torch.allclose(a, b) for a, b in zip(official[:n], published[:n]))    # w̃ is not one-hot here
    assert ((w > 0.01) & (w < 0.99)).any()
    for a, b in zip(official[n:], published[n:], strict=True):
        torch.testing.assert_close(a, b)
