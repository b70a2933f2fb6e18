"""Training: one entry point for every MNIST-SVHN model, resumable, with the bound (not the surrogate) logged.

    model, history = train(config, dataset, checkpoint_dir)

- Adam with amsgrad (paper §4); a checkpoint after every epoch (model, optimiser, both generators,
  history), written atomically; calling :func:`train` again with the same config and data resumes from
  the last finished epoch and ends with the same numbers as a run that was never interrupted (on CPU);
  a finished run is loaded, not retrained.
- A progress bar shows the running mean of the bound; a NaN or infinite loss stops training with an
  error naming the epoch and step.
- Randomness comes from two generators seeded from ``config.seed`` (data order, latent samples) and a
  forked global RNG for the weights' initialisation; global random state is left as it was.

Command line, for long GPU runs: ``python -m mmvae_lib.training --model mmvae --profile full --seed 0``.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .estimators import OBJECTIVES
from .networks import mnist_svhn_model
from .profiles import Profile, get_profile

# name → (kind for networks.mnist_svhn_model, single modality or None, which columns of a batch it sees)
MODEL_SETUPS = {
    "mmvae": ("mmvae", None, (0, 1)),
    "mvae": ("mvae", None, (0, 1)),
    "vae_mnist": ("vae", "mnist", (0,)),
    "vae_svhn": ("vae", "svhn", (1,)),
}


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    model: str                  # a key of MODEL_SETUPS
    objective: str              # a key of estimators.OBJECTIVES
    k: int = 1
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    latent_dim: int = 20
    anneal_steps: int = 0       # MVAE only: KL weight rises linearly from 0 to 1 over this many steps

    def __post_init__(self):
        if self.model not in MODEL_SETUPS:
            raise ValueError(f"model must be one of {sorted(MODEL_SETUPS)}, got {self.model!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {self.objective!r}")
        for name in ("k", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.anneal_steps and self.objective != "mvae":
            raise ValueError("anneal_steps (KL annealing) applies to the mvae objective only")

    def tag(self, data_key: str = "") -> str:
        """A file-name-safe identifier of everything that determines the trained weights."""
        digest = hashlib.sha1(json.dumps([dataclasses.asdict(self), data_key], sort_keys=True).encode())
        return f"{self.model}_{self.objective}_k{self.k}_e{self.epochs}_s{self.seed}_{digest.hexdigest()[:10]}"


def paper_config(model: str, profile: Profile | str, seed: int, steps_per_epoch: int | None = None) -> TrainConfig:
    """The configuration the paper's experiment uses for ``model`` under ``profile``.

    MMVAE trains the profile's objective; the single-modality VAEs its single-posterior counterpart
    (dreg for the DReG objectives, elbo for moe_elbo); the MVAE its own objective with K=1 and KL
    annealing over the first third of training (as the MVAE authors anneal).
    """
    profile = get_profile(profile)
    if model not in MODEL_SETUPS:
        raise ValueError(f"model must be one of {sorted(MODEL_SETUPS)}, got {model!r}")
    common = dict(epochs=profile.epochs, batch_size=profile.batch_size, seed=seed)
    if model == "mmvae":
        return TrainConfig(model, profile.objective, k=profile.k, **common)
    if model == "mvae":
        anneal = max(1, (steps_per_epoch or 1) * profile.epochs // 3)
        return TrainConfig(model, "mvae", k=1, anneal_steps=anneal, **common)
    single = "dreg" if "dreg" in profile.objective else ("iwae" if "iwae" in profile.objective else "elbo")
    return TrainConfig(model, single, k=profile.k, **common)


def build_model(config: TrainConfig) -> torch.nn.Module:
    """The untrained model, its weights initialised from ``config.seed`` without touching global RNG."""
    kind, modality, _ = MODEL_SETUPS[config.model]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return mnist_svhn_model(kind, config.latent_dim, modality)


def _save_atomic(state: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _as_plain(obj):
    return json.loads(json.dumps(obj))


_RECORD_KEYS = ("epoch", "bound", "steps", "seconds")


def train(config: TrainConfig, dataset, checkpoint_dir: str | os.PathLike, *, device: str | None = None,
          progress: bool = True, evaluate=None, on_epoch_end=None):
    """Train (or resume, or load) the model of ``config`` on ``dataset`` (a paired MNIST-SVHN dataset with
    ``.batches`` and a ``.key`` naming its contents, which becomes part of the checkpoint's name). Returns
    ``(model, history)``; history is a list of per-epoch dicts with the mean bound.

    ``evaluate(model)``, if given, is called after each epoch (model in eval mode, gradients off) and
    returns a dict of numbers stored in that epoch's record, and so in the checkpoint: measurements taken
    during training survive an interruption. It must not draw from global random state (use its own
    generator); training then ends with the same weights with or without it.
    ``on_epoch_end(epoch, history)`` is called after each epoch's checkpoint is written.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    data_key = dataset.key
    path = Path(checkpoint_dir) / f"{config.tag(data_key)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    _, _, columns = MODEL_SETUPS[config.model]
    estimator = OBJECTIVES[config.objective]

    model = build_model(config).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, amsgrad=True)
    data_gen = torch.Generator().manual_seed(config.seed)
    sample_gen = torch.Generator(device).manual_seed(config.seed + 1)
    history, start_epoch = [], 0
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        data_gen.set_state(state["data_gen"])
        sample_gen.set_state(state["sample_gen"].to(sample_gen.get_state().device))
        history = state["history"]
        start_epoch = len(history)
    steps_done = sum(h["steps"] for h in history)

    for epoch in range(start_epoch, config.epochs):
        model.train()
        total, count, start = 0.0, 0, time.perf_counter()
        batches = dataset.batches(config.batch_size, shuffle=True, generator=data_gen, device=device)
        n_batches = math.ceil(len(dataset) / config.batch_size)
        bar = tqdm(batches, total=n_batches, desc=f"{config.model} epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, leave=False)
        for step, batch in enumerate(bar):
            xs = [batch[c] for c in columns]
            options = {}
            if config.objective == "mvae":
                options["beta"] = min(1.0, (steps_done + 1) / config.anneal_steps) if config.anneal_steps else 1.0
            estimate = estimator(model, xs, config.k, sample_gen, **options)
            loss = -estimate.surrogate.mean()
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"{config.model}: the loss is {loss.item()} at epoch {epoch + 1}, "
                                       f"step {step + 1}; lower the learning rate or check the data")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            steps_done += 1
            total += estimate.bound.sum().item()
            count += estimate.bound.shape[0]
            bar.set_postfix(bound=f"{total / count:.1f}")
        record = {"epoch": epoch + 1, "bound": total / count, "steps": step + 1,
                  "seconds": round(time.perf_counter() - start, 2)}
        if evaluate is not None:
            record.update(_evaluate(evaluate, model))
        history.append(record)
        _save_atomic({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                      "data_gen": data_gen.get_state(), "sample_gen": sample_gen.get_state(),
                      "history": history, "config": dataclasses.asdict(config)}, path)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
    model.eval()
    return model, _as_plain(history)


def _evaluate(evaluate, model) -> dict:
    model.eval()
    with torch.no_grad():
        measured = evaluate(model)
    model.train()
    clash = set(measured) & set(_RECORD_KEYS)
    if clash:
        raise ValueError(f"evaluate() returned keys reserved for the training record: {sorted(clash)}")
    return {name: float(value) for name, value in measured.items()}


def main(argv=None) -> None:
    from .data import load_mnist_svhn
    from .paths import output_dir

    parser = argparse.ArgumentParser(description="Train one MNIST-SVHN model of the paper.")
    parser.add_argument("--model", required=True, choices=sorted(MODEL_SETUPS))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default=None, help="auto, real or standin (default: the profile's)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    # one pairing of the data (seed 0) for every model seed, as the paper trains 5 models on one dataset
    dataset = load_mnist_svhn("train", source=args.source or profile.source, dm=profile.dm, seed=0,
                              max_per_class=profile.max_per_class)
    steps = math.ceil(len(dataset) / profile.batch_size)
    config = paper_config(args.model, profile, args.seed, steps)
    _, history = train(config, dataset, output_dir(profile.name, "checkpoints"), device=args.device)
    print(json.dumps(history[-1]))


if __name__ == "__main__":
    main()
