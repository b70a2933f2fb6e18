"""The MHD experiment per profile: its data, its three baselines (MMVAE, MVAE, MoPoE) and their recipes on the
model-agnostic trainer, its judges. JNF and JNF-Shared on the same data are :mod:`mmvae_lib.experiments.mhd.jnf`.

Models are trained once per (profile, model, seed) and cached under ``outputs/<profile>/checkpoints``
(``mhd_<model>_s<seed>``); independent runs train in parallel one-thread worker processes.

Command line: ``python -m mmvae_lib.experiments.mhd.experiment --model mopoe --profile full --seed 0``.
"""
from __future__ import annotations

import math

from torch import nn

from mmvae_lib.experiments.mhd.classifiers import BATCH_SIZE as JUDGE_BATCH
from mmvae_lib.experiments.mhd.classifiers import digit_classifier
from mmvae_lib.experiments.mhd.data import MHD, MODALITIES, load_mhd
from mmvae_lib.experiments.mhd.networks import KINDS
from mmvae_lib.experiments.mhd.networks import build_model as _build
from mmvae_lib.experiments.polymnist.experiment import Fixed
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import MHDSettings, Profile, get_profile
from mmvae_lib.training import Stage, train
from mmvae_lib.training.command_line import train_one_model
from mmvae_lib.training.trainer import stage_steps
from mmvae_lib.workers import Job, run_grid

MODEL_NAMES = KINDS
DISPLAY_NAMES = {"mmvae": "MMVAE", "mvae": "MVAE", "mopoe": "MoPoE", "jnf": "JNF", "jnf_dcca": "JNF-DCCA",
                 "jnf_contrastive": "JNF-CL"}
DATA_SEED = 0          # the offline build's seed and the subset's, the same for every model seed


def settings(profile: Profile | str) -> MHDSettings:
    """This experiment's section of the profile."""
    return get_profile(profile).mhd


def paper_data(profile: Profile | str, split: str, *, verbose: bool = False) -> MHD:
    """The MHD ``split`` the profile asks for: its source, and at most ``train_items`` / ``test_items`` items."""
    s = settings(profile)
    data = load_mhd(split, source=s.source, digits=s.digits, seed=DATA_SEED, verbose=verbose)
    return data.take(s.train_items if split == "train" else s.test_items, seed=DATA_SEED)


def training_size(profile: Profile | str) -> int:
    """How many training items the models see: counted where the data can be loaded, else the profile's."""
    try:
        return len(paper_data(profile, "train"))
    except FileNotFoundError:
        return settings(profile).train_items


def build_model(name: str, seed: int, s: MHDSettings) -> nn.Module:
    """The untrained baseline ``name`` on the profile's networks, its weights from ``seed``."""
    if name not in MODEL_NAMES:
        raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
    return _build(name, seed, s.latent_dim, s.image_channels)


def recipe(name: str, profile: Profile | str) -> list[Stage]:
    """How the profile trains ``name``, one stage: the MMVAE its objective and K; the MVAE its own objective
    (joint, unimodal and ``mvae_subsets`` random-subset ELBOs) with KL weight ``beta``; MoPoE the ELBO of K = 1
    samples from its mixture with KL weight ``beta``."""
    s = settings(profile)
    common = dict(batch_size=s.batch_size, lr=s.lr, precision=s.precision)
    if name == "mmvae":
        return [Stage(name, s.mmvae_objective, epochs=s.mmvae_epochs, k=s.mmvae_k, **common)]
    if name == "mvae":
        return [Stage(name, "mvae", epochs=s.mvae_epochs, options=Fixed(s.beta, s.mvae_subsets), **common)]
    if name == "mopoe":
        return [Stage(name, "moe_elbo_linear", epochs=s.mopoe_epochs, options=Fixed(s.beta), **common)]
    raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")


def _fit(profile, name: str, seed: int, *, device=None, progress: bool = False, on_epoch_end=None,
         train_data: MHD | None = None):
    """Train (or resume, or load) one model; ``(model, history)``."""
    train_data = train_data if train_data is not None else paper_data(profile, "train")
    model = build_model(name, seed, settings(profile))
    checkpoint = output_dir(get_profile(profile).name, "checkpoints") / f"mhd_{name}_s{seed}"
    history = train(model, recipe(name, profile), train_data.data, checkpoint, seed=seed, device=device,
                    progress=progress, on_epoch_end=on_epoch_end)
    return model, history


def train_one(profile: Profile | str, name: str, seed: int, *, device: str | None = None,
              on_epoch_end=None) -> list[dict]:
    """Train (or load) one model; the history. A :class:`mmvae_lib.workers.Job` runs this in a worker."""
    return _fit(profile, name, seed, device=device, on_epoch_end=on_epoch_end)[1]


def train_judges(profile: Profile | str, *, on_epoch_end=None) -> None:
    """Train (or find cached) the three judges: a run of the grid (no model needs them to train)."""
    digit_classifiers(profile, paper_data(profile, "train"))


def runs(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
         judges: bool = True) -> list[Job]:
    """The experiment's training runs (:mod:`mmvae_lib.jobs`): ``models`` × the profile's seeds, and the judges."""
    s = settings(profile)
    name_of_profile = get_profile(profile).name
    n = training_size(profile)
    epochs = {"mmvae": s.mmvae_epochs, "mvae": s.mvae_epochs, "mopoe": s.mopoe_epochs}
    jobs = [Job(f"{name} seed {seed}", train_one, dict(profile=name_of_profile, name=name, seed=seed, device=device),
                epochs=epochs[name], key=f"mhd/{name}/s{seed}", stages=stage_steps(recipe(name, profile), n),
                checkpoint=f"mhd_{name}_s{seed}")
            for name in models for seed in (s.seeds if seeds is None else seeds)]
    if judges:
        jobs.append(Job("MHD judges", train_judges, dict(profile=name_of_profile), epochs=s.classifier_epochs,
                        key="mhd/judges", steps=len(MODALITIES) * s.classifier_epochs * math.ceil(n / JUDGE_BATCH)))
    return jobs


def trained_models(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
                   progress: bool = True, workers: int | None = None) -> dict:
    """Train (or load) every model in ``models`` for every seed, in parallel one-thread workers:
    ``{(name, seed): (model, history)}``."""
    s = settings(profile)
    train_data = paper_data(profile, "train")           # built and cached before the workers need it
    run_grid(runs(profile, models=models, seeds=seeds, device=device, judges=False), workers=workers,
             progress=progress, description=f"training ({get_profile(profile).name})")
    return {(name, seed): _fit(profile, name, seed, device=device, train_data=train_data)
            for name in models for seed in (s.seeds if seeds is None else seeds)}


def digit_classifiers(profile: Profile | str, train_data: MHD, *, device: str | None = None) -> list[nn.Module]:
    """The three judges (image, trajectory, sound), trained once on the profile's training items with seed 0 and
    cached."""
    epochs = settings(profile).classifier_epochs
    cache = output_dir(get_profile(profile).name, "cache")
    return [digit_classifier(m, x, train_data.labels, train_data.data.key, epochs=epochs, seed=0,
                             cache_dir=cache, device=device)
            for m, x in zip(MODALITIES, train_data.data.modalities, strict=True)]


def main(argv=None) -> None:
    train_one_model("Train one MHD model (MMVAE, MVAE or MoPoE).", MODEL_NAMES, _fit, argv)


if __name__ == "__main__":
    main()
