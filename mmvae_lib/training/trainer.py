"""Training any model, in stages, resumably, with the bound (not the surrogate) logged.

    history = train(model, [Stage("mmvae", "moe_dreg_looser", epochs=30, k=30)], data, checkpoints / "mmvae_s0")

- **The model** is the caller's (built and seeded by them): any :class:`mmvae_lib.models.MultimodalVAE`, or
  any module an objective knows how to score.
- **The data** has ``key`` (a string naming everything that determines its contents), ``len(data)`` and
  ``data.batches(batch_size, shuffle=..., generator=..., device=...)`` yielding one list per batch with one
  tensor per modality (``None`` where a modality is missing); :mod:`mmvae_lib.datasets` has one.
- **A recipe** is a sequence of :class:`Stage`: each with its objective (a name in
  :data:`mmvae_lib.objectives.OBJECTIVES`, or a callable with the same signature
  ``(model, xs, k, generator, **options) -> Estimate``), its epochs, K, batch size and learning rate, the
  parameters it updates (the others are frozen for the stage), and per-step options (KL annealing). Each
  stage starts a fresh Adam with amsgrad (paper §4). JNF trains a joint model, then flows on it.
- **Nothing lost on interruption**: after every epoch, and within an epoch every ``checkpoint_every``
  seconds (5 minutes by default), a checkpoint (model, optimiser, both generators, history, the stage, the
  step) is written atomically; calling :func:`train` again resumes from it, inside any stage and any epoch,
  and ends with the same numbers as an uninterrupted run (on CPU); a finished run is loaded, not retrained.
- **Nothing reused that does not match**: the checkpoint's name carries a fingerprint of everything that
  determines the trained weights (:mod:`mmvae_lib.training.fingerprint`: the recipe, the seed, the data's
  contents, the model's whole configuration and architecture, its initial weights, the precision); a file
  beside it (``.json``) keeps that description, so a run started afresh names what differs from the run
  before it. **Code is not fingerprinted**: after editing a ``forward``, a loss or a data pipeline, pass
  ``retrain=True`` (or set ``MMVAE_RETRAIN``: every checkpoint not made under the same value is retrained;
  ``make paper RETRAIN=1`` sets a new value for its run).
- **Said out loud**: each call prints one line saying whether it loaded a finished run, resumed one (at which
  epoch and step) or started afresh, naming the checkpoint file. An unreadable checkpoint is one error that
  names the file and what to do.
- The history holds per epoch the stage, the mean of ``Estimate.bound`` (never the surrogate, whose value
  need not be the bound), steps and seconds, and whatever ``evaluate(model)`` measured after the epoch.
  A NaN or infinite loss stops training with an error naming the stage, epoch and step.
- Randomness comes from two generators seeded from ``seed`` (data order; latent samples); global random
  state is not used.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from mmvae_lib import precision
from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.paths import REPO_ROOT, save_atomic, save_text
from mmvae_lib.training import fingerprint
from mmvae_lib.training.fingerprint import state_digest  # noqa: F401  (re-exported: callers use it from here)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class KLAnnealing:
    """Per-step options that raise the KL weight ``beta`` linearly from 1/steps to 1 over ``steps`` steps
    (the MVAE's annealing)."""

    steps: int

    def __call__(self, step: int) -> dict:
        return {"beta": min(1.0, (step + 1) / self.steps)}


class FixedOptions:
    """Per-step options that are the same at every step, e.g. ``FixedOptions(beta=0.5)`` (JNF's β-ELBO) or
    ``FixedOptions(temperature=0.1)``. Its repr (part of the checkpoint's fingerprint) names the values."""

    def __init__(self, **values):
        self.values = tuple(sorted(values.items()))

    def __call__(self, step: int) -> dict:
        return dict(self.values)

    def __repr__(self) -> str:
        return "FixedOptions(" + ", ".join(f"{k}={v!r}" for k, v in self.values) + ")"

    def __eq__(self, other) -> bool:
        return isinstance(other, FixedOptions) and self.values == other.values

    def __hash__(self) -> int:
        return hash(self.values)


@dataclass(frozen=True)
class Stage:
    """One stage of a training recipe. ``update``: names of the model's submodules or parameters this stage
    trains (``None``: all); every other parameter is frozen for the stage. ``options(step)`` gives extra
    keyword arguments for the objective at each step of the stage (e.g. :class:`KLAnnealing`)."""

    name: str
    objective: str | Callable
    epochs: int
    k: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    update: tuple[str, ...] | None = None
    options: Callable[[int], dict] | None = None
    precision: str = "fp32"         # or "bf16": the networks under bfloat16 autocast (mmvae_lib.precision)

    def __post_init__(self):
        if isinstance(self.objective, str) and self.objective not in OBJECTIVES:
            raise ValueError(f"stage {self.name!r}: objective must be one of {sorted(OBJECTIVES)} or a callable, "
                             f"got {self.objective!r}")
        if not isinstance(self.objective, str) and not callable(self.objective):
            raise ValueError(f"stage {self.name!r}: objective must be a name or a callable, got {self.objective!r}")
        for field in ("epochs", "k", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"stage {self.name!r}: {field} must be an integer >= 1, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"stage {self.name!r}: lr must be positive, got {self.lr!r}")
        if self.precision not in precision.PRECISIONS:
            raise ValueError(f"stage {self.name!r}: precision must be one of {precision.PRECISIONS}, "
                             f"got {self.precision!r}")

    def estimator(self) -> Callable:
        return OBJECTIVES[self.objective] if isinstance(self.objective, str) else self.objective

    def describe(self) -> dict:
        """Everything about the stage that determines the trained weights, as plain data."""
        objective = self.objective if isinstance(self.objective, str) else \
            f"{self.objective.__module__}.{self.objective.__qualname__}"
        described = {"name": self.name, "objective": objective, "epochs": self.epochs, "k": self.k,
                     "batch_size": self.batch_size, "lr": self.lr, "update": self.update, "options": repr(self.options)}
        if self.precision != "fp32":            # only then: fp32 runs made before the option keep their checkpoints
            described["precision"] = self.precision
        return described


def stage_steps(stages: Sequence[Stage], n: int) -> tuple[tuple[str, int], ...]:
    """Each stage's name and the optimiser steps it takes on ``n`` training points (every epoch a pass in
    batches)."""
    return tuple((stage.name, stage.epochs * math.ceil(n / stage.batch_size)) for stage in stages)


def recipe_steps(stages: Sequence[Stage], n: int) -> int:
    """The optimiser steps ``stages`` take on ``n`` training points."""
    return sum(steps for _, steps in stage_steps(stages, n))


DRY_RUN_VARIABLE = "MMVAE_DRY_RUN"
DRY_RUN_EPOCHS = 2


def dry_run() -> int | None:
    """The steps per epoch of a dry run, or ``None``: ``MMVAE_DRY_RUN=N`` trains every stage of every run for
    :data:`DRY_RUN_EPOCHS` epochs of ``N`` steps, to prove a profile's whole path (``full`` on files in the real
    formats) in minutes. Every step has the stage's full batch size (small data is cycled through, and a batch
    larger than the data repeats its items: :func:`_full_batches`), so that the dry run meets the real run's
    shapes and memory and times its steps (``seconds`` per epoch; the FLOPs and an estimate of the device
    memory of the first step of each stage, :class:`_StepCost`); :mod:`mmvae_lib.jobs` ``cost`` reads them. Evaluation sizes
    shrink too (:func:`mmvae_lib.profiles.dry_run_sizes`). The dry run is in the checkpoint's fingerprint, so its
    weights are never loaded by a real run; the manifest and every table and figure say that it was a dry run."""
    value = os.environ.get(DRY_RUN_VARIABLE, "").strip()
    if not value or value == "0":
        return None
    if not value.isdigit():
        raise ValueError(f"{DRY_RUN_VARIABLE} is the steps per epoch of a dry run (a positive integer), got {value!r}")
    return int(value)


def dry_run_label() -> str | None:
    """How tables, figures and the manifest name a dry run, or ``None`` outside one."""
    steps = dry_run()
    return None if steps is None else (f"DRY RUN ({DRY_RUN_VARIABLE}={steps}: at most {DRY_RUN_EPOCHS} epochs of "
                                       f"{steps} steps per stage; not a result)")


RECORD_KEYS = ("stage", "epoch", "bound", "steps", "seconds")
CHECKPOINT_SECONDS = 300.0      # within an epoch, a checkpoint at most this often (README, "Checkpoints")
RETRAIN_VARIABLE = "MMVAE_RETRAIN"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read (truncated, or written by an incompatible version)."""


def checkpoint_path(model: nn.Module, stages: Sequence[Stage], data, name: str | os.PathLike, seed: int) -> Path:
    """``<name>_<fingerprint>.pt``, the fingerprint of :func:`mmvae_lib.training.fingerprint.describe_run`
    (the recipe, the seed, the data's contents, the model's configuration, architecture and state before
    training, the precision). Call it on the untrained model."""
    return _named(name, fingerprint.fingerprint(_described(model, list(stages), data, seed)[1]))


def _described(model: nn.Module, stages: list[Stage], data, seed: int) -> tuple[list[Stage], dict]:
    """The stages a run trains (capped in a dry run, :func:`dry_run`) and its description for the fingerprint."""
    cap = dry_run()
    if cap is not None:
        stages = [replace(stage, epochs=min(stage.epochs, DRY_RUN_EPOCHS)) for stage in stages]
    description = fingerprint.describe_run(model, stages, data, seed)
    if cap is not None:
        description["dry_run"] = {"epochs": DRY_RUN_EPOCHS, "steps_per_epoch": cap}
    return stages, description


def _named(name: str | os.PathLike, digest: str) -> Path:
    name = Path(name)
    return name.with_name(f"{name.name}_{digest}.pt")


def description_path(checkpoint: Path) -> Path:
    """Where the description of what made ``checkpoint`` is kept (JSON, beside it)."""
    return Path(checkpoint).with_suffix(".json")


def load_checkpoint(path: str | os.PathLike, device="cpu") -> dict:
    """A checkpoint's contents, or one :class:`CheckpointError` that names the file and what to do."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:                     # torch's zip reader, the unpickler, EOF: one message instead
        text = str(err).strip()
        reason = f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__
        raise CheckpointError(_unreadable(path, reason)) from None
    missing = [key for key in ("model", "optimiser", "data_gen", "sample_gen", "history")
               if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(_unreadable(path, f"it lacks {missing}: written by another version?"))
    return state


def _unreadable(path, reason: str) -> str:
    return (f"cannot read the checkpoint {path} ({reason}). Delete the file to train afresh, or pass "
            f"retrain=True (for a paper run: make paper RETRAIN=1)")


def continue_from_shorter(model: nn.Module, stages: Sequence[Stage], data, name: str | os.PathLike, seed: int,
                          shorter_epochs: int) -> Path | None:
    """Let a run whose last stage is longer start where a finished run of the same recipe with that stage
    ``shorter_epochs`` long ended: copy that run's checkpoint to the name of ``stages`` (:func:`checkpoint_path`,
    called on the untrained ``model``), unless the longer run has a checkpoint already. :func:`train` then
    resumes it after epoch ``shorter_epochs`` of the last stage. That equals an uninterrupted longer run,
    because nothing an epoch computes depends on how many epochs its stage has (per-step options take the
    step count). Returns the checkpoint copied from, or ``None`` (nothing to copy, or nothing needed)."""
    stages = list(stages)
    if not stages or not 1 <= shorter_epochs < stages[-1].epochs:
        raise ValueError(f"shorter_epochs must be between 1 and the last stage's {stages[-1].epochs if stages else 0} "
                         f"epochs (exclusive), got {shorter_epochs!r}")
    target = checkpoint_path(model, stages, data, name, seed)
    shorter = checkpoint_path(model, stages[:-1] + [replace(stages[-1], epochs=shorter_epochs)], data, name, seed)
    if target.exists() or not shorter.exists():
        return None
    state = load_checkpoint(shorter)
    if state.get("partial") is not None:           # the shorter run stopped inside an epoch: not finished
        return None
    save_atomic(state, target)
    return shorter


def _updated_parameters(model: nn.Module, stage: Stage) -> list[nn.Parameter]:
    if stage.update is None:
        return list(model.parameters())
    names = dict(model.named_parameters())
    chosen = [p for n, p in names.items() if any(n == u or n.startswith(u + ".") for u in stage.update)]
    unknown = [u for u in stage.update if not any(n == u or n.startswith(u + ".") for n in names)]
    if unknown:
        raise ValueError(f"stage {stage.name!r} updates {unknown}, which name no parameter of the model")
    return chosen


def _train_mode(model: nn.Module) -> None:
    """``model`` in training mode, except the parts this stage freezes (every module with parameters, none of
    them trained): those in evaluation mode, so that a frozen part stays the function it was. Batch norm in
    training mode would otherwise renormalise with each batch and overwrite its running statistics (JNF's second
    stage reads its frozen joint encoder on every step), and dropout would draw."""
    model.train()
    for module in model.modules():
        parameters = list(module.parameters())
        if parameters and not any(p.requires_grad for p in parameters):
            module.eval()


def retrain_token() -> str | None:
    """``$MMVAE_RETRAIN`` when it asks for retraining (set, and not 0), else ``None``."""
    value = os.environ.get(RETRAIN_VARIABLE, "").strip()
    return None if value in ("", "0") else value


def train(model: nn.Module, stages: Stage | Sequence[Stage], data, checkpoint: str | os.PathLike, *, seed: int = 0,
          device: str | None = None, progress: bool = True, evaluate: Callable | None = None,
          on_epoch_end: Callable | None = None, retrain: bool = False,
          checkpoint_every: float | None = CHECKPOINT_SECONDS, verbose: bool = True) -> list[dict]:
    """Train ``model`` (in place) through ``stages`` on ``data``, resuming from or loading the checkpoint
    :func:`checkpoint_path` names after ``checkpoint``. Returns the history (one plain dict per epoch);
    the model is left in eval mode on ``device`` (default: CUDA if available).

    A checkpoint is reused only when everything that determines the weights is the same (the module's
    docstring), **except the code**, which is not fingerprinted: after editing a network's ``forward``, an
    objective or how the data are made, pass ``retrain=True``, which trains afresh and replaces this run's
    checkpoint. The environment variable ``MMVAE_RETRAIN`` (any value but 0) retrains every checkpoint not
    made under that same value, so that within one paper run each model is trained once
    (``make paper RETRAIN=1`` sets a new value for its run). ``checkpoint_every``: seconds between
    checkpoints within an epoch (``None``: at the ends of epochs only). ``verbose``: print the one line that
    says what was done (loaded, resumed, started afresh), naming the checkpoint.

    ``evaluate(model)``, if given, runs after each epoch (eval mode, no gradients) and returns numbers to
    store in that epoch's record, and so in the checkpoint. It must draw no global randomness (use its own
    generator); training ends with the same weights with or without it. ``on_epoch_end(epoch, history)``
    runs after each epoch's checkpoint is written.
    """
    stages = [stages] if isinstance(stages, Stage) else list(stages)
    if not stages:
        raise ValueError("stages must hold at least one Stage")
    say = print if verbose else (lambda line: None)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    stages, description = _described(model, stages, data, seed)
    path = _named(checkpoint, fingerprint.fingerprint(description))
    path.parent.mkdir(parents=True, exist_ok=True)
    model.to(device)
    data_gen = torch.Generator().manual_seed(seed)
    sample_gen = torch.Generator(device).manual_seed(seed + 1)
    token = retrain_token()
    total_epochs = sum(s.epochs for s in stages)
    history, saved_optimiser, partial = [], None, None

    state = None
    if path.exists() and retrain:
        say(f"train: retraining {_shown(path)} (retrain=True); the file is replaced")
    elif path.exists():
        state = load_checkpoint(path, device)
        if token is not None and state.get("retrain_token") != token:
            say(f"train: retraining {_shown(path)} ({RETRAIN_VARIABLE}={token}, not the value it was made under); "
                f"the file is replaced")
            state = None
    else:
        say(_started_afresh(path, checkpoint, description))
    if state is not None:
        model.load_state_dict(state["model"])
        data_gen.set_state(state["data_gen"])
        sample_gen.set_state(state["sample_gen"].to(sample_gen.get_state().device))
        history, saved_optimiser, partial = state["history"], state["optimiser"], state.get("partial")
        if len(history) >= total_epochs:
            say(f"train: loaded the finished run {_shown(path)} (epoch {len(history)} of {total_epochs})")
        elif partial is not None:
            batches = math.ceil(len(data) / next(s for s in stages if s.name == partial["stage"]).batch_size)
            say(f"train: resumed {_shown(path)} inside epoch {len(history) + 1} of {total_epochs}, after its step "
                f"{partial['step']} of {batches}")
        else:
            say(f"train: resumed {_shown(path)} after epoch {len(history)} of {total_epochs}")
    if state is None or not description_path(path).exists():
        save_text(json.dumps(description, indent=1, sort_keys=True) + "\n", description_path(path))
    saver = _Saver(path, data_gen, sample_gen, history, token, checkpoint_every)

    for stage in stages:
        done = [h for h in history if h["stage"] == stage.name]
        if len(done) >= stage.epochs:
            continue
        parameters = _updated_parameters(model, stage)
        updated = {id(p) for p in parameters}
        flags = {id(p): p.requires_grad for p in model.parameters()}
        for p in model.parameters():                          # freeze what this stage does not train
            p.requires_grad_(flags[id(p)] and id(p) in updated)
        optimiser = torch.optim.Adam(parameters, lr=stage.lr, amsgrad=True)
        inside = partial if partial is not None and partial["stage"] == stage.name else None
        if (done or inside is not None) and saved_optimiser is not None:   # resuming inside this stage
            optimiser.load_state_dict(saved_optimiser)
        try:
            _run_stage(model, stage, data, optimiser, saver, inside, device, progress, evaluate, on_epoch_end)
        finally:
            for p in model.parameters():
                p.requires_grad_(flags[id(p)])
        saved_optimiser, partial = None, None
    model.eval()
    return json.loads(json.dumps(history))


def _shown(path: Path) -> str:
    """A checkpoint's path as messages show it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _started_afresh(path: Path, name, description: dict) -> str:
    """The line for a run started afresh: which other run of the same name it does not reuse, and why."""
    others = fingerprint.sibling_checkpoints(name, path)
    if not others:
        return f"train: started {_shown(path)} afresh"
    other = others[0]
    try:
        old = json.loads(description_path(other).read_text())
        changed = "; ".join(fingerprint.differences(old, description))
    except (OSError, ValueError):
        changed = "made before runs were described: what differs is unknown"
    older = f" (and {len(others) - 1} older)" if len(others) > 1 else ""
    return (f"train: started {_shown(path)} afresh; {other.name}{older} holds another run of the same name "
            f"({changed}), left as it is")


class _Saver:
    """Writes the run's checkpoint: at the end of each epoch, and inside one when ``every`` seconds have
    passed since the last write. A checkpoint inside an epoch (``partial``) keeps the step reached, the
    running sums and the data generator's state at the start of the epoch (its order is drawn from it)."""

    def __init__(self, path, data_gen, sample_gen, history, token, every):
        self.path, self.data_gen, self.sample_gen, self.history = path, data_gen, sample_gen, history
        self.token, self.every, self.last = token, every, time.monotonic()

    def due(self) -> bool:
        return self.every is not None and time.monotonic() - self.last >= self.every

    def save(self, model, optimiser, partial: dict | None = None) -> None:
        save_atomic({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                     "data_gen": self.data_gen.get_state(), "sample_gen": self.sample_gen.get_state(),
                     "history": self.history, "partial": partial, "retrain_token": self.token}, self.path)
        self.last = time.monotonic()


def _run_stage(model, stage, data, optimiser, saver, partial, device, progress, evaluate, on_epoch_end) -> None:
    estimator = stage.estimator()
    used = precision.effective(stage.precision, device)     # bf16 only where the device computes in it
    history, data_gen, sample_gen = saver.history, saver.data_gen, saver.sample_gen
    done = [h for h in history if h["stage"] == stage.name]
    steps_done = sum(h["steps"] for h in done)
    n_batches = math.ceil(len(data) / stage.batch_size) if dry_run() is None else dry_run()
    for stage_epoch in range(len(done), stage.epochs):
        _train_mode(model)
        total, count, skip, earlier = 0.0, 0, 0, 0.0
        if partial is not None:             # resuming inside this epoch: its order, then past the steps done
            data_gen.set_state(partial["data_gen_epoch_start"])
            total, count, skip, earlier = partial["total"], partial["count"], partial["step"], partial["seconds"]
            steps_done, partial = partial["steps_done"], None
        epoch_start = data_gen.get_state()
        start = time.perf_counter()
        epoch = len(history) + 1
        batches = (data.batches(stage.batch_size, shuffle=True, generator=data_gen, device=device)
                   if dry_run() is None else _full_batches(data, stage.batch_size, data_gen, device))
        bar = tqdm(itertools.islice(batches, skip, n_batches), total=n_batches, initial=skip,
                   desc=f"{stage.name} epoch {stage_epoch + 1}/{stage.epochs}", disable=not progress, leave=False)
        step, measured = skip - 1, None
        for step, xs in enumerate(bar, start=skip):
            options = stage.options(steps_done) if stage.options is not None else {}
            counting = dry_run() is not None and stage_epoch == 0 and step == 0
            with _StepCost(model) if counting else contextlib.nullcontext() as cost:
                with precision.autocast(used, device):          # the backward pass runs outside it
                    estimate = estimator(model, xs, stage.k, sample_gen, **options)
                loss = -precision.widened(estimate.surrogate).mean()
                if not torch.isfinite(loss):
                    raise TrainingDiverged(f"{stage.name}: the loss is {loss.item()} at epoch {stage_epoch + 1}, "
                                           f"step {step + 1}; lower the learning rate or check the data")
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
            if counting:
                measured = cost.measured()
            steps_done += 1
            total += estimate.bound.sum().item()
            count += estimate.bound.shape[0]
            bar.set_postfix(bound=f"{total / count:.1f}")
            if step + 1 < n_batches and saver.due():
                saver.save(model, optimiser, {"stage": stage.name, "step": step + 1, "total": total, "count": count,
                                              "seconds": earlier + time.perf_counter() - start,
                                              "steps_done": steps_done, "data_gen_epoch_start": epoch_start})
        record = {"stage": stage.name, "epoch": epoch, "bound": total / count, "steps": step + 1,
                  "seconds": round(earlier + time.perf_counter() - start, 2)}
        if stage.precision != "fp32":
            record["precision"] = used                  # what the stage asked for is in the fingerprint
        if dry_run() is not None:
            record.update(batch_size=stage.batch_size, **(measured or {}))
        if evaluate is not None:
            record.update(_evaluate(evaluate, model))
        history.append(record)
        saver.save(model, optimiser)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)


class _StepCost:
    """What one training step costs, for a dry run: its FLOPs (``torch.utils.flop_counter``) and an estimate of
    the memory it needs on a device: the bytes of the tensors autograd saves for the backward pass (the
    activations; each storage once, the parameters' own left out) plus five copies of the trained parameters
    (weights, gradients, and Adam's two moments and amsgrad's maximum) and one of the frozen ones."""

    def __init__(self, model: nn.Module):
        self.model, self.flops, self.storages = model, FlopCounterMode(display=False), {}
        self.parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def _pack(self, tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in self.parameters:
            self.storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    def __enter__(self):
        self.hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor)
        self.flops.__enter__()
        self.hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self.hooks.__exit__(*exc)
        return self.flops.__exit__(*exc)

    def measured(self) -> dict:
        sizes = [(p.numel() * p.element_size(), p.requires_grad) for p in self.model.parameters()]
        parameters = sum(5 * size if trained else size for size, trained in sizes)
        return {"flops_per_step": self.flops.get_total_flops(), "memory_bytes": sum(self.storages.values()) + parameters}


def _full_batches(data, batch_size: int, generator: torch.Generator, device):
    """A dry run's batches: the data's own, in its shuffled order, endlessly, each made ``batch_size`` long
    (items repeated where the data holds fewer), so that every step has the real run's shapes."""
    while True:
        for xs in data.batches(batch_size, shuffle=True, generator=generator, device=device):
            yield [_repeated(x, batch_size) for x in xs]


def _repeated(x, size: int):
    if isinstance(x, (list, tuple)):
        return type(x)(_repeated(part, size) for part in x)
    if x is None or len(x) >= size:
        return x
    return x[torch.arange(size, device=x.device) % len(x)]


def _evaluate(evaluate, model) -> dict:
    model.eval()
    with torch.no_grad():
        measured = evaluate(model)
    model.train()
    clash = set(measured) & set(RECORD_KEYS)
    if clash:
        raise ValueError(f"evaluate() returned keys reserved for the training record: {sorted(clash)}")
    return {name: float(value) for name, value in measured.items()}
