"""mmvae_lib.training: any model, a recipe of stages, resumable and deterministic, the bound logged, frozen
parameters frozen, divergence stopped."""
from dataclasses import replace

import pytest
import torch

from mmvae_lib.datasets import TensorDataset
from mmvae_lib.experiments.mnist_svhn.networks import mnist_svhn_model
from mmvae_lib.objectives import OBJECTIVES, Estimate
from mmvae_lib.training import KLAnnealing, Stage, TrainingDiverged, checkpoint_path, train
from mmvae_lib.training import trainer


def tiny_pairs(n=40, seed=0) -> TensorDataset:
    """A few random MNIST-SVHN-shaped pairs."""
    g = torch.Generator().manual_seed(seed)
    return TensorDataset([torch.rand(n, 1, 28, 28, generator=g), torch.rand(n, 3, 32, 32, generator=g)],
                         key=f"tiny-random-pairs-{n}-{seed}", labels=torch.randint(0, 10, (n,), generator=g))


def model(kind="mmvae", seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mnist_svhn_model(kind, 8)


class Interrupt(Exception):
    pass


def stop_after(n):
    def on_epoch_end(epoch, history):
        if epoch == n:
            raise Interrupt
    return on_epoch_end


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("kind,stage", [
    ("mmvae", Stage("mmvae", "moe_dreg_looser", epochs=2, k=3, batch_size=16)),
    ("mvae", Stage("mvae", "mvae", epochs=2, batch_size=16, options=KLAnnealing(4))),
])
def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path, one_thread, kind, stage):
    """Interrupting after epoch 1 and calling train again resumes from the checkpoint and ends with the
    same weights and the same logged bounds as a run that was never interrupted (CPU)."""
    data = tiny_pairs()
    straight = model(kind)
    history = train(straight, [stage], data, tmp_path / "a" / "run", seed=3, progress=False)
    with pytest.raises(Interrupt):
        train(model(kind), [stage], data, tmp_path / "b" / "run", seed=3, progress=False, on_epoch_end=stop_after(1))
    resumed = model(kind)
    resumed_history = train(resumed, [stage], data, tmp_path / "b" / "run", seed=3, progress=False)
    assert same_weights(straight, resumed)
    assert [h["bound"] for h in history] == [h["bound"] for h in resumed_history]
    assert len(history) == 2 and all(h["steps"] == 3 and h["stage"] == kind for h in history)


def two_stage_recipe():
    """Stage 1 trains everything; stage 2 only the MMVAE's MNIST encoder, with another objective and K."""
    return [Stage("joint", "moe_elbo", epochs=2, batch_size=16),
            Stage("mnist encoder", "moe_dreg_looser", epochs=2, k=2, batch_size=16, lr=5e-4, update=("encoders.0",))]


def test_resume_inside_the_second_stage_equals_an_uninterrupted_run(tmp_path, one_thread):
    """Interrupted after the first epoch of stage 2 (epoch 3), the run resumes inside stage 2 (its optimiser
    restored) and ends bit for bit where the uninterrupted run ends; each record names its stage."""
    data = tiny_pairs()
    straight = model()
    history = train(straight, two_stage_recipe(), data, tmp_path / "a" / "run", progress=False)
    with pytest.raises(Interrupt):
        train(model(), two_stage_recipe(), data, tmp_path / "b" / "run", progress=False, on_epoch_end=stop_after(3))
    saved = torch.load(checkpoint_path(model(), two_stage_recipe(), data, tmp_path / "b" / "run", 0), weights_only=True)
    assert [h["stage"] for h in saved["history"]] == ["joint", "joint", "mnist encoder"]
    resumed = model()
    resumed_history = train(resumed, two_stage_recipe(), data, tmp_path / "b" / "run", progress=False)
    assert same_weights(straight, resumed)
    assert [h["bound"] for h in history] == [h["bound"] for h in resumed_history]
    assert [(h["stage"], h["epoch"]) for h in history] == [("joint", 1), ("joint", 2), ("mnist encoder", 3),
                                                           ("mnist encoder", 4)]


