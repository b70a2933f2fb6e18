"""mmvae_lib.training.fingerprint and the trainer's reuse of checkpoints: a checkpoint is reused only when
everything that made it is the same (configuration, architecture, data contents, recipe, seed, initial
weights), every load, resume and fresh start is said in one line, an unreadable checkpoint is one clear
error, and a run interrupted inside an epoch resumes bit for bit."""
from dataclasses import replace

import pytest
import torch
from torch import nn

from mmvae_lib.datasets import TensorDataset
from mmvae_lib.models import MMVAE, Likelihood, Modality, Prior
from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.training import Stage, checkpoint_path, train
from mmvae_lib.training import fingerprint, trainer

D = 3


class Encoder(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.body = nn.Linear(size, 2 * D)

    def forward(self, x):
        return self.body(x).chunk(2, dim=-1)


def networks(sizes=(6, 5)):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return [Encoder(s) for s in sizes], [nn.Linear(D, s) for s in sizes]


def tiny_model(**changes) -> MMVAE:
    """A two-modality MMVAE on vectors; ``changes`` override its constructor's arguments."""
    arguments = dict(likelihoods=[Likelihood("laplace", 0.75), Likelihood("normal", 1.0)], latent_dim=D)
    arguments.update(changes)
    encoders, decoders = networks()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return MMVAE(encoders, decoders, **arguments)


def tiny_data(n=24, seed=0, key="tiny vectors") -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset([torch.randn(n, 6, generator=g), torch.randn(n, 5, generator=g)], key=key,
                         labels=torch.arange(n) % 3)


STAGE = Stage("mmvae", "moe_elbo", epochs=2, batch_size=8)


def counting(monkeypatch, name="moe_elbo"):
    """Count the objective's calls (the training steps taken) without changing what it computes."""
    calls = {"n": 0}
    real = OBJECTIVES[name]

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setitem(OBJECTIVES, name, counted)
    return calls


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


CONFIGURATION_CHANGES = {
    "likelihood scale": dict(likelihoods=[Likelihood("laplace", 0.5), Likelihood("normal", 1.0)]),
    "likelihood family": dict(likelihoods=[Likelihood("normal", 0.75), Likelihood("normal", 1.0)]),
    "posterior family": dict(posterior="normal"),
    "scale function": dict(scale="softplus"),
    "prior not learnt": dict(prior=Prior(D, family="laplace", learnable=False)),
    "prior family": dict(prior=Prior(D, family="normal")),
    "llik_scaling": dict(llik_scaling=[2.0, 1.0]),
    "modalities' specs": dict(modalities=[Modality("a", (6,)), Modality("b", (5,))]),
    "modalities' value range": dict(modalities=[Modality("x0", (6,), value_range=(-50, 50)), "x1"]),
}


@pytest.mark.parametrize("change", sorted(CONFIGURATION_CHANGES))
def test_each_configuration_field_changes_the_checkpoint_and_retrains(tmp_path, monkeypatch, capsys, change):
    """Changing any one of the model's constructor arguments (none of which the model's repr prints) and
    calling train again trains afresh instead of returning the old weights, and says what differs."""
    data = tiny_data()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    capsys.readouterr()
    calls = counting(monkeypatch)
    changed = tiny_model(**CONFIGURATION_CHANGES[change])
    assert checkpoint_path(changed, [STAGE], data, tmp_path / "run", 0) != \
        checkpoint_path(tiny_model(), [STAGE], data, tmp_path / "run", 0)
    train(changed, STAGE, data, tmp_path / "run", progress=False)
    assert calls["n"] == 2 * 3                          # two epochs of three batches: trained, not loaded
    line = capsys.readouterr().out.strip()
    assert line.startswith("train: started") and "afresh" in line and "holds another run of the same name" in line
    assert "model." in line and "left as it is" in line
    assert len(list(tmp_path.glob("run_*.pt"))) == 2    # the old checkpoint is left alone


def test_the_message_names_what_differs(tmp_path, capsys):
    """A changed batch size and a changed likelihood scale are named with their old and new values."""
    data = tiny_data()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    capsys.readouterr()
    train(tiny_model(), replace(STAGE, batch_size=12), data, tmp_path / "run", progress=False)
    assert "recipe[0].batch_size: 8 → 12" in capsys.readouterr().out
    train(tiny_model(likelihoods=[Likelihood("laplace", 0.5), Likelihood("normal", 1.0)]), STAGE, data,
          tmp_path / "other", progress=False)
    capsys.readouterr()


def test_changed_data_under_the_same_key_retrains(tmp_path, monkeypatch, capsys):
    """The same key over other contents (one value changed in place, or other tensors) is another run."""
    data = tiny_data()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    first = checkpoint_path(tiny_model(), [STAGE], data, tmp_path / "run", 0)
    with torch.no_grad():
        data.modalities[0][0, 0] += 1.0                  # in place: the tensor's version counter moves
    assert checkpoint_path(tiny_model(), [STAGE], data, tmp_path / "run", 0) != first
    other = tiny_data(seed=1)                            # same key, other tensors
    assert checkpoint_path(tiny_model(), [STAGE], other, tmp_path / "run", 0) != first
    capsys.readouterr()
    calls = counting(monkeypatch)
    train(tiny_model(), STAGE, other, tmp_path / "run", progress=False)
    assert calls["n"] == 6
    assert "data.contents:" in capsys.readouterr().out


def test_recipe_seed_and_initial_weights_change_the_checkpoint(tmp_path):
    data, name = tiny_data(), tmp_path / "run"
    base = checkpoint_path(tiny_model(), [STAGE], data, name, 0)
    reinitialised = tiny_model()
    with torch.no_grad():
        reinitialised.decoders[0].weight.mul_(0.5)
    others = [checkpoint_path(tiny_model(), [replace(STAGE, lr=5e-4)], data, name, 0),
              checkpoint_path(tiny_model(), [replace(STAGE, k=2)], data, name, 0),
              checkpoint_path(tiny_model(), [STAGE, Stage("more", "moe_elbo", epochs=1)], data, name, 0),
              checkpoint_path(tiny_model(), [STAGE], data, name, 1),
              checkpoint_path(reinitialised, [STAGE], data, name, 0),
              checkpoint_path(tiny_model().double(), [STAGE], data, name, 0)]   # the precision
    assert len({base, *others}) == 1 + len(others)
    assert checkpoint_path(tiny_model(), [STAGE], data, name, 0) == base


def test_an_argument_added_to_a_model_class_enters_the_fingerprint_by_itself():
    """A model class that gains a constructor argument (stored as an attribute, as any argument that
    matters is) gets fingerprints that follow it, with no change to the fingerprint code."""

    class Tempered(MMVAE):
        def __init__(self, *args, temperature: float = 1.0, **kwargs):
            super().__init__(*args, **kwargs)
            self.temperature = temperature

    def build(temperature):
        encoders, decoders = networks()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return Tempered(encoders, decoders, [Likelihood(), Likelihood()], latent_dim=D, temperature=temperature)

    describe = fingerprint.describe
    assert describe(build(1.0)) == describe(build(1.0))
    assert describe(build(1.0)) != describe(build(0.5))
    assert fingerprint.differences(describe(build(1.0)), describe(build(0.5))) == ["temperature: 1.0 → 0.5"]
    assert repr(build(1.0)) == repr(build(0.5))          # what the old fingerprint saw: no difference


def test_descriptions_hold_no_memory_addresses_and_are_plain_data():
    """Objects without attributes of their own are described by their type, never by a repr with an address
    (which would change the fingerprint in every process)."""
    model = tiny_model()
    model.marker = object()
    model.callback = lambda z: z
    text = repr(fingerprint.describe(model))
    assert " at 0x" not in text
    assert fingerprint.describe(model)["marker"] == {"object": "builtins.object"}


def test_messages_for_loaded_and_resumed_runs(tmp_path, capsys, one_thread):
    data = tiny_data()
    def stop(epoch, history):
        raise Interrupt

    with pytest.raises(Interrupt):
        train(tiny_model(), STAGE, data, tmp_path / "run", progress=False, on_epoch_end=stop)
    path = checkpoint_path(tiny_model(), [STAGE], data, tmp_path / "run", 0)
    assert capsys.readouterr().out == f"train: started {path} afresh\n"
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    assert capsys.readouterr().out == f"train: resumed {path} after epoch 1 of 2\n"
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    assert capsys.readouterr().out == f"train: loaded the finished run {path} (epoch 2 of 2)\n"
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False, verbose=False)
    assert capsys.readouterr().out == ""


