"""mmvae_lib.experiments.mnist_svhn.experiment: the recipes per profile, the per-epoch coherence probe and the
command line, on the model-agnostic trainer."""
import pytest
import torch
from torch import nn

from mmvae_lib.experiments.mnist_svhn import experiment
from mmvae_lib.experiments.mnist_svhn.networks import mnist_svhn_model
from mmvae_lib.training import KLAnnealing


class Always(nn.Module):
    """A digit classifier that predicts ``digit`` for every image."""

    def __init__(self, digit):
        super().__init__()
        self.digit = digit

    def forward(self, x):
        return nn.functional.one_hot(torch.full((x.shape[0],), self.digit), 10).float()


def _pairs(n, label):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=g), torch.rand(n, 3, 32, 32, generator=g), torch.full((n,), label)


@pytest.mark.parametrize("model_kind", ["mmvae", "mvae"])
def test_coherence_probe_scores_against_the_judges(model_kind):
    """Judges that always say 3 make cross coherence 100 % on pairs labelled 3 and 0 % on pairs labelled 4;
    they always agree, so joint coherence is 100 %; the symmetric KL is positive; the same model gives the
    same numbers twice; only the first n pairs are scored."""
    model = mnist_svhn_model(model_kind).eval()
    judges = [Always(3), Always(3)]
    threes = experiment.coherence_probe(_pairs(12, 3), judges, 8)
    with torch.no_grad():
        first, again = threes(model), threes(model)
        fours = experiment.coherence_probe(_pairs(12, 4), judges, 8)(model)
    assert first == again
    assert set(first) == set(experiment.CURVE_COLUMNS)
    assert first["Cross M→S"] == first["Cross S→M"] == 100.0 and first["Joint"] == 100.0
    assert fours["Cross M→S"] == fours["Cross S→M"] == 0.0
    assert first["symmetric KL"] > 0


def test_recipes_follow_the_profile():
    """The MMVAE trains the profile's objective and K (full: DReG on eq. 3, K=30, 30 epochs); the single VAEs
    its single-posterior counterpart; the MVAE its own objective with KL annealing over a third of training."""
    (mmvae,) = experiment.recipe("mmvae", "full")
    assert (mmvae.objective, mmvae.k, mmvae.epochs, mmvae.batch_size) == ("moe_dreg_looser", 30, 30, 128)
    assert experiment.recipe("vae_svhn", "full")[0].objective == "dreg"
    assert experiment.recipe("vae_mnist", "smoke")[0].objective == "elbo"
    assert experiment.recipe("mvae", "full", steps_per_epoch=30)[0].options == KLAnnealing(300)
    with pytest.raises(ValueError, match="model must be one of"):
        experiment.recipe("jmvae", "full")


def test_build_model_is_seeded_and_leaves_global_randomness_alone():
    state = torch.random.get_rng_state()
    a, b = experiment.build_model("mmvae", 3), experiment.build_model("mmvae", 3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(experiment.build_model("mmvae", 4).state_dict()["encoders.0.loc.weight"],
                           a.state_dict()["encoders.0.loc.weight"])


def test_command_line_trains_another_objective_with_the_probe(tmp_path, monkeypatch, capsys, one_thread):
    """The command line trains the profile's recipe with another objective, K and length, printing the
    probe after every epoch (how the objectives were compared)."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    experiment.main(["--model", "mmvae", "--profile", "smoke", "--objective", "moe_dreg_looser", "--k", "2",
                     "--epochs", "2", "--probe"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and '"Cross M→S"' in lines[-1] and '"epoch": 2' in lines[-1]


def test_trend_reads_the_end_of_a_probed_history():
    """Last, best (and when), and the slope over the last third in points per 10 epochs."""
    history = [{"epoch": e, "Joint": v} for e, v in enumerate([10, 20, 30, 40, 41, 42], 1)]
    t = experiment.trend(history, "Joint")
    assert t == {"last": 42.0, "best": 42.0, "best epoch": 6, "per 10 epochs": pytest.approx(10.0), "from epoch": 5}


def test_trend_names_a_run_trained_without_the_probe():
    """A history without the probe's columns (trained with probe=False) says so instead of a bare KeyError."""
    with pytest.raises(KeyError, match="without the coherence probe"):
        experiment.trend([{"epoch": 1, "bound": -3.0}], "Joint")


def test_trained_models_record_the_probe_by_default(tmp_path, monkeypatch, one_thread):
    """Whichever notebook trains a checkpoint first leaves the probed history that notebook 06 reads
    (`--only 06` on fresh outputs once failed here), and the unimodal models are not probed."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    runs = experiment.trained_models("smoke", models=("mmvae", "vae_mnist"), seeds=(0,), progress=False, workers=1)
    mmvae_history, vae_history = runs[("mmvae", 0)][1], runs[("vae_mnist", 0)][1]
    assert all(set(experiment.CURVE_COLUMNS) <= set(h) for h in mmvae_history)
    assert experiment.trend(mmvae_history, "Joint")["last"] == mmvae_history[-1]["Joint"]
    assert not set(experiment.CURVE_COLUMNS) & set(vae_history[-1])
