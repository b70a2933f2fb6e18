"""The CUB experiment of the MMVAE paper, per profile: its data, its two models and their training recipes,
and the judges of Table 4. Notebook 07 and 08 start here.

Models are trained once per (profile, model, seed) with :func:`mmvae_lib.training.train` and cached as
checkpoints under ``outputs/<profile>/checkpoints``; judges (FastText + CCA, one per judge seed) under
``outputs/<profile>/cache``. Independent runs go to parallel worker processes (:mod:`mmvae_lib.workers`),
each rebuilding its data from the profile.

Command line, for long GPU runs: ``python -m mmvae_lib.experiments.cub.experiment --model mmvae --profile full
--seed 0``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from mmvae_lib.experiments.cub.correlation import CorrelationJudge, JudgeSettings, cached_judge, judge_path
from mmvae_lib.experiments.cub.data import CUBData, CUBPairs, load_cub
from mmvae_lib.experiments.cub.networks import cub_model
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import CUBSettings, Profile, get_profile
from mmvae_lib.training import KLAnnealing, Stage, train
from mmvae_lib.training.command_line import train_one_model
from mmvae_lib.training.trainer import stage_steps
from mmvae_lib.workers import Job, run_grid, run_jobs

MODEL_NAMES = ("mmvae", "mvae")
STANDIN_SEED = 0
EVALUATION_SEED = 0


def settings(profile: Profile | str) -> CUBSettings:
    """This experiment's section of the profile."""
    return get_profile(profile).cub


def paper_data(profile: Profile | str, *, verbose: bool = False) -> CUBData:
    """The CUB data the profile asks for (its source; the stand-in's size), both splits."""
    s = settings(profile)
    return load_cub(source=s.source, images_per_class=s.images_per_class, standin_seed=STANDIN_SEED, verbose=verbose)


def data_label(data: CUBData) -> str:
    """Which data produced a number, for tables: real CUB, or the offline stand-in (and its features)."""
    if data.source == "real":
        return "real CUB (ResNet-101 features)"
    return "offline stand-in (synthetic birds; random-convolution features, not ResNet)"


def training_pairs(profile: Profile | str, data: CUBData) -> CUBPairs:
    """The training pairs the models see: all of ``data.train``, or the pairs of ``train_images`` of its images
    (a fixed random subset, each image with its ten captions) where it has more."""
    n = settings(profile).train_images
    if n >= len(data.train.features):
        return data.train
    keep = torch.randperm(len(data.train.features), generator=torch.Generator().manual_seed(EVALUATION_SEED))[:n]
    return data.train.images_subset(keep.sort().values)


def evaluation_order(pairs: CUBPairs, n: int | None = None) -> torch.Tensor:
    """The first ``n`` pair indices of ``pairs`` in a fixed shuffled order (all of them if n is None)."""
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(EVALUATION_SEED))
    return order if n is None else order[:min(n, len(pairs))]


# --- models and recipes -----------------------------------------------------------------------------------

def build_model(name: str, seed: int, vocabulary: int, latent_dim: int) -> nn.Module:
    """The untrained model ``name`` ("mmvae" or "mvae"), initialised from ``seed`` without global RNG."""
    if name not in MODEL_NAMES:
        raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cub_model(name, vocabulary, latent_dim)


