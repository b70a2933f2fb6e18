"""The PolyMNIST experiment per profile: its data, its three models (MMVAE, MVAE, MoPoE) and their training
recipes on the model-agnostic trainer, its judges. Notebooks 09 and 10 start here. With ``dataset="translated"``
the same on Translated PolyMNIST (:mod:`mmvae_lib.experiments.polymnist.translated`), per the profile's
``translated_polymnist`` section, its checkpoints and judges apart (notebook 16).

Models are trained once per (profile, model, seed) with :func:`mmvae_lib.training.train` and cached as
checkpoints under ``outputs/<profile>/checkpoints``; independent runs train in parallel one-thread worker
processes (:mod:`mmvae_lib.workers`). The data is the same for every seed (:data:`DATA_SEED`).

Command line, for long GPU runs: ``python -m mmvae_lib.experiments.polymnist.experiment --model mopoe
--profile full --seed 0``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from mmvae_lib.experiments.polymnist.classifiers import cache_path, digit_classifier
from mmvae_lib.experiments.polymnist.data import N_MODALITIES, PolyMNIST, load_polymnist
from mmvae_lib.experiments.polymnist.translated import load_translated
from mmvae_lib.experiments.polymnist.networks import polymnist_model
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import PolyMNISTSettings, Profile, get_profile
from mmvae_lib.training import Stage, train
from mmvae_lib.training.command_line import train_one_model
from mmvae_lib.training.trainer import stage_steps
from mmvae_lib.workers import Job, run_grid

MODEL_NAMES = ("mmvae", "mvae", "mopoe")
# the baselines here, and the seed's models (mmvae_lib.experiments.polymnist.jnf)
DISPLAY_NAMES = {"mmvae": "MMVAE", "mvae": "MVAE", "mopoe": "MoPoE", "jnf": "JNF", "jnf_dcca": "JNF-DCCA",
                 "jnf_contrastive": "JNF-CL"}
DATA_SEED = 0          # the offline construction's seed and the subset's, the same for every model seed
# dataset → (its section of the profile, its loader, the prefix of its checkpoints, job keys and judges)
DATASETS = {"polymnist": ("polymnist", load_polymnist, "polymnist"),
            "translated": ("translated_polymnist", load_translated, "translated_polymnist")}


def _dataset(dataset: str):
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {tuple(DATASETS)}, got {dataset!r}")
    return DATASETS[dataset]


def settings(profile: Profile | str, dataset: str = "polymnist") -> PolyMNISTSettings:
    """This experiment's section of the profile (``translated_polymnist`` for Translated PolyMNIST)."""
    return getattr(get_profile(profile), _dataset(dataset)[0])


# --- data ----------------------------------------------------------------------------------------------

def paper_data(profile: Profile | str, split: str, *, verbose: bool = False, dataset: str = "polymnist") -> PolyMNIST:
    """The PolyMNIST (or Translated PolyMNIST) ``split`` the profile asks for: its source, and at most
    ``train_tuples`` / ``test_tuples`` tuples (a seeded subset when the data holds more)."""
    s = settings(profile, dataset)
    data = _dataset(dataset)[1](split, source=s.source, digits=s.digits, seed=DATA_SEED, verbose=verbose)
    return data.take(s.train_tuples if split == "train" else s.test_tuples, seed=DATA_SEED)


def data_label(data: PolyMNIST) -> str:
    """Which data produced a number, for tables and figures."""
    return data.source["description"]


# --- models and recipes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fixed:
    """A stage's ``options``: the same keyword arguments for the objective at every step (a frozen dataclass,
    so its repr, and with it the checkpoint's fingerprint, names them)."""

    beta: float = 1.0
    subsets: int | None = None

    def __call__(self, step: int) -> dict:
        return {"beta": self.beta} | ({} if self.subsets is None else {"subsets": self.subsets})


def build_model(name: str, seed: int, latent_dim: int) -> nn.Module:
    """The untrained model ``name``, its weights initialised from ``seed`` without touching global RNG."""
    if name not in MODEL_NAMES:
        raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return polymnist_model(name, latent_dim)


def recipe(name: str, profile: Profile | str, dataset: str = "polymnist") -> list[Stage]:
    """How the profile trains ``name``, one stage: the MMVAE its objective and K (``full``: DReG on the MMVAE
    paper's eq. 3, K = 10); the MVAE its own objective (joint, unimodal and ``mvae_subsets`` random-subset
    ELBOs) with KL weight ``beta``; MoPoE the ELBO of K = 1 samples from its mixture (each decoded in the five
    modalities) with KL weight ``beta``."""
    s = settings(profile, dataset)
    if name == "mmvae":
        return [Stage(name, s.mmvae_objective, epochs=s.mmvae_epochs, k=s.mmvae_k, batch_size=s.mmvae_batch_size, precision=s.precision,
                      lr=s.mmvae_lr)]
    if name == "mvae":
        return [Stage(name, "mvae", epochs=s.mvae_epochs, batch_size=s.batch_size, lr=s.mvae_lr, precision=s.precision,
                      options=Fixed(s.beta, s.mvae_subsets))]
    if name == "mopoe":
        return [Stage(name, "moe_elbo_linear", epochs=s.mopoe_epochs, batch_size=s.batch_size, lr=s.mopoe_lr,
                      precision=s.precision,
                      options=Fixed(s.beta))]
    raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")