def test_a_longer_last_stage_continues_a_finished_shorter_run_bit_for_bit(tmp_path, one_thread):
    """A finished run whose last stage has 1 epoch, continued into the same recipe with a 2-epoch last stage,
    ends bit for bit where an uninterrupted 2-epoch run ends (the first stage's records and all), and trains
    only the missing epoch; nothing is copied where there is no shorter run or the longer one exists."""
    data, recipe = tiny_pairs(), two_stage_recipe()
    shorter = recipe[:-1] + [replace(recipe[-1], epochs=1)]
    straight = model()
    history = train(straight, recipe, data, tmp_path / "a" / "run", progress=False)
    assert trainer.continue_from_shorter(model(), recipe, data, tmp_path / "b" / "run", 0, 1) is None   # nothing yet
    train(model(), shorter, data, tmp_path / "b" / "run", progress=False)
    copied = trainer.continue_from_shorter(model(), recipe, data, tmp_path / "b" / "run", 0, 1)
    assert copied == checkpoint_path(model(), shorter, data, tmp_path / "b" / "run", 0)
    epochs_run = []
    continued = model()
    continued_history = train(continued, recipe, data, tmp_path / "b" / "run", progress=False,
                              on_epoch_end=lambda epoch, h: epochs_run.append(epoch))
    assert epochs_run == [4]
    assert same_weights(straight, continued)
    assert [h["bound"] for h in history] == [h["bound"] for h in continued_history]
    assert trainer.continue_from_shorter(model(), recipe, data, tmp_path / "b" / "run", 0, 1) is None   # exists
    for bad in (0, 2, 3):
        with pytest.raises(ValueError, match="shorter_epochs must be between 1 and"):
            trainer.continue_from_shorter(model(), recipe, data, tmp_path / "c" / "run", 0, bad)


def test_frozen_parameters_do_not_move_and_requires_grad_is_restored(tmp_path, one_thread):
    """In a stage that updates only the MNIST encoder, every other parameter keeps its value (and gets no
    gradient); the encoder moves; afterwards every parameter's requires_grad is what it was."""
    data = tiny_pairs()
    m = model()
    train(m, two_stage_recipe()[:1], data, tmp_path / "stage1", progress=False)
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    flags = {n: p.requires_grad for n, p in m.named_parameters()}
    train(m, [two_stage_recipe()[1]], data, tmp_path / "stage2", progress=False)
    for name, p in m.named_parameters():
        moved = not torch.equal(before[name], p.detach())
        assert moved == name.startswith("encoders.0."), name
        assert p.requires_grad == flags[name]


