"""mmvae_lib.likelihoods: log p(x | z) for each kind, means and samples."""
import pytest
import torch

from mmvae_lib.models.likelihoods import Likelihood


def test_continuous_and_bernoulli_match_torch():
    """Laplace, Normal and Bernoulli log-likelihoods equal torch.distributions', summed over the event."""
    g = torch.Generator().manual_seed(0)
    params = torch.rand(5, 4, 1, 3, 3, generator=g) * 0.98 + 0.01          # (K, B, *event)
    x = torch.rand(4, 1, 3, 3, generator=g)
    refs = {"laplace": torch.distributions.Laplace(params, 0.75),
            "normal": torch.distributions.Normal(params, 0.75),
            "bernoulli": torch.distributions.Bernoulli(probs=params, validate_args=False)}  # x in [0, 1]
    for kind, ref in refs.items():
        ours = Likelihood(kind, 0.75).log_prob(params, x)
        assert ours.shape == (5, 4)
        torch.testing.assert_close(ours, ref.log_prob(x.expand_as(params)).flatten(-3).sum(-1))


def test_categorical_matches_torch():
    """Categorical log-likelihood of token sequences (B, L) from logits (K, B, L, V)."""
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 2, 6, 11, generator=g)
    x = torch.randint(0, 11, (2, 6), generator=g)
    ref = torch.distributions.Categorical(logits=logits).log_prob(x.expand(3, 2, 6)).sum(-1)
    torch.testing.assert_close(Likelihood("categorical").log_prob(logits, x), ref)
    assert torch.equal(Likelihood("categorical").mean(logits), logits.argmax(-1))


@pytest.mark.parametrize("kind", ["laplace", "normal"])
def test_samples_have_the_likelihood_moments(kind):
    """Samples from a fixed-scale likelihood have its mean and variance, reproducibly."""
    params = torch.full((100_000,), 0.3)
    lik = Likelihood(kind, 0.5)
    a = lik.sample(params, torch.Generator().manual_seed(0))
    assert torch.equal(a, lik.sample(params, torch.Generator().manual_seed(0)))
    var = 0.25 * (2 if kind == "laplace" else 1)
    assert abs(a.mean().item() - 0.3) < 0.01
    assert abs(a.var().item() - var) / var < 0.03


def test_bad_likelihood_arguments():
    """An unknown kind or a non-positive scale gets a clear error."""
    with pytest.raises(ValueError, match="likelihood kind must be one of"):
        Likelihood("poisson")
    with pytest.raises(ValueError, match="scale must be positive"):
        Likelihood("laplace", 0.0)


def test_fused_laplace_matches_elementwise_formula_and_gradients():
    """The hand-written Laplace log-likelihood (one fused pass) gives the same values and gradients, for
    the decoder output and for the data, as autograd through the elementwise formula."""
    g = torch.Generator().manual_seed(2)
    params = torch.rand(3, 4, 2, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.rand(4, 2, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    ours = Likelihood("laplace", 0.75).log_prob(params, x)
    ref = torch.distributions.Laplace(params, 0.75).log_prob(x).flatten(-3).sum(-1)
    torch.testing.assert_close(ours, ref)
    weights = torch.rand(3, 4, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((ours * weights).sum(), (params, x))
    ref_grads = torch.autograd.grad((ref * weights).sum(), (params, x))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_categorical_ignore_index_leaves_padding_unscored():
    """With ignore_index, the positions holding that category add nothing to log p(x | z) (the padding of
    captions), while every other position, the other special tokens included, is scored as before; the
    gradient reaching the logits at ignored positions is zero."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 2, 6, 11, generator=g, requires_grad=True)
    x = torch.tensor([[4, 0, 2, 1, 1, 1], [5, 6, 7, 8, 2, 1]])            # id 1 pads, 0 and 2 are scored
    per_token = torch.distributions.Categorical(logits=logits).log_prob(x.expand(3, 2, 6))
    ref = (per_token * (x != 1)).sum(-1)
    ours = Likelihood("categorical", ignore_index=1).log_prob(logits, x)
    torch.testing.assert_close(ours, ref)
    (grad,) = torch.autograd.grad(ours.sum(), logits)
    assert torch.all(grad[:, 0, 3:] == 0) and torch.all(grad[:, 1, 5] == 0) and grad[:, 0, :3].abs().sum() > 0
    unmasked = Likelihood("categorical").log_prob(logits, x)
    assert torch.all(unmasked < ours)                                    # padding costs nats when scored


def test_ignore_index_only_for_categorical():
    """ignore_index is refused on a continuous likelihood and must be a category id."""
    with pytest.raises(ValueError, match="ignore_index"):
        Likelihood("laplace", 0.1, ignore_index=0)
    with pytest.raises(ValueError, match="ignore_index"):
        Likelihood("categorical", ignore_index=-1)
