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


def _benchmark(name):
    import importlib.util

    from mmvae_lib.paths import REPO_ROOT

    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _mains():
    from mmvae_lib import paper, regression
    from mmvae_lib.experiments.cub import experiment as cub
    from mmvae_lib.experiments.mnist_svhn import experiment as mnist_svhn
    from mmvae_lib.experiments.polymnist import experiment as polymnist

    return {"paper": (paper.main, []), "regression": (regression.main, ["update"]),
            "mnist_svhn": (mnist_svhn.main, ["--model", "mmvae"]), "polymnist": (polymnist.main, ["--model", "mopoe"]),
            "cub": (cub.main, ["--model", "mmvae"]),
            **{name: (_benchmark(name), extra) for name, extra in (
                ("polymnist_learning", ["--model", "mopoe"]), ("cub_learning", ["--model", "mmvae"]),
                ("jnf_polymnist_learning", ["--variant", "jnf"]), ("jnf_prior_division", []))}}


@pytest.mark.parametrize("command", ["paper", "regression", "mnist_svhn", "polymnist", "cub", "polymnist_learning",
                                     "cub_learning", "jnf_polymnist_learning", "jnf_prior_division"])
def test_a_misspelt_profile_fails_in_one_line_with_the_choices(command, capsys):
    """``--profile cpuu`` stops every command line at once (exit status 2) with one line on stderr that names
    the valid profiles: no usage block, no traceback, nothing run."""
    main, extra = _mains()[command]
    with pytest.raises(SystemExit) as stopped:
        main(extra + ["--profile", "cpuu"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert "invalid choice: 'cpuu'" in lines[0] and all(f"'{p}'" in lines[0] for p in ("cpu", "full", "smoke"))
