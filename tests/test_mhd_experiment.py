"""mmvae_lib.experiments.mhd: the authors' MHD networks (image conv, the Nexus sound CNN, the trajectory MLP),
the models and recipes per profile, the data's sources and subsets, JNF's variants on MHD, the judges, and the
evaluation on tiny trained models."""
from __future__ import annotations

import pytest
import torch

from mmvae_lib.experiments.mhd import classifiers, data, experiment, jnf, networks, results
from mmvae_lib.models import JNF, MMVAE, MVAE, MoPoE
from mmvae_lib.profiles import PROFILES

from test_mhd_data import write_mhd


def test_networks_follow_the_authors_shapes():
    image_enc, image_dec = networks.ImageEncoder(8), networks.ImageDecoder(8)
    convs = [layer for layer in image_enc.body if isinstance(layer, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 256, 512, 1024] and {c.kernel_size for c in convs} == {(4, 4)}
    assert image_enc(torch.rand(3, 1, 28, 28))[0].shape == (3, 8)
    assert image_dec(torch.randn(5, 8)).shape == (5, 1, 28, 28)
    sound_enc, sound_dec = networks.SoundEncoder(8), networks.SoundDecoder(8)
    first = sound_enc.body[0]
    assert first.kernel_size == (1, 128) and first.out_channels == 128 and first.bias is None
    assert [layer.stride for layer in sound_enc.body if isinstance(layer, torch.nn.Conv2d)][1:] == [(2, 1), (2, 1)]
    loc, raw = sound_enc(torch.rand(4, 1, 32, 128))
    assert loc.shape == raw.shape == (4, 8)
    out = sound_dec(torch.randn(4, 8))
    assert out.shape == (4, 1, 32, 128) and 0 <= out.min() and out.max() <= 1
    traj_enc, traj_dec = networks.TrajectoryEncoder(8), networks.TrajectoryDecoder(8)
    assert [layer.out_features for layer in traj_enc.body if isinstance(layer, torch.nn.Linear)] == [512, 512, 512]
    assert traj_enc(torch.rand(4, 200))[0].shape == (4, 8) and traj_dec(torch.randn(4, 8)).shape == (4, 200)
    narrow = networks.ImageEncoder(8, (16, 32, 64, 128))
    assert narrow.loc.in_features == 128


def test_models_have_the_authors_likelihoods_and_rescaling():
    for kind, cls in {"mmvae": MMVAE, "mvae": MVAE, "mopoe": MoPoE}.items():
        model = networks.mhd_model(kind, 8, (8, 8, 8, 8))
        assert type(model) is cls and model.names == ("image", "trajectory", "sound")
        assert model.llik_scaling == pytest.approx((4096 / 2352, 4096 / 200, 1.0))
        assert {(lik.kind, lik.scale) for lik in model.likelihoods} == {("normal", 1.0)}
    state = torch.random.get_rng_state()
    a, b = networks.build_model("mopoe", 3, 8, (8, 8, 8, 8)), networks.build_model("mopoe", 3, 8, (8, 8, 8, 8))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(ValueError, match="kind must be one of"):
        networks.mhd_model("jmvae")


def test_recipes_follow_the_profile():
    (mmvae,) = experiment.recipe("mmvae", "full")
    assert (mmvae.objective, mmvae.k, mmvae.batch_size, mmvae.epochs, mmvae.lr) == ("moe_dreg_looser", 10, 64, 75, 1e-3)
    (mvae,) = experiment.recipe("mvae", "full")
    assert (mvae.objective, mvae.epochs, mvae.options(0)) == ("mvae", 300, {"beta": 0.5, "subsets": 1})
    (mopoe,) = experiment.recipe("mopoe", "full")
    assert (mopoe.objective, mopoe.epochs, mopoe.options(3)) == ("moe_elbo_linear", 300, {"beta": 0.5})
    full = PROFILES["full"]
    assert full.mhd.image_channels == networks.IMAGE_CHANNELS == full.jnf_mhd.image_channels
    assert (full.jnf_mhd.dcca_dim, full.jnf_mhd.temperature, full.jnf_mhd.joint_epochs) == (20, 0.07, 200)
    with pytest.raises(ValueError, match="model must be one of"):
        experiment.recipe("jnf", "cpu")


def test_sources_and_subsets(tmp_path, monkeypatch):
    for split in data.SPLITS:
        write_mhd(tmp_path, split, n=30)
    real = data.load_mhd("train", root=tmp_path)                    # auto: the files are there
    assert real.source["kind"] == "real" and len(real) == 30
    part = real.take(12, seed=1)
    assert len(part) == 12 and part.take(12) is part and real.take(99) is real
    assert part.data.key != real.data.key and torch.equal(part.labels, real.take(12, seed=1).labels)
    with pytest.raises(ValueError, match="source must be one of"):
        data.load_mhd("train", source="web", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="offline stand-in"):
        data.load_mhd("train", source="real", root=tmp_path / "empty")


def test_judges_are_seeded_cached_and_expose_their_features(tmp_path):
    g = torch.Generator().manual_seed(0)
    shapes = {"image": (1, 28, 28), "trajectory": (200,), "sound": (1, 32, 128)}
    labels = torch.arange(10).repeat(4)
    for name, shape in shapes.items():
        x = torch.rand(40, *shape, generator=g)
        a = classifiers.digit_classifier(name, x, labels, "k", epochs=1, cache_dir=tmp_path)
        b = classifiers.digit_classifier(name, x, labels, "k", epochs=1, cache_dir=tmp_path)   # from the cache
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
        assert a(x).shape == (40, 10) and a.features(x).shape[0] == 40
    assert len(list(tmp_path.glob("mhd_clf_*.pt"))) == 3
    with pytest.raises(ValueError, match="modality must be one of"):
        classifiers.digit_classifier("smell", x, labels, "k", epochs=1, cache_dir=None)


@pytest.fixture()
def tiny_profile(tmp_path, monkeypatch):
    """The smoke profile on 40 training and 20 test items of the real format, written to a temporary folder."""
    for split in data.SPLITS:
        write_mhd(tmp_path / "data", split, n=40 if split == "train" else 20)
    monkeypatch.setenv("MMVAE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    smoke = PROFILES["smoke"]
    profile = smoke.with_settings("mhd", source="real", train_items=40, test_items=20, joint_samples=20)
    return profile.with_settings("jnf_mhd", eval_points=20, hmc_steps=2, hmc_adapt_steps=1, hmc_leapfrog=2,
                                 projector_batch_size=40)


def test_every_model_trains_and_is_evaluated(tiny_profile, one_thread):
    from mmvae_lib.training import jnf as recipes

    # in this process: a worker would read the profile by its name, without the tiny sizes
    runs = {(m, 0): experiment._fit(tiny_profile, m, 0) for m in experiment.MODEL_NAMES}
    runs |= {(v, 0): recipes.trained_variant(jnf.__name__, tiny_profile, v, 0) for v in jnf.VARIANTS}
    assert sorted(runs) == sorted([(m, 0) for m in experiment.MODEL_NAMES] + [(v, 0) for v in jnf.VARIANTS])
    assert all(isinstance(runs[(v, 0)][0], JNF) for v in jnf.VARIANTS)
    test = experiment.paper_data(tiny_profile, "test")
    judges = experiment.digit_classifiers(tiny_profile, experiment.paper_data(tiny_profile, "train"))
    xs = list(test.data.modalities)
    coherence = results.coherence_results(tiny_profile, runs, xs, test.labels, judges)
    names = {experiment.DISPLAY_NAMES[m] for m, _ in runs}
    assert set(coherence) == {(n, c) for n in names for c in ("|S| = 1", "|S| = 2", "joint")}
    assert all(len(v) == 1 and 0 <= v[0] <= 100 for v in coherence.values())
    distances = results.frechet_results(tiny_profile, runs, xs, judges)
    assert len(distances) == len(names) * 6 and all(v[0] >= 0 for v in distances.values())
    jobs = experiment.runs(tiny_profile) + jnf.runs(tiny_profile)
    assert {j.key for j in jobs} >= {"mhd/mmvae/s0", "mhd/judges", "jnf_mhd/jnf_contrastive/s0"}
