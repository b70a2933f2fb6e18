"""benchmarks/polymnist_learning.py, cub_learning.py and jnf_polymnist_learning.py: the learning curves the
README quotes run end to end on the smoke profile, read what they say they read, and refuse to run without
their judges."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from mmvae_lib.paths import REPO_ROOT

pytestmark = pytest.mark.usefixtures("one_thread")


def _script(name: str):
    path = Path(REPO_ROOT) / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    return tmp_path


def test_polymnist_learning_curve_reads_coherence_and_own_reconstructions(outputs):
    from mmvae_lib.experiments.polymnist import experiment

    script = _script("polymnist_learning")
    with pytest.raises(RuntimeError, match="not trained yet"):
        script.main(["--model", "mopoe", "--profile", "smoke", "--minutes", "0.01"])
    experiment.digit_classifiers("smoke", experiment.paper_data("smoke", "train"))
    written = outputs / "curve.json"
    log = script.main(["--model", "mopoe", "--profile", "smoke", "--minutes", "0.05", "--every", "2", "--test", "40",
                       "--json", str(written)])
    assert log and [row["step"] for row in log] == list(range(2, 2 * len(log) + 1, 2))
    for row in log:      # Figure 4's average for 1..4 observed modalities, and the own reconstructions
        assert list(row["coherence"]) == ["1", "2", "3", "4"]
        assert all(0 <= v <= 1 for v in row["coherence"].values()) and 0 <= row["own"] <= 1
    assert json.loads(written.read_text())["readings"] == log
    vae = script.main(["--model", "vae", "--profile", "smoke", "--minutes", "0.02", "--every", "1", "--test", "40"])
    assert vae and all(row["coherence"] == {} and 0 <= row["own"] <= 1 for row in vae)


def test_cub_learning_curve_reads_table4_and_counts_distinct_captions(outputs):
    from mmvae_lib.experiments.cub import experiment

    script = _script("cub_learning")
    experiment.correlation_judges("smoke", workers=1, progress=False)
    log = script.main(["--model", "mmvae", "--profile", "smoke", "--minutes", "0.03", "--every", "1", "--test", "30"])
    assert log
    for row in log:
        assert {"Joint", "Cross I→S", "Cross S→I"} <= set(row)
        assert all(-1 <= row[c] <= 1 for c in ("Joint", "Cross I→S", "Cross S→I"))
        assert 1 <= row["distinct_captions"] <= 30


def test_jnf_polymnist_learning_curve_reads_each_stage_and_keeps_the_profiles_weights(outputs):
    """The DCCA stage is read by its canonical correlation and the projectors' digit probes, the unimodal stage
    by its fit and the coherence given one modality, at the epochs asked for and the last of each stage; the
    run with the profile's epochs is the checkpoint notebook 13 loads (the readings change no weight)."""
    from mmvae_lib.experiments.polymnist import experiment, jnf

    script = _script("jnf_polymnist_learning")
    with pytest.raises(RuntimeError, match="not trained yet"):
        script.main(["--variant", "jnf", "--profile", "smoke"])
    experiment.digit_classifiers("smoke", experiment.paper_data("smoke", "train"))
    written = outputs / "jnf.json"
    log = script.main(["--variant", "jnf_dcca", "--profile", "smoke", "--dcca-epochs", "3", "--unimodal-epochs", "4",
                       "--every", "2", "--test", "40", "--json", str(written)])
    assert [(row["epoch"], row["stage"]) for row in log] == [
        (1, "joint"), (1, "dcca"), (2, "dcca"), (3, "dcca"), (4, "unimodal"), (6, "unimodal"), (7, "unimodal")]
    assert 0 <= log[0]["reconstruction"] <= 1
    for row in log[1:4]:
        assert 0 < row["total_correlation"] <= 10 * jnf.settings("smoke").dcca_dim
        assert all(0 <= row[f"probe_m{m}"] <= 1 for m in range(5))
    for row in log[4:]:
        assert row["minus_kl"] < 0 and 0 <= row["coherence_1"] <= 1
    assert log[-1]["minus_kl"] > log[4]["minus_kl"]            # the unimodal posteriors close in on the joint one
    assert json.loads(written.read_text())["readings"] == log
    # the profile's own epochs: the trained weights are those notebook 13 trains (and then loads)
    profile_run = script.main(["--variant", "jnf", "--profile", "smoke", "--every", "1", "--test", "40"])[1:]
    assert [row["epoch"] for row in profile_run] == list(range(1, jnf.settings("smoke").unimodal_epochs + 1))
    loaded = script.main(["--variant", "jnf", "--profile", "smoke", "--test", "40"])
    assert [row["stage"] for row in loaded] == ["joint"]                     # the variant loaded, not retrained
    folder = outputs / "smoke" / "checkpoints" / jnf.CHECKPOINTS
    written_files = sorted(folder.iterdir())
    history = jnf.trained_variants("smoke", ("jnf",), workers=1, progress=False)[("jnf", 0)][1]
    assert sorted(folder.iterdir()) == written_files                    # nothing trained: the benchmark's run
    joint_epochs = jnf.settings("smoke").joint_epochs
    assert [h["epoch"] - joint_epochs for h in history if h["stage"] == "unimodal"] == [r["epoch"] for r in profile_run]
    # a longer joint model, continued from the profile's: read after each epoch it is continued for
    longer = script.main(["--variant", "jnf", "--profile", "smoke", "--joint-epochs", str(joint_epochs + 2),
                          "--unimodal-epochs", "1", "--every", "1", "--test", "40"])
    assert [(row["epoch"], row["stage"]) for row in longer] == [
        (joint_epochs, "joint"), (joint_epochs + 1, "joint"), (joint_epochs + 2, "joint"), (1, "unimodal")]
    assert longer[0]["reconstruction"] == loaded[0]["reconstruction"]          # the profile's joint model, loaded
    with pytest.raises(SystemExit):
        script.main(["--variant", "jnf", "--profile", "smoke", "--joint-epochs", str(joint_epochs)])


