"""mmvae_lib.training.command_line: an experiment's command line trains one model, resumes from its
checkpoint, and refuses an unknown model."""
import json

import pytest

from mmvae_lib.training.command_line import train_one_model


def test_train_one_model_parses_fits_and_prints_the_last_record(capsys):
    calls = []

    def fit(profile, model, seed, *, device=None, progress=False):
        calls.append((profile, model, seed, device, progress))
        return None, [{"epoch": 1, "bound": -3.0}, {"epoch": 2, "bound": -2.0}]

    history = train_one_model("demo", ("a", "b"), fit, ["--model", "b", "--seed", "3"])
    assert calls == [("cpu", "b", 3, None, True)] and history[-1]["epoch"] == 2
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"epoch": 2, "bound": -2.0}
    with pytest.raises(SystemExit):
        train_one_model("demo", ("a", "b"), fit, ["--model", "c"])


def test_the_polymnist_command_trains_and_then_loads_a_smoke_model(tmp_path, monkeypatch, capsys):
    from mmvae_lib.experiments.polymnist import experiment

    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv("MMVAE_DATA", str(tmp_path / "data"))
    experiment.main(["--model", "mopoe", "--profile", "smoke"])
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    experiment.main(["--model", "mopoe", "--profile", "smoke"])       # the finished run is loaded, not retrained
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == first
    assert first["epoch"] == 1
