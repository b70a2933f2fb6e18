"""The ``full`` profile's JNF models (notebooks 11-13 and 15) at their full sizes, on the CPU.

No GPU and no real data reach this project's machines, so the full profile's runs cannot be made here; what
can be checked is that its settings fit together before a user spends GPU hours on them. For each experiment,
every variant of the notebook is built with the full profile's architecture (latent size, flows, projector
embeddings, sampler), trained one epoch of each of its stages on a few items shaped like the experiment's
data (the full batch sizes, so one batch), and then asked for its posteriors; on PolyMNIST the subset
posteriors run the full HMC schedule (100 steps of 10 leapfrog steps, the first 50 adapting).
"""
from __future__ import annotations

import dataclasses

import pytest
import torch

from mmvae_lib.datasets import TensorDataset
from mmvae_lib.experiments.mhd import jnf as mhd_jnf
from mmvae_lib.experiments.mnist_svhn import jnf as mnist_svhn_jnf
from mmvae_lib.experiments.polymnist import jnf as polymnist_jnf
from mmvae_lib.experiments.toy_shapes import experiment as toy
from mmvae_lib.experiments.toy_shapes.data import shapes
from mmvae_lib.models import JNF
from mmvae_lib.profiles import get_profile
from mmvae_lib.training import jnf as recipes

N = 24          # items: one batch at every full batch size


def _random_images(shapes_, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(N, *shape, generator=g) for shape in shapes_]


def _data(name):
    if name == "toy":
        return shapes(N, seed=0)[0]
    if name == "mnist_svhn":
        return TensorDataset(_random_images([(1, 28, 28), (3, 32, 32)]), key="random mnist-svhn shapes")
    if name == "mhd":
        return TensorDataset(_random_images([(1, 28, 28), (200,), (1, 32, 128)]), key="random mhd shapes")
    return TensorDataset(_random_images([(3, 28, 28)] * 5), key="random polymnist shapes")


EXPERIMENTS = {   # name → (the experiment's module, its section of the full profile)
    "toy": (toy, get_profile("full").jnf_toy),
    "mnist_svhn": (mnist_svhn_jnf, get_profile("full").jnf_mnist_svhn),
    "polymnist": (polymnist_jnf, get_profile("full").jnf_polymnist),
    "mhd": (mhd_jnf, get_profile("full").jnf_mhd),
}


def one_epoch(s):
    """``s`` with one epoch per stage; every size that shapes a model or the sampler is the full profile's."""
    return dataclasses.replace(s, joint_epochs=1, unimodal_epochs=1, dcca_epochs=1, contrastive_epochs=1)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_full_profile_variants_train_every_stage_at_full_size(name, tmp_path, one_thread):
    """Every variant's stages run at the full sizes (the history names each, with a finite bound); the
    trained variant keeps the joint model of its β; its posteriors have the full latent size."""
    module, full = EXPERIMENTS[name]
    s, data = one_epoch(full), _data(name)
    build = lambda variant: module.jnf_model(variant, s, 0)                          # noqa: E731
    batch = next(iter(data.batches(4, shuffle=False)))
    g = torch.Generator().manual_seed(0)
    for variant in module.VARIANTS:
        model, history = recipes.train_variant(build, variant, s, data, tmp_path, seed=0)
        _, projector = recipes.check_variant(variant)
        assert [h["stage"] for h in history] == ["joint"] + ([projector] if projector else []) + ["unimodal"]
        assert all(torch.isfinite(torch.tensor(h["bound"])) for h in history), history
        joint, _, _ = recipes.train_joint(build, recipes.beta_of(variant, s), s, data, tmp_path, seed=0)  # loaded
        for part in JNF.JOINT_PARTS:
            assert all(torch.equal(a, b) for a, b in zip(getattr(model, part).state_dict().values(),
                                                         getattr(joint, part).state_dict().values())), (variant, part)
        if projector:
            embedding = s.dcca_dim if projector == "dcca" else s.contrastive_dim
            assert all(h.shape == (4, embedding) for h in model.project(batch))
        with torch.no_grad():
            for m in range(model.n_modalities):
                z = model.posterior(batch, [m]).rsample(2, g)
                assert z.shape == (1, 2, 4, full.latent_dim) and torch.isfinite(z).all()
            assert model.posterior(batch).rsample(2, g).shape == (1, 2, 4, full.latent_dim)


def test_full_profile_polymnist_subset_posteriors_run_the_full_sampler(tmp_path, one_thread):
    """PolyMNIST's subset posteriors (1 < |S| < 5) with the full HMC schedule on the full-size flows: the
    samples have the full latent size and are finite, and every chain reports its acceptance rate."""
    s = one_epoch(get_profile("full").jnf_polymnist)
    assert (s.hmc.steps, s.hmc.leapfrog_steps, s.hmc.adapt_steps) == (100, 10, 50)
    data = _data("polymnist")
    build = lambda variant: polymnist_jnf.jnf_model(variant, s, 0)                   # noqa: E731
    model, _ = recipes.train_variant(build, "jnf", s, data, tmp_path, seed=0)
    xs = next(iter(data.batches(2, shuffle=False)))
    g = torch.Generator().manual_seed(0)
    for subset in ([0, 1], [0, 2, 4], [1, 2, 3, 4]):
        observed = [x if m in subset else None for m, x in enumerate(xs)]
        result = model.posterior(observed, subset).posterior.sample(1, g)
        assert result.z.shape == (1, 2, s.latent_dim) and torch.isfinite(result.z).all()
        assert ((result.acceptance >= 0) & (result.acceptance <= 1)).all()
