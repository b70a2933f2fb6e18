"""mmvae_lib.training: resumable, deterministic training that logs the bound and stops on divergence."""
import pytest
import torch

from mmvae_lib import training
from mmvae_lib.estimators import Estimate
from mmvae_lib.training import TrainConfig, TrainingDiverged, paper_config, train


class TinyPairs:
    """A few random MNIST-SVHN-shaped pairs with the dataset interface training needs."""

    key = "tiny-random-pairs"

    def __init__(self, n=40, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.mnist = torch.rand(n, 1, 28, 28, generator=g)
        self.svhn = torch.rand(n, 3, 32, 32, generator=g)
        self.labels = torch.randint(0, 10, (n,), generator=g)

    def __len__(self):
        return len(self.labels)

    def batches(self, batch_size, *, shuffle=True, generator=None, device=None):
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for idx in order.split(batch_size):
            yield self.mnist[idx].to(device), self.svhn[idx].to(device), self.labels[idx].to(device)


class Interrupt(Exception):
    pass


def _stop_after_first_epoch(epoch, history):
    if epoch == 1:
        raise Interrupt


@pytest.mark.parametrize("model,objective,k", [("mmvae", "moe_dreg_looser", 3), ("mvae", "mvae", 1)])
def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path, model, objective, k):
    """Interrupting after epoch 1 and calling train again resumes from the checkpoint and ends with the
    same weights and the same logged bounds as a run that was never interrupted (CPU)."""
    config = TrainConfig(model, objective, k=k, epochs=2, batch_size=16, seed=3,
                         anneal_steps=4 if objective == "mvae" else 0)
    data = TinyPairs()
    straight, history = train(config, data, tmp_path / "a", progress=False)
    with pytest.raises(Interrupt):
        train(config, data, tmp_path / "b", progress=False, on_epoch_end=_stop_after_first_epoch)
    resumed, resumed_history = train(config, data, tmp_path / "b", progress=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert [h["bound"] for h in history] == [h["bound"] for h in resumed_history]
    assert len(history) == 2 and all(h["steps"] == 3 for h in history)


def test_finished_run_is_loaded_not_retrained(tmp_path, monkeypatch):
    """A second call with the same config and data loads the finished checkpoint without a step."""
    config = TrainConfig("vae_mnist", "elbo", epochs=1, batch_size=20)
    model, history = train(config, TinyPairs(), tmp_path, progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setitem(training.OBJECTIVES, "elbo", refuse)
    again, again_history = train(config, TinyPairs(), tmp_path, progress=False)
    assert again_history == history
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_logged_value_is_the_bound_not_the_surrogate(tmp_path, monkeypatch):
    """The history holds the mean of Estimate.bound, whatever the surrogate's value."""
    def fake(model, xs, k, generator):
        loc, _ = model.encoders[0](xs[0])
        surrogate = loc.sum(-1) * 0 + 1000.0
        return Estimate(torch.full((xs[0].shape[0],), -7.0), surrogate)

    monkeypatch.setitem(training.OBJECTIVES, "elbo", fake)
    _, history = train(TrainConfig("vae_mnist", "elbo", epochs=1, batch_size=8), TinyPairs(), tmp_path,
                       progress=False)
    assert history[0]["bound"] == -7.0


def test_divergence_names_epoch_and_step(tmp_path, monkeypatch):
    """A NaN loss stops training with an error naming the epoch and the step."""
    calls = {"n": 0}

    def nan_on_third(model, xs, k, generator):
        calls["n"] += 1
        loc, _ = model.encoders[0](xs[0])
        value = loc.sum(-1) * (float("nan") if calls["n"] == 3 else 0.0)
        return Estimate(value.detach(), value)

    monkeypatch.setitem(training.OBJECTIVES, "elbo", nan_on_third)
    with pytest.raises(TrainingDiverged, match="epoch 1, step 3"):
        train(TrainConfig("vae_mnist", "elbo", epochs=1, batch_size=8), TinyPairs(), tmp_path, progress=False)


def test_config_errors_and_paper_configs():
    """Bad configs get clear errors; the paper's configs follow the profile (full: DReG, K=30)."""
    with pytest.raises(ValueError, match="model must be one of"):
        TrainConfig("jmvae", "elbo")
    with pytest.raises(ValueError, match="objective must be one of"):
        TrainConfig("mmvae", "vimco")
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        TrainConfig("mmvae", "moe_elbo", epochs=0)
    with pytest.raises(ValueError, match="mvae objective only"):
        TrainConfig("mmvae", "moe_elbo", anneal_steps=5)
    full = paper_config("mmvae", "full", seed=2)
    assert (full.objective, full.k, full.epochs, full.batch_size, full.seed) == ("moe_dreg_looser", 30, 30, 128, 2)
    assert paper_config("vae_svhn", "full", 0).objective == "dreg"
    assert paper_config("mvae", "full", 0, steps_per_epoch=30).anneal_steps == 300


def test_evaluate_records_survive_resumption_and_leave_training_unchanged(tmp_path):
    """Per-epoch measurements land in the history and the checkpoint (a resumed run still has epoch 1's),
    are taken in eval mode without gradients, and do not change the trained weights."""
    config = TrainConfig("mmvae", "moe_elbo", epochs=2, batch_size=16, seed=1)
    data = TinyPairs()
    seen = []

    def evaluate(model):
        seen.append((model.training, torch.is_grad_enabled()))
        probe = torch.Generator().manual_seed(0)
        return {"probe": model.generate(2, probe)[0].mean(), "epochs_seen": len(seen)}

    plain, _ = train(config, data, tmp_path / "plain", progress=False)
    with pytest.raises(Interrupt):
        train(config, data, tmp_path / "eval", progress=False, evaluate=evaluate,
              on_epoch_end=_stop_after_first_epoch)
    measured, history = train(config, data, tmp_path / "eval", progress=False, evaluate=evaluate)
    assert seen == [(False, False), (False, False)]
    assert [h["epochs_seen"] for h in history] == [1.0, 2.0]
    assert all(isinstance(h["probe"], float) for h in history)
    for (name, a), b in zip(plain.state_dict().items(), measured.state_dict().values()):
        assert torch.equal(a, b), name


def test_evaluate_may_not_overwrite_the_training_record(tmp_path):
    config = TrainConfig("vae_mnist", "elbo", epochs=1, batch_size=20)
    with pytest.raises(ValueError, match="bound"):
        train(config, TinyPairs(), tmp_path, progress=False, evaluate=lambda model: {"bound": 0.0})