def test_jnf_prior_division_sets_the_three_targets_side_by_side(outputs):
    """Each target on the first seed's JNF and JNF-DCCA (smoke): coherence for |S| = 1..4 in percent, a chain
    row per |S| = 2..4; |S| = 1 does not depend on the target; the models are left dividing |S| − 1 times."""
    from mmvae_lib.experiments.polymnist import experiment

    script = _script("jnf_prior_division")
    experiment.digit_classifiers("smoke", experiment.paper_data("smoke", "train"))
    rows = script.main(["--profile", "smoke", "--chains", "8", "--json", str(outputs / "division.json")])
    assert [(r["target"], r["model"]) for r in rows] == [(t, m) for t in ("exact", "once", "none")
                                                          for m in ("JNF", "JNF-DCCA")]
    for r in rows:
        assert list(r["coherence (%) by |S|"]) == ["1", "2", "3", "4"]
        assert all(0 <= v <= 100 for v in r["coherence (%) by |S|"].values())
        assert [c["|S|"] for c in r["chains"]] == [2, 3, 4]
    by_model = {m: {r["coherence (%) by |S|"]["1"] for r in rows if r["model"] == m} for m in ("JNF", "JNF-DCCA")}
    assert all(len(v) == 1 for v in by_model.values())
    assert json.loads((outputs / "division.json").read_text())["rows"] == rows


def test_mhd_learning_curve_reads_coherence_given_one_and_two_and_own_reconstructions(outputs):
    script = _script("mhd_learning")
    written = outputs / "curve.json"
    log = script.main(["--model", "mopoe", "--profile", "smoke", "--minutes", "0.05", "--every", "2", "--test", "40",
                       "--json", str(written)])
    assert log and [row["step"] for row in log] == list(range(2, 2 * len(log) + 1, 2))
    for row in log:
        assert list(row["coherence"]) == ["1", "2"] and all(0 <= v <= 1 for v in row["coherence"].values())
        assert 0 <= row["own"] <= 1
    assert json.loads(written.read_text())["readings"] == log