def test_retrain_forces_training_and_the_environment_variable_retrains_once_per_value(tmp_path, monkeypatch,
                                                                                       capsys):
    """retrain=True trains again over a finished run; MMVAE_RETRAIN=<value> retrains a checkpoint made under
    no value or another one, and loads one made under the same value (one paper run trains each model once)."""
    data = tiny_data()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    calls = counting(monkeypatch)
    capsys.readouterr()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False, retrain=True)
    assert calls["n"] == 6 and "retraining" in capsys.readouterr().out
    monkeypatch.setenv("MMVAE_RETRAIN", "run-1")
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    assert calls["n"] == 12 and "MMVAE_RETRAIN=run-1" in capsys.readouterr().out
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    assert calls["n"] == 12 and "loaded the finished run" in capsys.readouterr().out
    monkeypatch.setenv("MMVAE_RETRAIN", "0")
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False)
    assert calls["n"] == 12


@pytest.mark.parametrize("damage", ["truncated", "empty", "not a checkpoint", "foreign dict"])
def test_an_unreadable_checkpoint_is_one_clear_error(tmp_path, damage):
    """A truncated or foreign checkpoint gives one error naming the file and the two ways out, not torch's
    zip-reader message inside a traceback; retrain=True then trains over it."""
    data = tiny_data()
    train(tiny_model(), STAGE, data, tmp_path / "run", progress=False, verbose=False)
    path = checkpoint_path(tiny_model(), [STAGE], data, tmp_path / "run", 0)
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "not a checkpoint":
        path.write_text("hello")
    else:
        torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(trainer.CheckpointError) as caught:
        train(tiny_model(), STAGE, data, tmp_path / "run", progress=False, verbose=False)
    message = str(caught.value)
    assert str(path) in message and "Delete the file" in message and "retrain=True" in message
    assert caught.value.__cause__ is None and (caught.value.__context__ is None or caught.value.__suppress_context__)
    assert "\n" not in message
    retrained = tiny_model()
    train(retrained, STAGE, data, tmp_path / "run", progress=False, verbose=False, retrain=True)
    again = tiny_model()
    train(again, STAGE, data, tmp_path / "run", progress=False, verbose=False)
    assert same_weights(retrained, again)


