"""mmvae_lib.experiments.polymnist: the paper-standard networks, the judges (seeded, cached, their
penultimate features), the recipes per profile, and the evaluation's pieces on tiny untrained models."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from mmvae_lib.experiments.polymnist import classifiers, experiment, results
from mmvae_lib.experiments.polymnist.data import PolyMNIST
from mmvae_lib.experiments.polymnist.networks import PolyMNISTDecoder, PolyMNISTEncoder, polymnist_model
from mmvae_lib.models import MMVAE, MVAE, MoPoE
from mmvae_lib.profiles import get_profile


def _tiny_data(n: int = 40, seed: int = 0) -> PolyMNIST:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (5, n, 3, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.arange(10).repeat(n // 10)
    return PolyMNIST("train", images, labels, {"sha256": f"{seed:064d}", "description": "tiny random tuples"})


def test_networks_follow_the_published_shapes():
    """Encoder: three stride-2 3x3 convolutions 3→32→64→128, 2,048 → 512, heads 512 → D; decoder: D → 2,048,
    transposed convolutions back to 3×28×28 with no sigmoid (values outside [0, 1] are possible)."""
    encoder, decoder = PolyMNISTEncoder(8), PolyMNISTDecoder(8)
    loc, raw = encoder(torch.rand(4, 3, 28, 28))
    assert loc.shape == raw.shape == (4, 8)
    assert [layer.out_channels for layer in encoder.body if isinstance(layer, torch.nn.Conv2d)] == [32, 64, 128]
    assert encoder.body[-2].in_features == 2048 and encoder.loc.in_features == 512
    out = decoder(torch.randn(6, 8) * 10)
    assert out.shape == (6, 3, 28, 28) and (out.min() < 0 or out.max() > 1)
    kinds = {"mmvae": MMVAE, "mvae": MVAE, "mopoe": MoPoE}
    for kind, cls in kinds.items():
        model = polymnist_model(kind, 8)
        assert type(model) is cls and model.n_modalities == 5 and model.names == ("m0", "m1", "m2", "m3", "m4")
    assert not polymnist_model("mmvae", 8).prior.param.requires_grad
    with pytest.raises(ValueError, match="kind must be one of"):
        polymnist_model("jmvae")


def test_recipes_follow_the_profile():
    """full: the benchmark's MMVAE (DReG on eq. 3, K=10, batch 32, 100 epochs), MVAE (beta 2.5, one random
    subset, lr 5e-4, 500 epochs) and MoPoE (beta 2.5, lr 1e-3, 400 epochs), batch 256; smoke one epoch each."""
    (mmvae,) = experiment.recipe("mmvae", "full")
    assert (mmvae.objective, mmvae.k, mmvae.batch_size, mmvae.epochs, mmvae.lr) == ("moe_dreg_looser", 10, 32, 100, 1e-3)
    (mvae,) = experiment.recipe("mvae", "full")
    assert (mvae.objective, mvae.epochs, mvae.lr, mvae.batch_size) == ("mvae", 500, 5e-4, 256)
    assert mvae.options(0) == {"beta": 2.5, "subsets": 1}
    (mopoe,) = experiment.recipe("mopoe", "full")
    assert (mopoe.objective, mopoe.epochs, mopoe.options(7)) == ("moe_elbo_linear", 400, {"beta": 2.5})
    assert all(experiment.recipe(name, "smoke")[0].epochs == 1 for name in experiment.MODEL_NAMES)
    with pytest.raises(ValueError, match="model must be one of"):
        experiment.recipe("jnf", "cpu")


def test_build_model_is_seeded_and_leaves_global_randomness_alone():
    state = torch.random.get_rng_state()
    a, b = experiment.build_model("mopoe", 3, 8), experiment.build_model("mopoe", 3, 8)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(experiment.build_model("mopoe", 4, 8).encoders[0].loc.weight, a.encoders[0].loc.weight)


def test_classifier_training_is_seeded_cached_and_leaves_global_rng_alone(tmp_path, one_thread):
    """Training with dropout gives the same weights for the same seed (the global RNG untouched); the cache
    returns them; the architecture is the published one (980 → 128 → 10)."""
    data = _tiny_data()
    state = torch.random.get_rng_state()
    first = classifiers.digit_classifier(2, data, epochs=1, seed=1, cache_dir=tmp_path)
    assert torch.equal(torch.random.get_rng_state(), state)
    again = classifiers.digit_classifier(2, data, epochs=1, seed=1, cache_dir=None)
    assert all(torch.equal(x, y) for x, y in zip(first.state_dict().values(), again.state_dict().values()))
    path = classifiers.cache_path(2, data, epochs=1, seed=1, cache_dir=tmp_path)
    assert path.exists()
    loaded = classifiers.digit_classifier(2, data, epochs=1, seed=1, cache_dir=tmp_path)
    assert all(torch.equal(x, y) for x, y in zip(first.state_dict().values(), loaded.state_dict().values()))
    assert first.features[-3].in_features == 980 and first.head.in_features == classifiers.FEATURES
    with pytest.raises(ValueError, match="modality must be in 0..4"):
        classifiers.digit_classifier(5, data, epochs=1, cache_dir=None)


def test_penultimate_features_take_uint8_or_float_and_stay_in_eval_mode():
    """The offline distance's features: 128 per image, the same for uint8 and the float images they encode,
    deterministic (no dropout) even after .train()."""
    features = classifiers.PenultimateFeatures(classifiers.PolyMNISTClassifier(seed=0)).train()
    images = torch.randint(0, 256, (5, 3, 28, 28), dtype=torch.uint8)
    out = features(images)
    assert out.shape == (5, classifiers.FEATURES) and not features.training
    torch.testing.assert_close(out, features(images.float() / 255))
    assert torch.equal(out, features(images))


def test_observed_subsets_and_per_seed_table():
    """Sizes 1-4 of five modalities: 5 + 10 + 10 + 5 = 30 subsets; per_seed spreads values over seeds."""
    subsets = results.observed_subsets()
    assert len(subsets) == 30 and subsets[0] == (0,) and subsets[-1] == (1, 2, 3, 4)
    table = results.per_seed({("MMVAE", "|S| = 2"): [50.0, 60.0], ("MMVAE", "joint"): [10.0, 20.0]}, (0, 1), "coherence")
    assert list(table.columns) == ["model", "seed", "column", "size", "coherence"]
    assert table["size"].tolist()[:2] == [2, 2] and pd.isna(table["size"].tolist()[2])


def test_per_seed_takes_each_models_seeds_from_the_runs():
    """Models with seeds of their own: the values go to the seeds in the runs' order; a count that does not
    match the seeds is refused."""
    runs = {("mmvae", 3): None, ("jnf", 0): None, ("mmvae", 5): None}
    seeds = results.seeds_by_model(runs)
    assert seeds == {"MMVAE": [3, 5], "JNF": [0]}
    table = results.per_seed({("MMVAE", "|S| = 1"): [1.0, 2.0], ("JNF", "|S| = 1"): [7.0]}, seeds, "c")
    assert table[["model", "seed", "c"]].values.tolist() == [["MMVAE", 3, 1.0], ["MMVAE", 5, 2.0], ["JNF", 0, 7.0]]
    with pytest.raises(ValueError, match="1 values for the seeds"):
        results.per_seed({("JNF", "|S| = 1"): [7.0]}, {"JNF": [0, 1]}, "c")


def test_generation_and_frechet_results_on_an_untrained_model(tmp_path, monkeypatch, one_thread):
    """generate_from decodes every target from one shared z per item; the conditional panels show the
    observed rows as given; frechet_results averages one distance per subset of the other modalities."""
    model = experiment.build_model("mopoe", 0, 8).eval()
    xs, _ = _tiny_data(20).get(torch.arange(10))
    g = torch.Generator().manual_seed(0)
    m0, m1 = results.generate_from(model, xs, (2, 3), [0, 1], g)
    assert m0.shape == m1.shape == (10, 3, 28, 28)
    panels = results.conditional_panels(model, xs, "MoPoE", g)
    assert list(panels) == ["MoPoE: observed m4", "MoPoE: observed m3..m4", "MoPoE: observed m2..m4",
                            "MoPoE: observed m1..m4"]
    grid = panels["MoPoE: observed m3..m4"]
    assert grid.shape == (50, 3, 28, 28) and torch.equal(grid[30:], torch.cat([xs[3], xs[4]]))
    profile = get_profile("smoke").with_settings("polymnist", seeds=(0,), joint_samples=7)
    runs = {(name, 0): (experiment.build_model(name, 0, 16).eval(), []) for name in experiment.MODEL_NAMES}
    calls = []
    fd = results.frechet_results(profile, runs, xs, lambda images: calls.append(len(images)) or float(len(calls)),
                                 name="FD")
    assert calls == ([10] * 15 + [7]) * 3                                    # 4 + 6 + 4 + 1 subsets, then the prior
    assert fd[("MMVAE", "FD, m0 from |S| = 1")] == [2.5] and fd[("MMVAE", "FD, m0 unconditional")] == [16.0]
    table = results.per_seed(fd, (0,), "FD")
    assert table.set_index("column")["size"].to_dict()["FD, m0 from |S| = 3"] == 3


class _Always(torch.nn.Module):
    """A judge that reads ``digit`` in every image."""

    def __init__(self, digit):
        super().__init__()
        self.digit = digit
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.nn.functional.one_hot(torch.full((x.shape[0],), self.digit), 10).float()


def test_reconstruction_coherence_averages_the_judges_over_modalities():
    """Judges that read 3 everywhere score 100 % on tuples labelled 3 and 0 % on tuples labelled 4; one judge
    of five reading 4 gives 20 %."""
    model = experiment.build_model("mmvae", 0, 8).eval()
    xs, _ = _tiny_data(20).get(torch.arange(6))
    g = torch.Generator().manual_seed(0)
    threes, fours = torch.full((6,), 3), torch.full((6,), 4)
    assert results.reconstruction_coherence(model, xs, threes, [_Always(3)] * 5, g) == 1.0
    assert results.reconstruction_coherence(model, xs, fours, [_Always(3)] * 5, g) == 0.0
    assert results.reconstruction_coherence(model, xs, fours, [_Always(3)] * 4 + [_Always(4)], g) == pytest.approx(0.2)
    assert results.reconstruction_accuracies(model, xs, fours, [_Always(3)] * 4 + [_Always(4)], g) == [0, 0, 0, 0, 1]


def test_reconstructions_from_all_modalities_read_the_joint_posterior():
    """With ``from_all`` every modality is decoded from q(z | X) given all five: for JNF its joint encoder (a
    model whose unimodal encoders give NaN would poison the per-modality path, not this one)."""
    from mmvae_lib.experiments.polymnist import jnf

    model = jnf.jnf_model("jnf", get_profile("smoke").jnf_polymnist, 0).eval()
    xs, _ = _tiny_data(20).get(torch.arange(6))
    for encoder in model.encoders:
        torch.nn.init.constant_(encoder.loc.weight, float("nan"))
    judges = [_Stable()] * 5
    g = torch.Generator().manual_seed(0)
    labels = torch.zeros(6, dtype=torch.long)
    assert results.reconstruction_accuracies(model, xs, labels, judges, g, from_all=True) == [1.0] * 5
    assert results.reconstruction_accuracies(model, xs, labels, judges, g) == [0.0] * 5
    table = results.joint_reconstruction_results({("jnf", 0): (model, []), ("jnf", 1): (model, [])}, xs, labels, judges)
    assert table == {("JNF", "reconstruction from all five"): [100.0, 100.0]}


class _Stable(torch.nn.Module):
    """A judge that reads 0 in finite images and 1 in images with a NaN."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        nan = torch.isnan(x).flatten(1).any(1)
        return torch.nn.functional.one_hot(nan.long(), 10).float()


