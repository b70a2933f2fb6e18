"""mmvae_lib.models.projectors: the DCCA and InfoNCE losses at their known values."""
import itertools
import math

import pytest
import torch

from mmvae_lib.models.projectors import Projector, cca_correlation, contrastive_loss, dcca_loss, info_nce

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: one thread is far faster here


def views(seed=0, b=2000, e=5):
    g = torch.Generator().manual_seed(seed)
    h1 = torch.randn(b, e, generator=g)
    q, _ = torch.linalg.qr(torch.randn(e, e, generator=g))
    a = q @ torch.diag(torch.linspace(1, 3, e))                            # invertible, well conditioned
    return h1, h1 @ a + torch.randn(e, generator=g), g


def test_dcca_loss_is_minus_the_number_of_components_for_perfectly_correlated_views():
    """h2 = A h1 + c (A invertible, its singular values in [1, 3], far above the ridge 1e-3): every
    canonical correlation is 1, the loss is −E (within 1e-3 per component); with three such views, −E per
    pair."""
    h1, h2, _ = views()
    e = h1.shape[1]
    assert abs(dcca_loss([h1, h2]).item() + e) < 1e-3 * e
    h3 = 3 * h1 - 1
    assert abs(dcca_loss([h1, h2, h3]).item() + 3 * e) < 3e-3 * e


def test_dcca_correlation_of_independent_views_is_near_zero_and_of_one_shared_direction_near_one():
    """Independent views: total correlation ≈ 0 (sampling noise only, B ≫ E); views sharing exactly one
    direction and otherwise independent: ≈ 1."""
    h1, _, g = views()
    b, e = h1.shape
    other = torch.randn(b, e, generator=g)
    assert cca_correlation(h1, other).item() < 0.25
    shared = other.clone()
    shared[:, 0] = h1[:, 2]
    assert abs(cca_correlation(h1, shared).item() - 1) < 0.25


def test_dcca_loss_has_finite_gradients():
    h1, h2, g = views(b=300)
    h1 = (h1 + 0.1 * torch.randn(h1.shape, generator=g)).requires_grad_(True)
    dcca_loss([h1, h2]).backward()
    assert torch.isfinite(h1.grad).all() and h1.grad.abs().sum() > 0


def test_info_nce_ranks_matching_pairs_first():
    """For views that match up to noise, every embedding's most similar other embedding is its partner,
    and the loss is far below chance, log(2B − 1); shuffling one view brings it back to about chance."""
    g = torch.Generator().manual_seed(0)
    b = 64
    a = torch.randn(b, 8, generator=g)
    matched = a + 0.05 * torch.randn(b, 8, generator=g)
    u = torch.nn.functional.normalize(torch.cat([a, matched]), dim=-1)
    sim = u @ u.T - 10 * torch.eye(2 * b)
    assert torch.equal(sim.argmax(1), torch.cat([torch.arange(b, 2 * b), torch.arange(b)]))
    chance = math.log(2 * b - 1)
    assert info_nce(a, matched).mean() < 0.25 * chance
    shuffled = matched[torch.randperm(b, generator=g)]
    assert info_nce(a, shuffled).mean() > 0.9 * chance


def test_info_nce_of_two_views_of_one_point_is_exact():
    """B = 1: each of the two rows has only its partner as candidate, so the loss is exactly 0."""
    assert torch.allclose(info_nce(torch.randn(1, 3), torch.randn(1, 3)), torch.zeros(2), atol=1e-6)


def test_contrastive_loss_sums_over_pairs():
    g = torch.Generator().manual_seed(1)
    hs = [torch.randn(16, 4, generator=g) for _ in range(3)]
    expected = sum(info_nce(hs[i], hs[j], 0.2).mean() for i, j in itertools.combinations(range(3), 2))
    assert torch.allclose(contrastive_loss(hs, 0.2), expected)


def test_projector_reads_the_first_output_of_an_encoder_and_bad_inputs_are_refused():
    class Encoder(torch.nn.Module):
        def forward(self, x):
            return x + 1, x - 1
    assert torch.equal(Projector(Encoder())(torch.zeros(2, 3)), torch.ones(2, 3))
    with pytest.raises(ValueError, match="at least two views"):
        dcca_loss([torch.randn(4, 2)])
    with pytest.raises(ValueError, match="two \\(B, E\\) views"):
        info_nce(torch.randn(4, 2), torch.randn(4, 3))