class Interrupt(Exception):
    pass


def interrupt_at_call(monkeypatch, objective, n):
    """Make the objective raise at its n-th call (inside an epoch), after the calls before it ran normally."""
    real, calls = OBJECTIVES[objective], {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise Interrupt
        return real(*args, **kwargs)

    monkeypatch.setitem(OBJECTIVES, objective, interrupted)


@pytest.mark.parametrize("stop_at", [5, 8])     # the 5th step: epoch 2, step 2; the 8th: stage 2's epoch 1, step 2
def test_a_run_interrupted_inside_an_epoch_resumes_bit_for_bit(tmp_path, monkeypatch, capsys, one_thread, stop_at):
    """With checkpoints inside epochs, a run stopped in the middle of an epoch resumes at the step it
    reached (its batches in the same order, the same latent samples) and ends with the same weights and
    the same logged bounds as an uninterrupted run; the epoch's record counts all its steps."""
    recipe = [Stage("joint", "moe_elbo", epochs=2, batch_size=8),
              Stage("dreg", "moe_dreg_looser", epochs=2, k=2, batch_size=8, lr=5e-4, update=("encoders.0",))]
    data = tiny_data()
    straight = tiny_model()
    history = train(straight, recipe, data, tmp_path / "a" / "run", progress=False, verbose=False)
    objective = "moe_elbo" if stop_at <= 6 else "moe_dreg_looser"
    with monkeypatch.context() as patch:
        interrupt_at_call(patch, objective, stop_at if stop_at <= 6 else stop_at - 6)
        with pytest.raises(Interrupt):
            train(tiny_model(), recipe, data, tmp_path / "b" / "run", progress=False, checkpoint_every=0)
    saved = torch.load(checkpoint_path(tiny_model(), recipe, data, tmp_path / "b" / "run", 0), weights_only=True)
    assert saved["partial"]["step"] == 1
    capsys.readouterr()
    joint_calls, dreg_calls = counting(monkeypatch, "moe_elbo"), counting(monkeypatch, "moe_dreg_looser")
    resumed = tiny_model()
    resumed_history = train(resumed, recipe, data, tmp_path / "b" / "run", progress=False)
    assert joint_calls["n"] + dreg_calls["n"] == 12 - (stop_at - 1)        # no step done twice
    epoch = 2 if stop_at <= 6 else 3
    assert f"inside epoch {epoch} of 4, after its step 1 of 3" in capsys.readouterr().out
    assert same_weights(straight, resumed)
    assert [h["bound"] for h in history] == [h["bound"] for h in resumed_history]
    assert [h["steps"] for h in resumed_history] == [3, 3, 3, 3]
    assert resumed_history[epoch - 1]["stage"] == ("joint" if epoch == 2 else "dreg")


def test_checkpoints_inside_an_epoch_follow_the_interval(tmp_path, monkeypatch):
    """checkpoint_every=None writes only at the ends of epochs; 0 after every step but an epoch's last."""
    writes = []
    real = trainer.save_atomic
    monkeypatch.setattr(trainer, "save_atomic", lambda obj, path: (writes.append(obj["partial"]), real(obj, path)))
    train(tiny_model(), STAGE, tiny_data(), tmp_path / "a", progress=False, verbose=False, checkpoint_every=None)
    assert writes == [None, None]
    writes.clear()
    train(tiny_model(), STAGE, tiny_data(), tmp_path / "b", progress=False, verbose=False, checkpoint_every=0)
    assert [w and w["step"] for w in writes] == [1, 2, None, 1, 2, None]


def test_data_digest_is_cached_and_follows_in_place_changes():
    data = tiny_data()
    first = fingerprint.data_digest(data)
    assert fingerprint.data_digest(tiny_data()) == first          # the same contents in other tensors
    data.labels[0] = 2
    assert fingerprint.data_digest(data) != first
    assert fingerprint.data_digest(tiny_data(key="another key")) != first   # the key is part of the contents