def recipe(name: str, profile: Profile | str, steps_per_epoch: int = 1) -> list[Stage]:
    """How ``name`` trains under the profile, one stage: the MMVAE the profile's objective and K (``full``:
    DReG on eq. 3, the released command's ``--obj dreg --looser``, K = 50); the MVAE its own objective (the
    joint ELBO plus one ELBO per modality) with K = 1 and the KL weight annealed over the first third of
    training, as the MVAE authors anneal."""
    s = settings(profile)
    if name not in MODEL_NAMES:
        raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
    common = dict(epochs=s.epochs, batch_size=s.batch_size, precision=s.precision)
    if name == "mmvae":
        return [Stage(name, s.objective, k=s.k, **common)]
    return [Stage(name, "mvae", k=1, options=KLAnnealing(max(1, steps_per_epoch * s.epochs // 3)), **common)]


def _fit(profile, name: str, seed: int, *, device=None, progress: bool = False, on_epoch_end=None,
         data: CUBData | None = None):
    """Train (or resume, or load) one model; ``(model, history)``."""
    data = data if data is not None else paper_data(profile)
    s = settings(profile)
    pairs = training_pairs(profile, data)
    stages = recipe(name, profile, math.ceil(len(pairs) / s.batch_size))
    model = build_model(name, seed, len(data.vocabulary), s.latent_dim)
    checkpoint = output_dir(get_profile(profile).name, "checkpoints") / f"cub_{name}_s{seed}"
    history = train(model, stages, pairs, checkpoint, seed=seed, device=device, progress=progress,
                    on_epoch_end=on_epoch_end)
    return model, history


def train_one(profile: Profile | str, name: str, seed: int, *, device: str | None = None,
              on_epoch_end=None) -> list[dict]:
    """Train (or load) one model; returns its history (the weights stay in the checkpoint). A
    :class:`mmvae_lib.workers.Job` runs this in a worker."""
    return _fit(profile, name, seed, device=device, on_epoch_end=on_epoch_end)[1]


PUBLISHED_TRAIN_IMAGES, CAPTIONS_PER_IMAGE = 8_855, 10     # real CUB's training split (paper-facts.md)


def training_size(profile: Profile | str) -> int:
    """How many (image, caption) pairs the profile's models see: counted where the data can be loaded, else
    (real CUB not downloaded) ten captions for each of ``train_images`` of the published 8,855 images."""
    try:
        return len(training_pairs(profile, paper_data(profile)))
    except FileNotFoundError:
        return min(settings(profile).train_images, PUBLISHED_TRAIN_IMAGES) * CAPTIONS_PER_IMAGE


def runs(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
         judges: bool = True) -> list[Job]:
    """The experiment's training runs (:mod:`mmvae_lib.jobs`): ``models`` × the profile's seeds, and the
    Table 4 judges (one per judge seed) if ``judges``."""
    s = settings(profile)
    name_of_profile = get_profile(profile).name
    n = training_size(profile)
    jobs = [Job(f"CUB {name} seed {seed}", train_one, dict(profile=name_of_profile, name=name, seed=seed, device=device),
                epochs=s.epochs, key=f"cub/{name}/s{seed}",
                stages=stage_steps(recipe(name, profile, math.ceil(n / s.batch_size)), n), checkpoint=f"cub_{name}_s{seed}")
            for seed in (s.seeds if seeds is None else seeds) for name in models]
    if judges:
        jobs += [Job(f"CUB judge seed {seed}", fit_one_judge, dict(profile=name_of_profile, seed=seed),
                     epochs=1, key=f"cub/judge/s{seed}") for seed in s.judge_seeds]
    return jobs


def trained_models(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
                   progress: bool = True, workers: int | None = None, data: CUBData | None = None) -> dict:
    """Train (or load) every model in ``models`` for every seed of the profile, in parallel one-thread
    workers; ``{(name, seed): (model, history)}``, each loaded from its checkpoint."""
    s = settings(profile)
    name_of_profile = get_profile(profile).name
    keys = [(name, seed) for seed in (s.seeds if seeds is None else seeds) for name in models]
    data = data if data is not None else paper_data(profile)
    run_grid(runs(profile, models=models, seeds=seeds, device=device, judges=False), workers=workers,
             progress=progress, description=f"training CUB ({name_of_profile})")
    return {(name, seed): _fit(profile, name, seed, device=device, data=data) for name, seed in keys}


# --- the judges of Table 4 ------------------------------------------------------------------------------

def judge_settings(profile: Profile | str, seed: int) -> JudgeSettings:
    s = settings(profile)
    return JudgeSettings(seed=seed, fasttext_epochs=s.fasttext_epochs, fasttext_bucket=s.fasttext_bucket,
                         components=s.cca_components)


def fit_one_judge(profile: Profile | str, seed: int, *, on_epoch_end=None) -> None:
    """Fit (or find cached) the judge of ``seed``; a worker's job (the judge stays in the cache)."""
    cached_judge(paper_data(profile), judge_settings(profile, seed), output_dir(get_profile(profile).name, "cache"))
    if on_epoch_end is not None:
        on_epoch_end(1, [])


def correlation_judges(profile: Profile | str, *, data: CUBData | None = None, workers: int | None = None,
                       progress: bool = True) -> dict[int, CorrelationJudge]:
    """The profile's judges, one per judge seed: those not cached yet are fitted in parallel workers, then
    all are loaded; ``{seed: judge}``."""
    s = settings(profile)
    name = get_profile(profile).name
    data = data if data is not None else paper_data(profile)
    cache = output_dir(name, "cache")
    missing = [seed for seed in s.judge_seeds if not judge_path(cache, data, judge_settings(profile, seed)).exists()]
    jobs = [Job(f"judge seed {seed}", fit_one_judge, dict(profile=name, seed=seed)) for seed in missing]
    run_jobs(jobs, workers=workers, progress=progress, description=f"FastText + CCA ({name})")
    return {seed: cached_judge(data, judge_settings(profile, seed), cache) for seed in s.judge_seeds}


# --- command line ---------------------------------------------------------------------------------------

def main(argv=None) -> None:
    train_one_model("Train one CUB image-caption model of the MMVAE paper.", MODEL_NAMES, _fit, argv)


if __name__ == "__main__":
    main()
