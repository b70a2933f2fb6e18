"""mmvae_lib.speed: the fast paths (chunked decoding, channels_last convolutions, allocator thresholds)
keep the numbers of the plain eager path."""
import pytest
import torch

from mmvae_lib import speed
from mmvae_lib.experiments.mnist_svhn.networks import MNIST_SHAPE, SVHN_SHAPE, mnist_svhn_model
from mmvae_lib.objectives import OBJECTIVES, bounds

# measured on the development machine (AMD EPYC, AVX-512), 32 pairs, K = 30: the bound and the 1000-sample
# likelihood came out identical, the DReG gradient differed by 3.1e-5 of its norm; the tolerances below are
# about 30 times that, and far below what a wrong gradient would give
GRADIENT_RELATIVE_TOLERANCE = 1e-3
VALUE_TOLERANCE = 1e-3   # nats


def _step(mode: str, monkeypatch):
    monkeypatch.setenv("MMVAE_FAST", mode)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mnist_svhn_model("mmvae", 20)          # channels_last or not is chosen here
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(32, *MNIST_SHAPE, generator=g), torch.rand(32, *SVHN_SHAPE, generator=g)]
    estimate = OBJECTIVES["moe_dreg_looser"](model, xs, 30, torch.Generator().manual_seed(1))
    (-estimate.surrogate.mean()).backward()
    gradient = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    with torch.no_grad():
        llik = bounds.log_likelihood(model, [x[:8] for x in xs], 300, torch.Generator().manual_seed(2))
    return estimate.bound, gradient, llik


@pytest.mark.slow
def test_fast_paths_keep_the_numbers_of_the_plain_path(monkeypatch, one_thread):
    """DReG on eq. (3) at K = 30 and a 300-sample likelihood: the fast paths (on by default) against
    MMVAE_FAST=0, within the measured tolerances."""
    plain = _step("0", monkeypatch)
    assert speed.decode_chunk() is None
    fast = _step("1", monkeypatch)
    assert speed.decode_chunk() is not None
    assert torch.allclose(fast[0], plain[0], atol=VALUE_TOLERANCE, rtol=0)
    assert ((fast[1] - plain[1]).norm() / plain[1].norm()) < GRADIENT_RELATIVE_TOLERANCE
    assert torch.allclose(fast[2], plain[2], atol=VALUE_TOLERANCE, rtol=0)


def test_decode_chunk_follows_the_cache_and_the_switch(monkeypatch):
    """Four L2 caches' worth of the SVHN decoder's largest activation, clamped to [128, 1024]; None when off."""
    monkeypatch.setenv("MMVAE_FAST", "1")
    chunk = speed.decode_chunk()
    assert 128 <= chunk <= 1024
    assert chunk == min(1024, max(128, 4 * speed.l2_cache_bytes() // (32 * 16 * 16 * 4)))
    monkeypatch.setenv("MMVAE_FAST", "0")
    assert speed.decode_chunk() is None and not speed.tune_allocator()


def test_chunked_likelihoods_equal_one_call_on_the_mlp(monkeypatch):
    """log_likelihoods decoded in chunks equals one call exactly where the decoder is a matrix product per
    row (the MNIST MLP), for latents (S, K, B, D)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mnist_svhn_model("vae", 8, "mnist")
    x = torch.rand(16, *MNIST_SHAPE, generator=torch.Generator().manual_seed(1))
    z = torch.randn(1, 40, 16, 8, generator=torch.Generator().manual_seed(2))
    monkeypatch.setenv("MMVAE_FAST", "0")
    whole = model.log_likelihoods(z, [x], [0])
    monkeypatch.setenv("MMVAE_FAST", "1")
    chunked = model.log_likelihoods(z, [x], [0])
    assert chunked.shape == whole.shape == (1, 40, 16)
    assert torch.allclose(chunked, whole, atol=1e-4, rtol=1e-6)
