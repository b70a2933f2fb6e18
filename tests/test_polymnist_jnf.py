"""mmvae_lib.experiments.polymnist.jnf: the five-modality JNF models, their subset posteriors, the
prior-division comparison and the sampler's acceptance table, on tiny untrained models."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from mmvae_lib.experiments.polymnist import jnf
from mmvae_lib.models.jnf import JNF, OneStratum, SubsetPosterior
from mmvae_lib.profiles import get_profile

SMALL = dataclasses.replace(get_profile("smoke").jnf_polymnist, latent_dim=4, flow_hidden=(8,), dcca_dim=3,
                            hmc_steps=3, hmc_adapt_steps=1, hmc_leapfrog=2)


class Constant(torch.nn.Module):
    """A judge that reads every image as digit ``digit``."""

    def __init__(self, digit: int):
        super().__init__()
        self.digit = digit

    def forward(self, x):
        return torch.nn.functional.one_hot(torch.full((len(x),), self.digit), 10).float()


def _xs(n: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(n, 3, 28, 28, generator=g) for _ in range(5)]


def test_variants_share_the_joint_model_of_a_seed_and_differ_where_they_should():
    jnf_model, dcca = jnf.jnf_model("jnf", SMALL, 0), jnf.jnf_model("jnf_dcca", SMALL, 0)
    assert isinstance(jnf_model, JNF) and jnf_model.n_modalities == 5 and jnf_model.names == ("m0", "m1", "m2", "m3", "m4")
    for part in JNF.JOINT_PARTS:
        for a, b in zip(getattr(jnf_model, part).parameters(), getattr(dcca, part).parameters()):
            assert torch.equal(a, b)
    assert jnf_model.projectors is None and len(dcca.projectors) == 5
    assert dcca.project(_xs())[0].shape == (6, SMALL.dcca_dim)
    other_seed = jnf.jnf_model("jnf", SMALL, 1)
    assert not torch.equal(next(other_seed.joint_encoder.parameters()), next(jnf_model.joint_encoder.parameters()))
    with pytest.raises(ValueError, match="variant must be one of"):
        jnf.jnf_model("jmvae", SMALL, 0)


def test_posteriors_by_subset_size():
    """|S| = 1: a flow posterior; 1 < |S| < 5: the HMC-sampled product with the prior divided |S| − 1 times;
    all five: the joint encoder."""
    model = jnf.jnf_model("jnf", SMALL, 0)
    xs = _xs()
    g = torch.Generator().manual_seed(0)
    assert model.posterior(xs, [2]).rsample(3, g).shape == (1, 3, 6, 4)
    three = model.posterior([x if m in (0, 2, 4) else None for m, x in enumerate(xs)], [0, 2, 4])
    assert isinstance(three, OneStratum) and isinstance(three.posterior, SubsetPosterior)
    assert three.posterior.divisions == 2
    model.divide_prior = "once"
    assert model.posterior(xs, [0, 2, 4]).posterior.divisions == 1
    assert model.posterior(xs).rsample(2, g).shape == (1, 2, 6, 4)


def test_prior_division_table_compares_both_and_restores_the_model():
    model = jnf.jnf_model("jnf", SMALL, 0)
    labels = torch.full((6,), 7)
    table = jnf.prior_division_table(model, _xs(), labels, [Constant(7)] * 5, 0, sizes=(2, 4))
    assert set(table) == {(how, f"|S| = {n}") for how in ("prior divided |S| − 1 times", "prior divided once",
                                                          "prior not divided") for n in (2, 4)}
    assert all(v == [100.0] for v in table.values())            # a judge that always reads 7, on 7s
    assert model.divide_prior == "exact"


def test_acceptance_table_gives_rates_in_percent_per_size():
    models = {("jnf", 0): jnf.jnf_model("jnf", SMALL, 0)}
    table = jnf.acceptance_table(models, _xs(), sizes=(2, 3), batch_size=4)
    assert set(table) == {("JNF", "|S| = 2"), ("JNF", "|S| = 3")}
    assert all(len(v) == 1 and 0.0 <= v[0] <= 100.0 for v in table.values())


def test_chain_table_reports_every_model_size_and_schedule():
    """One row per (model, seed, |S|, schedule); a judge that always reads 7, on 7s, scores 100 %; the
    chains' and q(z | X)'s norms and the acceptance are in range."""
    from mmvae_lib.models.hmc import HMCSettings

    models = {("jnf", 0): jnf.jnf_model("jnf", SMALL, 0)}
    schedules = {"fixed": HMCSettings(steps=2, leapfrog_steps=2, step_size=0.01),
                 "adapted": HMCSettings(steps=4, leapfrog_steps=2, step_size=0.01, adapt_steps=2)}
    rows = jnf.chain_table(models, _xs(), torch.full((6,), 7), [Constant(7)] * 5, schedules, sizes=(2, 4),
                           batch_size=4)
    assert [(r["|S|"], r["HMC"]) for r in rows] == [(2, "fixed"), (2, "adapted"), (4, "fixed"), (4, "adapted")]
    for r in rows:
        assert r["model"] == "JNF" and r["seed"] == 0 and r["coherence (%)"] == 100.0
        assert r["|z|"] > 0 and r["|z| under q(z | X)"] > 0 and 0 <= r["acceptance (%)"] <= 100
        assert torch.isfinite(torch.tensor(r["log target above q(z | X)'s"]))
