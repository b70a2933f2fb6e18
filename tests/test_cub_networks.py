"""mmvae_lib.experiments.cub.networks: the sentence and feature networks, the tied output layer, the CUB models
and their likelihoods."""
import pytest
import torch

from mmvae_lib.experiments.cub.networks import (FeatureDecoder, FeatureEncoder, SentenceDecoder, SentenceEncoder,
                                                cub_model)
from mmvae_lib.experiments.cub.text import EOS, PAD
from mmvae_lib.objectives import OBJECTIVES

V, D = 37, 8


def _batch(b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(3, V, (b, 32), generator=g)
    tokens[:, 10] = EOS
    tokens[:, 11:] = PAD
    return [torch.rand(b, 2048, generator=g), tokens]


def test_shapes_and_tied_output_layer(one_thread):
    """Encoders map captions (B, 32) and features (B, 2048) to (loc, raw scale) (B, D); decoders map (N, D) to
    logits (N, 32, V) and feature means (N, 2048); the caption decoder's output weights are the encoder's
    embedding itself."""
    encoder = SentenceEncoder(V, D)
    decoder = SentenceDecoder(encoder.embedding, D)
    loc, raw = encoder(_batch()[1])
    assert loc.shape == raw.shape == (3, D)
    z = torch.randn(5, D)
    logits = decoder(z)
    assert logits.shape == (5, 32, V)
    assert decoder.embedding.weight is encoder.embedding.weight
    (grad,) = torch.autograd.grad(logits.sum(), encoder.embedding.weight)
    assert grad.abs().sum() > 0
    assert FeatureEncoder(D)(torch.rand(4, 2048))[0].shape == (4, D)
    assert FeatureDecoder(D)(z).shape == (5, 2048)


def test_a_sample_is_decoded_alone():
    """Per-sample normalisation: a latent's decoding does not depend on the other latents in the call (so the
    chunked decoding of stratified samples gives the same log weights)."""
    decoder = SentenceDecoder(torch.nn.Embedding(V, 128), D).train()
    z = torch.randn(6, D, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(decoder(z)[:2], decoder(z[:2]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind, objective", [("mmvae", "moe_elbo"), ("mmvae", "moe_dreg_looser"), ("mvae", "mvae")])
def test_models_train_on_both_modalities(kind, objective, one_thread):
    """Both CUB models give a finite bound and gradients for every parameter under their objectives."""
    model = cub_model(kind, V, D)
    estimate = OBJECTIVES[objective](model, _batch(), 2, torch.Generator().manual_seed(0))
    assert estimate.bound.shape == (3,) and torch.isfinite(estimate.bound).all()
    (-estimate.surrogate.mean()).backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if n != "prior.param" or kind == "mmvae")


def test_padding_is_not_scored_by_the_model():
    """The caption likelihood of the model ignores the padding: changing what the decoder predicts after
    the end token does not change log p(caption | z), and the cross-generated caption is the argmax."""
    model = cub_model("mmvae", V, D).eval()
    xs = _batch()
    z = torch.randn(4, 3, D, generator=torch.Generator().manual_seed(2))
    params = model.decode(z, 1)
    log_p = model.likelihoods[1].log_prob(params, xs[1])
    shifted = params.clone()
    shifted[..., 11:, :] += torch.randn(shifted[..., 11:, :].shape)
    torch.testing.assert_close(model.likelihoods[1].log_prob(shifted, xs[1]), log_p)
    grid = model.cross_generate(xs, torch.Generator().manual_seed(0))
    assert grid[0][1].shape == (3, 32) and grid[0][1].dtype == torch.long and grid[1][0].shape == (3, 2048)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be 'mmvae' or 'mvae'"):
        cub_model("mopoe", V, D)


def _live_fraction(model, n=256, seed=0) -> float:
    """The fraction of the caption decoder's final-ReLU outputs that are non-zero for prior latents: at 0 the
    decoder outputs its bias alone, the same caption whatever z."""
    decoder = model.decoders[1]
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return (decoder.body(z[:, :, None, None]) > 0).float().mean().item()


def test_caption_decoder_stays_alive_in_training(one_thread):
    """The CUB MMVAE trained 60 steps on the smoke stand-in keeps its caption decoder alive, and different
    latents give different captions. With ``nn.Embedding``'s unit initialisation of the tied embedding, the
    first logits are near ±7 and the decoder switches its final ReLU off for every input within these steps
    (the module docstring of ``cub.networks`` gives the measurement)."""
    from mmvae_lib.experiments.cub import experiment

    data = experiment.paper_data("smoke")
    pairs = experiment.training_pairs("smoke", data)
    model = experiment.build_model("mmvae", 0, len(data.vocabulary), 16)
    z = torch.randn(64, 16, generator=torch.Generator().manual_seed(1))
    assert model.decoders[1](z).std() < 2.0               # the logits start O(1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    g, step = torch.Generator().manual_seed(0), 0
    while step < 60:
        for xs in pairs.batches(64, generator=g):
            optimiser.zero_grad(set_to_none=True)
            (-OBJECTIVES["moe_elbo"](model, xs, 1, g).surrogate.mean()).backward()
            optimiser.step()
            step += 1
            if step == 60:
                break
    assert _live_fraction(model) > 0.1
    with torch.no_grad():
        captions = model.likelihoods[1].mean(model.decode(z, 1))
    assert len(torch.unique(captions, dim=0)) > 10