def _fit(profile, name: str, seed: int, *, device=None, progress: bool = False, on_epoch_end=None,
         train_data: PolyMNIST | None = None, dataset: str = "polymnist"):
    """Train (or resume, or load) one model; ``(model, history)``."""
    train_data = train_data if train_data is not None else paper_data(profile, "train", dataset=dataset)
    model = build_model(name, seed, settings(profile, dataset).latent_dim)
    checkpoint = output_dir(get_profile(profile).name, "checkpoints") / f"{_dataset(dataset)[2]}_{name}_s{seed}"
    history = train(model, recipe(name, profile, dataset), train_data, checkpoint, seed=seed, device=device,
                    progress=progress, on_epoch_end=on_epoch_end)
    return model, history


def train_one(profile: Profile | str, name: str, seed: int, *, device: str | None = None,
              on_epoch_end=None, dataset: str = "polymnist") -> list[dict]:
    """Train (or resume, or load) one model; the history (the weights stay in the checkpoint). A
    :class:`mmvae_lib.workers.Job` runs this in a worker."""
    return _fit(profile, name, seed, device=device, on_epoch_end=on_epoch_end, dataset=dataset)[1]


def training_size(profile: Profile | str, dataset: str = "polymnist") -> int:
    """How many training tuples the profile's models see: counted where the data can be loaded, else (the
    archive not downloaded) the profile's ``train_tuples`` (the published 60,000 for ``full``)."""
    try:
        return len(paper_data(profile, "train", dataset=dataset))
    except FileNotFoundError:
        return settings(profile, dataset).train_tuples


def train_judges(profile: Profile | str, *, on_epoch_end=None, dataset: str = "polymnist") -> None:
    """Train (or find cached) the five digit classifiers: a run of the grid (no model needs them to train)."""
    digit_classifiers(profile, paper_data(profile, "train", dataset=dataset), dataset=dataset)


def runs(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
         judges: bool = True, dataset: str = "polymnist") -> list[Job]:
    """The experiment's training runs (:mod:`mmvae_lib.jobs`): ``models`` × the profile's seeds (the MMVAE's,
    the longest, first), and the judges if ``judges``."""
    s = settings(profile, dataset)
    name_of_profile = get_profile(profile).name
    n = training_size(profile, dataset)
    prefix = _dataset(dataset)[2]
    extra = {} if dataset == "polymnist" else {"dataset": dataset}
    epochs = {"mmvae": s.mmvae_epochs, "mvae": s.mvae_epochs, "mopoe": s.mopoe_epochs}
    jobs = [Job(f"{name} seed {seed}", train_one,
                dict(profile=name_of_profile, name=name, seed=seed, device=device, **extra),
                epochs=epochs[name], key=f"{prefix}/{name}/s{seed}",
                stages=stage_steps(recipe(name, profile, dataset), n), checkpoint=f"{prefix}_{name}_s{seed}")
            for name in models for seed in (s.seeds if seeds is None else seeds)]
    if judges:
        what = "PolyMNIST" if dataset == "polymnist" else "Translated PolyMNIST"
        jobs.append(Job(f"{what} digit classifiers", train_judges, dict(profile=name_of_profile, **extra),
                        epochs=s.classifier_epochs, key=f"{prefix}/judges",
                        steps=5 * s.classifier_epochs * math.ceil(n / 256)))
    return jobs


def trained_models(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
                   progress: bool = True, workers: int | None = None, dataset: str = "polymnist") -> dict:
    """Train (or load) every model in ``models`` for every seed of the profile, in parallel one-thread worker
    processes (the numbers do not depend on how many), the longest jobs first. Returns
    ``{(name, seed): (model, history)}``, every model loaded from its checkpoint."""
    s = settings(profile, dataset)
    name_of_profile = get_profile(profile).name
    train_data = paper_data(profile, "train", dataset=dataset)     # built and cached before the workers need it
    keys = [(name, seed) for name in models for seed in (s.seeds if seeds is None else seeds)]   # MMVAE first
    run_grid(runs(profile, models=models, seeds=seeds, device=device, judges=False, dataset=dataset),
             workers=workers, progress=progress, description=f"training ({name_of_profile})")
    return {(name, seed): _fit(profile, name, seed, device=device, train_data=train_data, dataset=dataset)
            for name, seed in keys}


# --- judges ------------------------------------------------------------------------------------------------

def digit_classifiers(profile: Profile | str, train_data: PolyMNIST, *, device: str | None = None,
                      require_cached: bool = False, dataset: str = "polymnist") -> list[nn.Module]:
    """The five digit classifiers (one per modality), trained once on the profile's training tuples with seed 0
    and cached; ``require_cached`` raises instead of training. PolyMNIST's are the published architecture;
    Translated PolyMNIST's a residual network, as its authors' judges are (:class:`classifiers.TranslatedClassifier`)."""
    epochs = settings(profile, dataset).classifier_epochs
    architecture = "cnn" if dataset == "polymnist" else "resnet"
    cache = output_dir(get_profile(profile).name, "cache")
    if require_cached:
        missing = [m for m in range(N_MODALITIES) if not cache_path(m, train_data, epochs=epochs, seed=0,
                                                                     cache_dir=cache, architecture=architecture).exists()]
        if missing:
            raise RuntimeError(f"the digit classifiers of modalities {missing} (profile {get_profile(profile).name!r}) "
                               f"are not trained yet: call digit_classifiers() without require_cached first")
    return [digit_classifier(m, train_data, epochs=epochs, seed=0, cache_dir=cache, device=device,
                             architecture=architecture) for m in range(N_MODALITIES)]


# --- command line ---------------------------------------------------------------------------------------

def main(argv=None) -> None:
    train_one_model("Train one PolyMNIST model (MMVAE, MVAE or MoPoE).", MODEL_NAMES, _fit, argv)


if __name__ == "__main__":
    main()
