"""mmvae_lib.linear_gaussian: the exact model itself, the fitting loop and the gradient SNR helpers."""
import math

import pytest
import torch

from mmvae_lib.theory.linear_gaussian import (LinearGaussian, fit, gradient_samples, gradient_snr,
                                       signal_to_noise)

LG = LinearGaussian.make()
XS = LG.sample(128)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_posterior_equals_gaussian_conditioning_of_the_joint():
    """The closed-form posterior p(z | x_1, x_2) (diagonal, from W_mᵀW_m = diag(c_m²)) equals the textbook
    conditional of the joint Gaussian of (z, x): mean Wᵀ Σ_x⁻¹ (x − b), covariance I − Wᵀ Σ_x⁻¹ W."""
    W, b = torch.cat(LG.W), torch.cat(LG.b)                                     # (P, D), (P,)
    noise = torch.cat([torch.full((w.shape[0],), s ** 2, dtype=W.dtype) for w, s in zip(LG.W, LG.sigma)])
    cov_x = W @ W.T + torch.diag(noise)
    gain = W.T @ torch.linalg.inv(cov_x)                                        # (D, P)
    mean = (torch.cat(XS, 1) - b) @ gain.T
    cov = torch.eye(LG.latent_dim, dtype=W.dtype) - gain @ W
    loc, scale = LG.posterior(XS)
    torch.testing.assert_close(loc, mean, atol=1e-10, rtol=0)
    torch.testing.assert_close(torch.diag(scale ** 2), cov, atol=1e-10, rtol=0)


def test_models_start_at_the_exact_posteriors():
    """The MMVAE's experts are the exact unimodal posteriors p(z | x_m); the MVAE's product of experts (with
    the prior) is the exact joint posterior."""
    experts = LG.mmvae().experts(XS)
    for m in range(2):
        loc, scale = LG.posterior(XS, [m])
        torch.testing.assert_close(experts.loc[m], loc, atol=1e-9, rtol=0)
        torch.testing.assert_close(experts.scale[m], scale.expand_as(loc), atol=1e-9, rtol=0)
    product = LG.mvae().posterior(XS).experts
    loc, scale = LG.posterior(XS)
    torch.testing.assert_close(product.loc[0], loc, atol=1e-9, rtol=0)
    torch.testing.assert_close(product.scale[0], scale.expand_as(loc), atol=1e-9, rtol=0)


def test_make_checks_its_arguments():
    """One noise scale per modality, and enough dimensions per modality for orthonormal columns."""
    with pytest.raises(ValueError, match="one noise scale per modality"):
        LinearGaussian.make(dims=(6, 5), sigma=(0.5,))
    with pytest.raises(ValueError, match="at least latent_dim=3"):
        LinearGaussian.make(dims=(6, 2))


def test_fit_with_the_elbo_recovers_the_exact_posterior():
    """When the family holds the exact posterior, maximising the ELBO over the encoder finds it: from a
    shifted, twice-too-wide start, the fitted VAE's bound ends within 0.02 nats of the exact log p(x_1),
    its scale within 0.01 and its mean within 0.05 on average (Adam's steps leave some noise) of the exact
    posterior's; the decoder is untouched."""
    vae = LG.vae(0, loc_shift=0.5, scale_factor=2.0)
    decoder_before = [p.detach().clone() for p in vae.decoders.parameters()]
    history = fit(vae, [XS[0]], "elbo", 8, 200, 0.05, seed=0)
    assert len(history) == 200 and history[-1] > history[0]
    assert abs(history[-1] - LG.log_marginal(XS, [0]).mean().item()) < 0.02
    q = vae.experts([XS[0]])
    loc, scale = LG.posterior(XS, [0])
    assert (q.loc[0] - loc).abs().mean() < 0.05
    assert (q.scale[0] - scale).abs().max() < 0.01
    for before, after in zip(decoder_before, vae.decoders.parameters()):
        assert torch.equal(before, after)


def test_fit_is_reproducible_from_its_seed():
    """Two fits from the same start and seed give the same history and parameters, bit for bit."""
    runs = []
    for _ in range(2):
        model = LG.mmvae(scale_factor=2.0)
        runs.append((fit(model, XS, "moe_dreg_looser", 4, 10, 0.05, seed=3), model.encoders[0].A.detach()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_fit_train_all_moves_the_decoders():
    """train='all' updates the decoders too."""
    model = LG.mmvae()
    before = model.decoders[0].b.detach().clone()
    fit(model, XS, "moe_elbo", 1, 3, 0.05, seed=0, train="all")
    assert not torch.equal(before, model.decoders[0].b)


@pytest.mark.parametrize("kwargs, message", [
    ({"objective": "nope"}, "objective must be one of"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"train": "decoders"}, "train must be one of"),
])
def test_fit_refuses_bad_arguments(kwargs, message):
    """Unknown objective, non-positive steps and an unknown parameter group each get a plain error."""
    args = {"objective": "moe_elbo", "steps": 1, "train": "encoders"} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(LG.mmvae(), XS, args["objective"], 1, args["steps"], 0.01, 0, train=args["train"])


def test_signal_to_noise_on_known_draws():
    """SNR = |mean| / std per coordinate, averaged: draws (1, 3) → 2/√2; draws (−1, 1) → 0."""
    grads = torch.tensor([[1.0, -1.0], [3.0, 1.0]], dtype=torch.float64)       # (reps=2, 2 coordinates)
    assert signal_to_noise(grads) == pytest.approx((2 / math.sqrt(2) + 0.0) / 2)
    with pytest.raises(ValueError, match="at least 2 repetitions"):
        signal_to_noise(grads[:1])


def test_gradient_samples_shapes_and_seed():
    """One stacked tensor (reps, *shape) per named parameter; the same seed gives the same draws."""
    model, x = LG.vae(0, loc_shift=0.3), [XS[0][:4]]
    enc, dec = gradient_samples(model, x, "iwae", 5, 7, seed=1)
    assert enc.shape == (7, 3) and dec.shape == (7, 6)
    again = gradient_samples(model, x, "iwae", 5, 7, seed=1)[0]
    assert torch.equal(enc, again)
    assert gradient_snr(model, x, "iwae", 5, 7, seed=1) == signal_to_noise(enc)


def test_gradient_samples_refuses_unknown_parameters():
    """A parameter name the model does not have is named in the error."""
    with pytest.raises(ValueError, match="unknown .*encoders.9.a"):
        gradient_samples(LG.vae(0), [XS[0]], "iwae", 2, 2, parameters=["encoders.9.a"])
