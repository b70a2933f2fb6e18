"""mmvae_lib.models and mmvae_lib.networks: subsets, cross-generation, batching, bad input."""
import math

import pytest
import torch
from torch import nn

from mmvae_lib.theory.linear_gaussian import LinearGaussian
from mmvae_lib.objectives import bounds
from mmvae_lib.models.likelihoods import Likelihood
from mmvae_lib.models import MMVAE, MVAE
from mmvae_lib.experiments.mnist_svhn.networks import MNIST_SHAPE, SVHN_SHAPE, mnist_svhn_model

LG3 = LinearGaussian.make(dims=(4, 5, 6), latent_dim=3, sigma=(0.5, 0.7, 0.9))   # M = 3 modalities
XS3 = LG3.sample(8)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _count_calls(modules):
    counts = [0] * len(modules)
    handles = [m.register_forward_hook(lambda *_, i=i: counts.__setitem__(i, counts[i] + 1))
               for i, m in enumerate(modules)]
    return counts, handles


def test_m_squared_decodings_take_m_calls():
    """Stratified MoE log weights decode every expert's samples with every decoder (M² decodings) in
    exactly one call per decoder (M calls), here for M = 3."""
    model = LG3.mmvae()
    counts, handles = _count_calls(list(model.decoders))
    out = bounds.log_weights(model, XS3, 5, _gen())
    assert counts == [1, 1, 1] and out.log_w.shape == (3, 5, 8)
    counts[:] = [0, 0, 0]
    model.cross_generate(XS3, _gen())
    assert counts == [1, 1, 1]
    for h in handles:
        h.remove()


@pytest.mark.parametrize("kind", ["mmvae", "mvae"])
def test_any_subset_of_modalities_encodes(kind):
    """Each model encodes any non-empty subset (missing modalities as None): MoE over the subset's
    experts, PoE of the subset's experts with the prior."""
    model = getattr(LG3, kind)()
    for subset in ([0], [2], [0, 1], [1, 2], [0, 1, 2]):
        xs = [x if m in subset else None for m, x in enumerate(XS3)]
        q = model.posterior(xs)
        assert q.n_experts == (len(subset) if kind == "mmvae" else 1)
        assert q.log_prob(q.rsample(2, _gen())).shape == (q.n_experts, 2, 8)


def test_mvae_subset_posterior_is_exact_for_every_subset():
    """With exact experts, the MVAE's PoE given any subset S is the exact posterior p(z | x_S)."""
    model = LG3.mvae()
    for subset in ([0], [1, 2], [0, 1, 2]):
        q = model.posterior(XS3, subset).experts
        loc, scale = LG3.posterior(XS3, subset)
        torch.testing.assert_close(q.loc[0], loc)
        torch.testing.assert_close(q.scale[0], scale.expand_as(loc))


def test_cross_generation_grid_and_generation_shapes():
    """cross_generate gives an M×M grid (row: source, column: target modality); generate decodes prior
    samples in every modality; the same generator seed gives the same output."""
    model = mnist_svhn_model("mmvae")
    xs = [torch.rand(3, *MNIST_SHAPE), torch.rand(3, *SVHN_SHAPE)]
    grid = model.cross_generate(xs, _gen(1))
    assert [[t.shape for t in row] for row in grid] == [[(3, *MNIST_SHAPE), (3, *SVHN_SHAPE)]] * 2
    assert torch.equal(grid[1][0], model.cross_generate(xs, _gen(1))[1][0])
    assert [t.shape for t in model.reconstruct(xs, _gen())] == [(3, *MNIST_SHAPE), (3, *SVHN_SHAPE)]
    assert [t.shape for t in model.generate(5, _gen())] == [(5, *MNIST_SHAPE), (5, *SVHN_SHAPE)]


def test_paper_models_and_scaling():
    """The paper's models: MMVAE with Laplace posteriors, a learnable prior and MNIST likelihood scaled
    by 3072/784; MVAE Gaussian with a fixed prior; single VAEs for each modality."""
    mmvae = mnist_svhn_model("mmvae")
    assert mmvae.posterior_family == "laplace" and mmvae.prior.param.requires_grad
    assert mmvae.llik_scaling == pytest.approx((3072 / 784, 1.0))
    mvae = mnist_svhn_model("mvae")
    assert isinstance(mvae, MVAE) and not mvae.prior.param.requires_grad
    for modality, shape in (("mnist", MNIST_SHAPE), ("svhn", SVHN_SHAPE)):
        vae = mnist_svhn_model("vae", modality=modality)
        assert vae.n_modalities == 1 and vae.names == (modality,)
        assert bounds.log_weights(vae, [torch.rand(2, *shape)], 3, _gen()).log_w.shape == (1, 3, 2)
    with pytest.raises(ValueError, match="modality in"):
        mnist_svhn_model("vae")
    with pytest.raises(ValueError, match="kind must be one of"):
        mnist_svhn_model("jmvae")


