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
- **Nothing lost on interruption**: after every epoch a checkpoint (model, optimiser, both generators,
  history, the stage) is written atomically; calling :func:`train` again resumes from the last finished
  epoch, inside any stage, and ends with the same numbers as an uninterrupted run (on CPU); a finished
  run is loaded, not retrained. The checkpoint's name carries a fingerprint of the recipe, the data, the
  architecture, the initial weights and the seed, so a changed run never loads a stale one.
- The history holds per epoch the stage, the mean of ``Estimate.bound`` (never the surrogate, whose value
  need not be the bound), steps and seconds, and whatever ``evaluate(model)`` measured after the epoch.
  A NaN or infinite loss stops training with an error naming the stage, epoch and step.
- Randomness comes from two generators seeded from ``seed`` (data order; latent samples); global random
  state is not used.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.paths import save_atomic


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

    def estimator(self) -> Callable:
        return OBJECTIVES[self.objective] if isinstance(self.objective, str) else self.objective

    def describe(self) -> dict:
        """Everything about the stage that determines the trained weights, as plain data."""
        objective = self.objective if isinstance(self.objective, str) else \
            f"{self.objective.__module__}.{self.objective.__qualname__}"
        return {"name": self.name, "objective": objective, "epochs": self.epochs, "k": self.k,
                "batch_size": self.batch_size, "lr": self.lr, "update": self.update, "options": repr(self.options)}


RECORD_KEYS = ("stage", "epoch", "bound", "steps", "seconds")


def state_digest(model: nn.Module) -> str:
    """A SHA-1 of the model's parameters and buffers, names and bytes: it changes when an initialisation
    changes, which the model's repr does not show."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint_path(model: nn.Module, stages: Sequence[Stage], data, name: str | os.PathLike, seed: int) -> Path:
    """``<name>_<fingerprint>.pt``: the fingerprint hashes the recipe, the data's key, the architecture
    (the model's repr), the model's state before training (:func:`state_digest`: the initialisation, or the
    weights a later stage starts from) and the seed. Call it on the untrained model."""
    fingerprint = json.dumps([[s.describe() for s in stages], data.key, repr(model), state_digest(model), seed],
                             sort_keys=True)
    name = Path(name)
    return name.with_name(f"{name.name}_{hashlib.sha1(fingerprint.encode()).hexdigest()[:10]}.pt")


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
    save_atomic(torch.load(shorter, map_location="cpu", weights_only=True), target)
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


def train(model: nn.Module, stages: Stage | Sequence[Stage], data, checkpoint: str | os.PathLike, *, seed: int = 0,
          device: str | None = None, progress: bool = True, evaluate: Callable | None = None,
          on_epoch_end: Callable | None = None) -> list[dict]:
    """Train ``model`` (in place) through ``stages`` on ``data``, resuming from or loading the checkpoint
    :func:`checkpoint_path` names after ``checkpoint``. Returns the history (one plain dict per epoch);
    the model is left in eval mode on ``device`` (default: CUDA if available).

    ``evaluate(model)``, if given, runs after each epoch (eval mode, no gradients) and returns numbers to
    store in that epoch's record, and so in the checkpoint. It must draw no global randomness (use its own
    generator); training ends with the same weights with or without it. ``on_epoch_end(epoch, history)``
    runs after each epoch's checkpoint is written.
    """
    stages = [stages] if isinstance(stages, Stage) else list(stages)
    if not stages:
        raise ValueError("stages must hold at least one Stage")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    path = checkpoint_path(model, stages, data, checkpoint, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.to(device)
    data_gen = torch.Generator().manual_seed(seed)
    sample_gen = torch.Generator(device).manual_seed(seed + 1)
    history, saved_optimiser = [], None
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        data_gen.set_state(state["data_gen"])
        sample_gen.set_state(state["sample_gen"].to(sample_gen.get_state().device))
        history, saved_optimiser = state["history"], state["optimiser"]

    for index, stage in enumerate(stages):
        done = [h for h in history if h["stage"] == stage.name]
        if len(done) >= stage.epochs:
            continue
        parameters = _updated_parameters(model, stage)
        updated = {id(p) for p in parameters}
        flags = {id(p): p.requires_grad for p in model.parameters()}
        for p in model.parameters():                          # freeze what this stage does not train
            p.requires_grad_(flags[id(p)] and id(p) in updated)
        optimiser = torch.optim.Adam(parameters, lr=stage.lr, amsgrad=True)
        if done and saved_optimiser is not None:              # resuming inside this stage
            optimiser.load_state_dict(saved_optimiser)
        try:
            _run_stage(model, stage, data, optimiser, data_gen, sample_gen, history, path, device, progress,
                       evaluate, on_epoch_end)
        finally:
            for p in model.parameters():
                p.requires_grad_(flags[id(p)])
        saved_optimiser = None
    model.eval()
    return json.loads(json.dumps(history))


def _run_stage(model, stage, data, optimiser, data_gen, sample_gen, history, path, device, progress, evaluate,
               on_epoch_end) -> None:
    estimator = stage.estimator()
    done = [h for h in history if h["stage"] == stage.name]
    steps_done = sum(h["steps"] for h in done)
    n_batches = math.ceil(len(data) / stage.batch_size)
    for stage_epoch in range(len(done), stage.epochs):
        model.train()
        total, count, start = 0.0, 0, time.perf_counter()
        epoch = len(history) + 1
        batches = data.batches(stage.batch_size, shuffle=True, generator=data_gen, device=device)
        bar = tqdm(batches, total=n_batches, desc=f"{stage.name} epoch {stage_epoch + 1}/{stage.epochs}",
                   disable=not progress, leave=False)
        for step, xs in enumerate(bar):
            options = stage.options(steps_done) if stage.options is not None else {}
            estimate = estimator(model, xs, stage.k, sample_gen, **options)
            loss = -estimate.surrogate.mean()
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"{stage.name}: the loss is {loss.item()} at epoch {stage_epoch + 1}, "
                                       f"step {step + 1}; lower the learning rate or check the data")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            steps_done += 1
            total += estimate.bound.sum().item()
            count += estimate.bound.shape[0]
            bar.set_postfix(bound=f"{total / count:.1f}")
        record = {"stage": stage.name, "epoch": epoch, "bound": total / count, "steps": step + 1,
                  "seconds": round(time.perf_counter() - start, 2)}
        if evaluate is not None:
            record.update(_evaluate(evaluate, model))
        history.append(record)
        save_atomic({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                      "data_gen": data_gen.get_state(), "sample_gen": sample_gen.get_state(),
                      "history": history}, path)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)


def _evaluate(evaluate, model) -> dict:
    model.eval()
    with torch.no_grad():
        measured = evaluate(model)
    model.train()
    clash = set(measured) & set(RECORD_KEYS)
    if clash:
        raise ValueError(f"evaluate() returned keys reserved for the training record: {sorted(clash)}")
    return {name: float(value) for name, value in measured.items()}