def test_finished_run_is_loaded_not_retrained(tmp_path, monkeypatch):
    """A second call with the same recipe and data loads the finished checkpoint without a step, into a
    freshly built model (a single-modality VAE on one modality of the pairs)."""
    stage, data = Stage("vae", "elbo", epochs=1, batch_size=20), tiny_pairs().select([0])

    def vae():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return mnist_svhn_model("vae", 8, "mnist")

    trained = vae()
    history = train(trained, stage, data, tmp_path / "run", progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setitem(OBJECTIVES, "elbo", refuse)
    again = vae()
    assert train(again, stage, data, tmp_path / "run", progress=False) == history
    assert same_weights(trained, again)


def test_checkpoint_name_follows_recipe_data_architecture_and_seed(tmp_path):
    """Change the recipe, the data, the architecture, the initial weights or the seed and the checkpoint's name
    changes."""
    stage, data = Stage("s", "moe_elbo", epochs=1), tiny_pairs()
    base = checkpoint_path(model(), [stage], data, tmp_path / "run", 0)
    assert base.name.startswith("run_") and base.suffix == ".pt"
    assert checkpoint_path(model(), [stage], data, tmp_path / "run", 0) == base
    others = [checkpoint_path(model(), [Stage("s", "moe_elbo", epochs=2)], data, tmp_path / "run", 0),
              checkpoint_path(model(), [stage], tiny_pairs(seed=1), tmp_path / "run", 0),
              checkpoint_path(mnist_svhn_model("mmvae", 9), [stage], data, tmp_path / "run", 0),
              checkpoint_path(model(), [stage], data, tmp_path / "run", 1)]
    reinitialised = model()                                  # same repr, one weight initialised differently
    with torch.no_grad():
        next(reinitialised.parameters()).mul_(0.5)
    others.append(checkpoint_path(reinitialised, [stage], data, tmp_path / "run", 0))
    assert len({base, *others}) == 6


def test_logged_value_is_the_bound_not_the_surrogate(tmp_path):
    """The history holds the mean of Estimate.bound, whatever the surrogate's value; a callable objective
    works like a named one."""
    def fake(model, xs, k, generator):
        loc, _ = model.encoders[0](xs[0])
        return Estimate(torch.full((xs[0].shape[0],), -7.0), loc.sum(-1) * 0 + 1000.0)

    history = train(model(), Stage("fake", fake, epochs=1, batch_size=8), tiny_pairs(), tmp_path / "run",
                    progress=False)
    assert history[0]["bound"] == -7.0


def test_divergence_names_stage_epoch_and_step(tmp_path):
    """A NaN loss stops training with an error naming the stage, the epoch and the step."""
    calls = {"n": 0}

    def nan_on_third(model, xs, k, generator):
        calls["n"] += 1
        loc, _ = model.encoders[0](xs[0])
        value = loc.sum(-1) * (float("nan") if calls["n"] == 3 else 0.0)
        return Estimate(value.detach(), value)

    with pytest.raises(TrainingDiverged, match="nan stage: .* epoch 1, step 3"):
        train(model(), Stage("nan stage", nan_on_third, epochs=1, batch_size=8), tiny_pairs(), tmp_path / "run",
              progress=False)


def test_bad_recipes_get_clear_errors(tmp_path):
    """Unknown objectives, non-positive sizes, parameters that do not exist, an empty recipe."""
    with pytest.raises(ValueError, match="objective must be one of"):
        Stage("s", "vimco", epochs=1)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        Stage("s", "moe_elbo", epochs=0)
    with pytest.raises(ValueError, match="lr must be positive"):
        Stage("s", "moe_elbo", epochs=1, lr=0.0)
    with pytest.raises(ValueError, match=r"updates \['flows'\], which name no parameter"):
        train(model(), Stage("s", "moe_elbo", epochs=1, update=("flows",)), tiny_pairs(), tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="at least one Stage"):
        train(model(), [], tiny_pairs(), tmp_path / "r", progress=False)


def test_evaluate_records_survive_resumption_and_leave_training_unchanged(tmp_path, one_thread):
    """Per-epoch measurements land in the history and the checkpoint (a resumed run still has epoch 1's),
    are taken in eval mode without gradients, and do not change the trained weights."""
    stage, data = Stage("mmvae", "moe_elbo", epochs=2, batch_size=16), tiny_pairs()
    seen = []

    def evaluate(m):
        seen.append((m.training, torch.is_grad_enabled()))
        probe = torch.Generator().manual_seed(0)
        return {"probe": m.generate(2, probe)[0].mean(), "epochs_seen": len(seen)}

    plain = model(seed=1)
    train(plain, stage, data, tmp_path / "plain", seed=1, progress=False)
    with pytest.raises(Interrupt):
        train(model(seed=1), stage, data, tmp_path / "eval", seed=1, progress=False, evaluate=evaluate,
              on_epoch_end=stop_after(1))
    measured = model(seed=1)
    history = train(measured, stage, data, tmp_path / "eval", seed=1, progress=False, evaluate=evaluate)
    assert seen == [(False, False), (False, False)]
    assert [h["epochs_seen"] for h in history] == [1.0, 2.0]
    assert all(isinstance(h["probe"], float) for h in history)
    assert same_weights(plain, measured)


def test_evaluate_may_not_overwrite_the_training_record(tmp_path):
    for key in trainer.RECORD_KEYS:
        with pytest.raises(ValueError, match=key):
            train(model(), Stage("s", "moe_elbo", epochs=1, batch_size=20), tiny_pairs(), tmp_path / key,
                  progress=False, evaluate=lambda m, key=key: {key: 0.0})


def test_fixed_options_give_the_same_keywords_every_step_and_a_stable_checkpoint_name(tmp_path):
    """FixedOptions(beta=0.5) passes beta=0.5 at every step; equal options give equal checkpoint names (its
    repr names the values, no memory address), other values another name."""
    options = trainer.FixedOptions(beta=0.5)
    assert options(0) == options(99) == {"beta": 0.5}
    assert repr(options) == "FixedOptions(beta=0.5)" and options == trainer.FixedOptions(beta=0.5)
    def path(beta):
        return checkpoint_path(model(), [Stage("s", "mvae", epochs=1, options=trainer.FixedOptions(beta=beta))],
                               tiny_pairs(), tmp_path / "run", 0)
    assert path(0.5) == path(0.5) != path(2.5)


def test_a_dry_run_caps_every_stage_and_is_never_taken_for_a_real_run(tmp_path, monkeypatch):
    """MMVAE_DRY_RUN=N: at most 2 epochs of N steps per stage; its checkpoint has another fingerprint (a real
    run after it trains afresh), and its tables say what it was."""
    import pandas as pd

    from mmvae_lib.reporting.tables import save_table

    stages = [Stage("one", "elbo", epochs=5, batch_size=4), Stage("two", "elbo", epochs=1, batch_size=4)]
    data = tiny_pairs().select([0])

    def vae():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return mnist_svhn_model("vae", 8, "mnist")

    real_path = checkpoint_path(vae(), stages, data, tmp_path / "run", 0)
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, "3")
    history = train(vae(), stages, data, tmp_path / "run", progress=False)
    assert [(h["stage"], h["steps"]) for h in history] == [("one", 3), ("one", 3), ("two", 3)]
    dry_path = checkpoint_path(vae(), stages, data, tmp_path / "run", 0)
    assert dry_path.exists() and dry_path != real_path
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    table = pd.read_csv(save_table(pd.DataFrame({"x": [1.0]}), "smoke", "03_table"))
    assert table["run"][0].startswith("DRY RUN")
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, "two")
    with pytest.raises(ValueError, match="positive integer"):
        trainer.dry_run()
    monkeypatch.delenv(trainer.DRY_RUN_VARIABLE)
    assert len(train(vae(), stages, data, tmp_path / "run", progress=False)) == 6 and real_path.exists()