def test_networks_shapes_and_ranges():
    """The paper's encoders give (B, D) loc and raw scale; decoders give means in (0, 1) of the image shape."""
    model = mnist_svhn_model("mmvae", latent_dim=7)
    for m, shape in enumerate((MNIST_SHAPE, SVHN_SHAPE)):
        loc, raw = model.encoders[m](torch.rand(4, *shape))
        assert loc.shape == raw.shape == (4, 7)
        out = model.decoders[m](torch.randn(6, 7))
        assert out.shape == (6, *shape) and out.min() > 0 and out.max() < 1


# --- bad input ---------------------------------------------------------------------------------------

def test_batch_sizes_must_agree():
    """Modalities with different batch sizes get one error naming the sizes."""
    xs = [XS3[0], XS3[1][:5], XS3[2]]
    with pytest.raises(ValueError, match="same batch size"):
        bounds.log_weights(LG3.mmvae(), xs, 2)


def test_number_of_modalities_must_match():
    """Too few or too many modalities, or a bare tensor, get one error naming expected and got."""
    model = LG3.mmvae()
    with pytest.raises(ValueError, match="expected 3, got 2 entries"):
        model.posterior(XS3[:2])
    with pytest.raises(ValueError, match="expected 3, got a single tensor"):
        model.posterior(XS3[0])
    with pytest.raises(ValueError, match="at least one modality"):
        model.posterior([None, None, None])


def test_nan_input_is_refused():
    """A NaN (or an infinity) in any modality's input is reported with the modality's name."""
    xs = [x.clone() for x in XS3]
    xs[1][0, 0] = math.nan
    with pytest.raises(ValueError, match="modality 'x1' contains NaN"):
        bounds.log_weights(LG3.mmvae(), xs, 2)
    xs[1][0, 0] = math.inf
    with pytest.raises(ValueError, match="modality 'x1' contains an infinite value"):
        bounds.log_weights(LG3.mmvae(), xs, 2)


def test_subset_must_be_present():
    """A subset naming a missing modality is an error."""
    with pytest.raises(ValueError, match="subset must be a non-empty list"):
        LG3.mmvae().posterior([XS3[0], None, XS3[2]], subset=[1])


def test_model_construction_errors():
    """Mismatched encoder/decoder/likelihood counts, a Laplace MVAE and an unknown scale are refused."""
    enc, dec, lik = nn.Linear(2, 2), nn.Linear(2, 2), Likelihood("normal", 1.0)
    with pytest.raises(ValueError, match="one entry per modality"):
        MMVAE([enc, enc], [dec], [lik, lik], latent_dim=2)
    with pytest.raises(ValueError, match="Normal experts"):
        MVAE([enc], [dec], [lik], latent_dim=2, posterior="laplace")
    with pytest.raises(ValueError, match="scale must be one of"):
        MMVAE([enc], [dec], [lik], latent_dim=2, scale="exp")


def test_mopoe_posterior_is_the_mixture_of_every_subsets_product():
    """MoPoE with 3 modalities: 7 strata, one per non-empty subset A (smaller first), each exactly the
    product of A's experts (no prior expert); one modality alone gives its own expert."""
    from mmvae_lib.models import Factorised, poe
    from mmvae_lib.models.multimodal import nonempty_subsets

    lg = LinearGaussian.make(dims=(6, 5, 4), sigma=(0.6, 0.9, 0.7), seed=1)
    xs = lg.sample(8, seed=2)
    model = lg.mopoe()
    experts = model.experts(xs)                                           # (3, B, D)
    strata = model.posterior(xs).experts                                  # (7, B, D)
    members = nonempty_subsets(3)
    assert members.tolist()[:4] == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]] and strata.loc.shape[0] == 7
    for a, row in enumerate(members):
        chosen = row.bool()
        product = poe(Factorised("normal", experts.loc[chosen], experts.scale[chosen]))
        assert torch.allclose(strata.loc[a], product.loc, atol=1e-10)
        assert torch.allclose(strata.scale[a], product.scale, atol=1e-10)
    alone = model.posterior(xs, [1]).experts
    assert alone.loc.shape[0] == 1 and torch.allclose(alone.loc[0], experts.loc[1])


def test_mopoe_bound_is_below_the_exact_log_likelihood():
    """The MoE-ELBO and the tight MoE-IWAE with the MoPoE posterior stay below the exact log p(x_1:3)."""
    lg = LinearGaussian.make(dims=(6, 5, 4), sigma=(0.6, 0.9, 0.7), seed=1)
    xs = lg.sample(64, seed=3)
    model = lg.mopoe()
    log_p = lg.log_marginal(xs).mean()
    g = torch.Generator().manual_seed(0)
    lw = bounds.log_weights(model, xs, 200, g).log_w                      # (7, 200, B)
    assert bounds.moe_elbo(lw).mean() < bounds.moe_iwae_tight(lw).mean() <= log_p + 0.05