@pytest.mark.parametrize("name", experiment.MODEL_NAMES)
def test_each_model_trains_one_epoch_and_is_loaded_from_its_checkpoint(name, tmp_path, monkeypatch, one_thread):
    """Each recipe trains on PolyMNIST batches (five float modalities) with a finite bound and writes its
    checkpoint; a second call loads it (same history, same weights) instead of training again."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    profile = get_profile("smoke").with_settings("polymnist", latent_dim=8)
    data = _tiny_data(40)
    model, history = experiment._fit(profile, name, 0, train_data=data)
    assert len(history) == 1 and torch.isfinite(torch.tensor(history[0]["bound"]))
    assert len(list((tmp_path / "smoke" / "checkpoints").glob(f"polymnist_{name}_s0_*.pt"))) == 1
    again, history_again = experiment._fit(profile, name, 0, train_data=data)
    assert history_again == history
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_translated_polymnist_has_its_own_section_checkpoints_judges_and_job_keys():
    from mmvae_lib.experiments.polymnist import translated_jnf, translated_models

    full = get_profile("full")
    assert translated_models.settings("full") == full.polymnist == full.translated_polymnist  # the same budget
    assert translated_jnf.settings("cpu") == get_profile("cpu").jnf_polymnist
    assert translated_jnf.CHECKPOINTS == "jnf_translated_polymnist" and translated_jnf.jnf_model is not None
    with pytest.raises(ValueError, match="dataset must be one of"):
        experiment.settings("cpu", "rotated")
    data = _tiny_data()
    assert classifiers.cache_path(0, data, epochs=2, seed=0, cache_dir="c").name.startswith("polymnist_clf_m0_")
    assert classifiers.cache_path(0, data, epochs=2, seed=0, cache_dir="c",
                                  architecture="resnet").name.startswith("polymnist_clf_resnet_m0_")
    judge = classifiers.TranslatedClassifier(seed=0)
    images = torch.rand(6, 3, 28, 28)
    assert judge(images).shape == (6, 10) and classifiers.PenultimateFeatures(judge)(images).shape == (6, 64)
    with pytest.raises(ValueError, match="architecture must be one of"):
        classifiers.digit_classifier(0, data, epochs=1, cache_dir=None, architecture="vit")


def test_the_coherence_drop_is_before_minus_after_per_size_and_on_average(tmp_path):
    before = {("MMVAE", results.column(n)): [50.0, 52.0] for n in (1, 2, 3, 4)} | {("JNF", "|S| = 1"): [60.0],
              ("JNF", "|S| = 2"): [61.0], ("JNF", "|S| = 3"): [62.0], ("JNF", "|S| = 4"): [63.0]}
    after = {("MMVAE", results.column(n)): [40.0] for n in (1, 2, 3, 4)} | {
        ("JNF", results.column(n)): [58.0] for n in (1, 2, 3, 4)} | {("MoPoE", "|S| = 1"): [30.0]}
    drop = results.coherence_drop(before, after).set_index("model")
    assert list(drop.index) == ["MMVAE", "JNF"]                    # MoPoE has no PolyMNIST values
    assert drop.loc["MMVAE", "drop |S| = 1"] == pytest.approx(11.0) and drop.loc["MMVAE", "mean drop"] == pytest.approx(11.0)
    assert drop.loc["JNF", "mean drop"] == pytest.approx((2 + 3 + 4 + 5) / 4)
    pd.DataFrame({"row": ["JNF", "JNF"], "column": ["|S| = 1", "joint"], "value": [61.5, 3.0]}).to_csv(
        tmp_path / "t.csv", index=False)
    assert results.coherence_of_table(tmp_path / "t.csv") == {("JNF", "|S| = 1"): [61.5]}
    assert results.coherence_of_table(tmp_path / "absent.csv") is None