def test_a_dry_run_steps_at_the_full_batch_size_and_counts_each_stage_s_flops(tmp_path, monkeypatch):
    """Data smaller than a batch (the fixtures a dry run uses): every step still has the stage's batch size
    (items repeated), every epoch exactly N steps (the data cycled through), and each stage's first epoch
    records the FLOPs of one step (what `jobs cost` turns into GPU-hours)."""
    from mmvae_lib.objectives import OBJECTIVES

    data = tiny_pairs().select([0])
    seen = []

    def elbo(model, xs, k, generator, **options):
        seen.append(xs[0].shape[0])
        return OBJECTIVES["elbo"](model, xs, k, generator, **options)

    big = 3 * len(data) + 1
    stages = [Stage("small", elbo, epochs=2, batch_size=4), Stage("big", elbo, epochs=2, batch_size=big)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mnist_svhn_model("vae", 8, "mnist")
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, "5")
    history = train(model, stages, data, tmp_path / "run", progress=False)
    assert [h["steps"] for h in history] == [5, 5, 5, 5] and seen == [4] * 10 + [big] * 10
    assert [h["batch_size"] for h in history] == [4, 4, big, big]
    flops = [h.get("flops_per_step") for h in history]
    assert flops[1] is None and flops[3] is None and 0 < flops[0] < flops[2]
    monkeypatch.delenv(trainer.DRY_RUN_VARIABLE)
    seen.clear()
    history = train(model, stages[:1], data, tmp_path / "real", progress=False)     # a real run: the data as it is
    assert "flops_per_step" not in history[0] and sum(seen) == 2 * len(data)


def test_a_frozen_part_keeps_its_batch_norm_statistics_and_a_trained_one_updates_them(tmp_path, one_thread):
    """A stage that trains only the MHD image decoder: the frozen encoders' batch-norm statistics stay as they were
    (they run in evaluation mode), the trained decoder's move."""
    from mmvae_lib.experiments.mhd.networks import build_model

    model = build_model("mopoe", 0, 4, (4, 4, 4, 4))
    g = torch.Generator().manual_seed(0)
    data = TensorDataset([torch.rand(32, 1, 28, 28, generator=g), torch.rand(32, 200, generator=g),
                          torch.rand(32, 1, 32, 128, generator=g)], key="random mhd")
    frozen = {k: v.clone() for k, v in model.encoders.state_dict().items() if "running" in k}
    trained = {k: v.clone() for k, v in model.decoders[0].state_dict().items() if "running" in k}
    train(model, Stage("decoder", "moe_elbo_linear", epochs=1, batch_size=16, update=("decoders.0",)), data,
          tmp_path / "bn", progress=False)
    assert frozen and all(torch.equal(model.encoders.state_dict()[k], v) for k, v in frozen.items())
    assert trained and not all(torch.equal(model.decoders[0].state_dict()[k], v) for k, v in trained.items())