# --- inputs of a model built without modalities= ----------------------------------------------------------

def _undeclared(likelihoods, encoder=None, decoder_shape=(1, 28, 28)):
    """An MMVAE of one image-like modality and one 5-letter word, built without ``modalities=``."""
    size = math.prod(decoder_shape)
    image_encoder = encoder or nn.Sequential(nn.Flatten(), nn.Linear(size, 8))
    word_encoder = nn.Sequential(nn.Embedding(7, 4), nn.Flatten(), nn.Linear(20, 8))

    class Heads(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return self.body(x).chunk(2, -1)

    decoders = [nn.Sequential(nn.Linear(4, size), nn.Sigmoid(), nn.Unflatten(1, decoder_shape)),
                nn.Sequential(nn.Linear(4, 35), nn.Unflatten(1, (5, 7)))]
    return MMVAE([Heads(image_encoder), Heads(word_encoder)], decoders, likelihoods, latent_dim=4)


def _score(model, xs):
    from mmvae_lib.objectives import OBJECTIVES

    return OBJECTIVES["moe_elbo"](model, xs, 1, _gen())


IMAGES = torch.rand(6, 1, 28, 28)
WORDS = torch.randint(0, 7, (6, 5))
BERNOULLI_WORDS = [Likelihood("bernoulli"), Likelihood("categorical")]


def test_bernoulli_targets_outside_the_unit_interval_name_the_modality():
    """Images in [0, 255] under a Bernoulli likelihood: an error naming the modality, not a positive bound."""
    with pytest.raises(ValueError, match=r"modality 'x0' expects .*\[0, 1\].*divide by 255"):
        _score(_undeclared(BERNOULLI_WORDS), [IMAGES * 255, WORDS])
    assert _score(_undeclared(BERNOULLI_WORDS), [IMAGES, WORDS]).bound.max() < 0


@pytest.mark.parametrize("words,expected", [
    (WORDS.float(), r"modality 'x1' expects integer ids .*got torch.float32"),
    (WORDS - 1, r"modality 'x1' expects integer ids >= 0.*got ids in \[-1"),
])
def test_categorical_targets_must_be_integer_ids(words, expected):
    with pytest.raises(ValueError, match=expected):
        _score(_undeclared(BERNOULLI_WORDS), [IMAGES, words])


def test_categorical_ids_beyond_the_decoders_categories_name_the_modality():
    """Ids the decoder has no category for: an error naming the modality and the decoder's range (the
    encoder's embedding is larger here, so only the likelihood can tell)."""
    model = _undeclared(BERNOULLI_WORDS)
    model.encoders[1].body[0] = nn.Embedding(20, 4)
    with pytest.raises(ValueError, match=r"modality 'x1': categorical targets must be ids in \[0, 6\].*\[0, 9\]"):
        _score(model, [IMAGES, torch.arange(30).reshape(6, 5) % 10])


def test_an_input_the_first_network_rejects_names_the_modality_shape_and_dtype():
    """A shape or dtype the encoder's first layer cannot take: one error naming the modality and what came."""
    conv = nn.Sequential(nn.Conv2d(1, 2, 4, 2), nn.Flatten(), nn.Linear(2 * 13 * 13, 8))
    with pytest.raises(ValueError, match=r"modality 'x0': its encoder rejected inputs of shape \(6, 784\) and "
                                         r"dtype torch.float32 .*modalities=\[Modality"):
        _score(_undeclared(BERNOULLI_WORDS, encoder=conv), [IMAGES.flatten(1), WORDS])
    with pytest.raises(ValueError, match=r"modality 'x0': its encoder rejected inputs .*dtype torch.float64"):
        _score(_undeclared(BERNOULLI_WORDS), [IMAGES.double(), WORDS])


def test_a_decoder_output_that_does_not_fit_the_targets_is_refused_not_broadcast():
    """Targets (B, 784) against a decoder giving (M, B, 1, 28, 28) would broadcast into nonsense or fail in
    torch's words; the likelihood names both shapes and the model the modality."""
    model = _undeclared([Likelihood("laplace"), Likelihood("categorical")], decoder_shape=(784,))
    model.decoders[0][2] = nn.Unflatten(1, (1, 28, 28))
    with pytest.raises(ValueError, match=r"modality 'x0': the decoder's parameters .*\(2, 6, 1, 28, 28\) do not fit "
                                         r"targets of shape \(6, 784\)"):
        _score(model, [IMAGES.flatten(1), WORDS])
