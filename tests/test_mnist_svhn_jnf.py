"""mmvae_lib.experiments.mnist_svhn.jnf: the JNF variants on the paper's networks, their stages, and the tables
of notebook 12 on random MNIST-SVHN-shaped pairs."""
import dataclasses

import pytest
import torch

from mmvae_lib.experiments.mnist_svhn import jnf
from mmvae_lib.models import JNF
from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.profiles import get_profile


def settings():
    return dataclasses.replace(get_profile("smoke").jnf_mnist_svhn, flow_hidden=(8,))


def random_pairs(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % 10


@pytest.mark.parametrize("variant", jnf.VARIANTS)
def test_variants_share_the_joint_model_of_their_seed_and_run_their_objectives(variant, one_thread):
    """Every variant of one seed starts from the same joint encoder and decoders (the recipe shares one
    trained joint model between them); its projectors (JNF-Shared) have the profile's embedding size; each
    stage objective runs on a batch."""
    s = settings()
    model = jnf.jnf_model(variant, s, seed=0)
    reference = jnf.jnf_model("jnf", s, seed=0)
    for part in JNF.JOINT_PARTS:
        assert all(torch.equal(a, b) for a, b in zip(getattr(model, part).state_dict().values(),
                                                     getattr(reference, part).state_dict().values()))
    mnist, svhn, _ = random_pairs()
    xs = [mnist, svhn]
    g = torch.Generator().manual_seed(0)
    names = ["jnf_joint_elbo", "jnf_unimodal"]
    if variant != "jnf":
        e = s.dcca_dim if variant == "jnf_dcca" else s.contrastive_dim
        assert [h.shape for h in model.project(xs)] == [(6, e), (6, e)]
        names.append("dcca" if variant == "jnf_dcca" else "contrastive")
    for name in names:
        estimate = OBJECTIVES[name](model, xs, 1, g)
        assert estimate.bound.shape == (6,) and torch.isfinite(estimate.surrogate).all()


def test_notebook_tables_have_a_row_per_model_and_column(one_thread):
    """coherence_table, gap_table and reconstruction_table: every (model, column) with one value per seed,
    coherences in [0, 100]."""
    s = settings()
    models = {(v, 0): jnf.jnf_model(v, s, seed=0).eval() for v in ("jnf", "jnf_contrastive")}
    judges = [torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10)) for _ in range(2)]
    pairs = random_pairs()
    judges[0](pairs[0]), judges[1](pairs[1])
    table = jnf.coherence_table(models, pairs, judges, n_prior=8)
    assert set(table) == {(label, c) for label in ("JNF", "JNF-CL") for c in ("Cross M→S", "Cross S→M", "Joint")}
    assert all(len(v) == 1 and 0 <= v[0] <= 100 for v in table.values())
    assert set(jnf.gap_table(models, pairs, k=2)) == {(label, f"KL gap {m}") for label in ("JNF", "JNF-CL")
                                                      for m in ("MNIST", "SVHN")}
    recon = jnf.reconstruction_table(models, pairs, judges)
    assert all(v[0] >= 0 for v in recon.values()) and len(recon) == 4
