"""benchmarks/polymnist_learning.py and cub_learning.py: the learning curves the README quotes run end to end
on the smoke profile, read what they say they read, and refuse to run without their judges."""
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
