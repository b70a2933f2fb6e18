"""PolyMNIST's evaluation, from trained models: conditional coherence against the number |S| of observed
modalities and joint coherence, Fréchet distances of generated images, and the conditional generations shown
in notebook 10. Tables hold one list of values per cell, one value per seed, ready for
:func:`mmvae_lib.reporting.tables.paper_vs_ours`.

Coherence (the definition used here): for each subset S of 1 to 4 observed modalities, one sample
z ~ q(z | x_S) per test tuple, the likelihood mean decoded in every *unobserved* modality, judged by that
modality's digit classifier; micro accuracy per (S, target), then the mean over targets and over the subsets
of each size (:func:`mmvae_lib.metrics.coherence.subset_coherence`). The class-balanced variant (MultiVae's)
is computed alongside.
"""
from __future__ import annotations

import itertools
import re

import pandas as pd
import torch
from torch import Tensor

from mmvae_lib.experiments.polymnist.experiment import DISPLAY_NAMES, settings
from mmvae_lib.experiments.polymnist.paper_numbers import SIZES
from mmvae_lib.metrics import coherence
from mmvae_lib.metrics.batching import batches, model_device
from mmvae_lib.metrics.classifiers import accuracy
from mmvae_lib.metrics.latents import encode
from mmvae_lib.profiles import Profile


def column(size: int) -> str:
    """The table column of subsets of ``size`` observed modalities."""
    return f"|S| = {size}"


def observed_subsets(m_count: int = 5, sizes=SIZES) -> list[tuple[int, ...]]:
    """Every subset of ``sizes`` observed modalities among ``m_count``, smaller first (30 for M = 5)."""
    return [s for size in sizes for s in itertools.combinations(range(m_count), size)]


@torch.no_grad()
def generate_from(model, xs: list[Tensor], subset, targets, generator: torch.Generator, *,
                  batch_size: int = 512) -> list[Tensor]:
    """The modalities ``targets`` generated from the modalities in ``subset`` of ``xs``: one z ~ q(z | x_S) per
    item, shared by the targets, decoded to each target's likelihood mean. One ``(N, *event)`` tensor per
    target, on the CPU."""
    z = encode(model, [x if m in subset else None for m, x in enumerate(xs)], generator, batch_size=batch_size)
    device = model_device(model)
    return [torch.cat([model.likelihoods[n].mean(model.decode(z[s].to(device), n)).cpu()
                       for s in batches(len(z), batch_size)]) for n in targets]


def coherence_results(profile: Profile | str, runs: dict, xs: list[Tensor], labels: Tensor,
                      judges) -> tuple[dict, dict]:
    """Coherence (%) for every ``runs[(name, seed)] = (model, history)`` (in its order): ``(micro, per_class)``, each ``{(model, column): [per seed]}``
    with columns ``|S| = 1..4`` (conditional) and, in ``micro``, ``joint`` (``joint_samples`` prior samples
    whose five decodings the judges read as one digit) and ``reconstruction`` (:func:`reconstruction_coherence`)."""
    s = settings(profile)
    micro: dict = {}
    per_class: dict = {}
    for (name, seed), run in runs.items():
        model, g, label = run[0], torch.Generator().manual_seed(seed), DISPLAY_NAMES[name]
        scores = coherence.subset_coherence(model, xs, labels, judges, observed_subsets(model.n_modalities), g)
        for size, value in coherence.coherence_by_size(scores).items():
            micro.setdefault((label, column(size)), []).append(100 * value)
        for size, value in coherence.coherence_by_size(scores, per_class=True).items():
            per_class.setdefault((label, column(size) + " (class-balanced)"), []).append(100 * value)
        micro.setdefault((label, "joint"), []).append(100 * coherence.joint_coherence(model, s.joint_samples, judges, g))
        micro.setdefault((label, "reconstruction"), []).append(
            100 * reconstruction_coherence(model, xs, labels, judges, g))
    return micro, per_class


def joint_reconstruction_results(runs: dict, xs: list[Tensor], labels: Tensor, judges) -> dict:
    """:func:`reconstruction_coherence` from all five modalities (%) for every ``runs[(name, seed)] = (model,
    history)``: ``{(model, "reconstruction from all five"): [per seed]}``."""
    out: dict = {}
    for (name, seed), run in runs.items():
        value = reconstruction_coherence(run[0], xs, labels, judges, torch.Generator().manual_seed(seed), from_all=True)
        out.setdefault((DISPLAY_NAMES[name], "reconstruction from all five"), []).append(100 * value)
    return out


def reconstruction_accuracies(model, xs: list[Tensor], labels: Tensor, judges, generator: torch.Generator, *,
                              from_all: bool = False) -> list[float]:
    """The judges' accuracy on each modality m reconstructed from one sample of q(z | x_m), or with
    ``from_all`` of q(z | x_1..x_M) given every modality, decoded in m: one value per modality."""
    every = tuple(range(model.n_modalities))
    return [accuracy(judges[m], generate_from(model, xs, every if from_all else (m,), [m], generator)[0], labels)
            for m in every]


def reconstruction_coherence(model, xs: list[Tensor], labels: Tensor, judges, generator: torch.Generator, *,
                             from_all: bool = False) -> float:
    """A diagnostic, not a published number: :func:`reconstruction_accuracies` averaged over the modalities.
    Cross-generation rarely shows a digit the decoders cannot yet draw from their own modality, so this is a
    rough ceiling on coherence (not a bound). ``from_all``: reconstructions from the posterior given all five
    modalities, what the joint posterior keeps of the digit; for JNF that is its joint encoder, which its
    unimodal posteriors are fitted to, so they can hardly carry more."""
    right = reconstruction_accuracies(model, xs, labels, judges, generator, from_all=from_all)
    return sum(right) / len(right)


def frechet_results(profile: Profile | str, runs: dict, xs: list[Tensor], distance, *, name: str,
                    target: int = 0) -> dict:
    """Fréchet distances of generated images of modality ``target`` to its test images (``distance``: a
    :class:`mmvae_lib.metrics.frechet.FrechetDistance` to them, called ``name`` in every column) for every
    ``runs[(name, seed)] = (model, history)``, ``{(model, column): [per seed]}``: ``<name>, m<target> from |S| = n``, the mean over the
    subsets of n of the *other* modalities (generated from each for every test tuple), and
    ``<name>, m<target> unconditional``, from ``joint_samples`` prior samples."""
    s = settings(profile)
    results: dict = {}
    for (model_name, seed), run in runs.items():
        model, g, label = run[0], torch.Generator().manual_seed(seed), DISPLAY_NAMES[model_name]
        others = [m for m in range(model.n_modalities) if m != target]
        for size in SIZES:
            values = [distance(generate_from(model, xs, subset, [target], g)[0])
                      for subset in itertools.combinations(others, size)]
            results.setdefault((label, f"{name}, m{target} from {column(size)}"), []).append(sum(values) / len(values))
        prior = torch.cat([model.generate(n.stop - n.start, g)[target].cpu() for n in batches(s.joint_samples, 500)])
        results.setdefault((label, f"{name}, m{target} unconditional"), []).append(distance(prior))
    return results


def seeds_by_model(runs: dict) -> dict[str, list[int]]:
    """The seeds of each model in ``runs`` (``{(name, seed): ...}``), by display name, in the runs' order: the
    order of the per-seed values in the result tables."""
    seeds: dict[str, list[int]] = {}
    for name, seed in runs:
        seeds.setdefault(DISPLAY_NAMES[name], []).append(seed)
    return seeds


def per_seed(results: dict, seeds, value: str) -> pd.DataFrame:
    """A table of ``results`` (``{(model, column): [per seed]}``) with one row per (model, seed, column):
    columns model, seed, column and ``value``, and ``size`` (the n of "|S| = n" in the column, else None).
    ``seeds``: every model's seeds, or a mapping model → its seeds (:func:`seeds_by_model`)."""
    rows = []
    for (model, col), values in results.items():
        found = re.search(r"\|S\| = (\d+)", col)
        size = int(found.group(1)) if found else None
        model_seeds = seeds[model] if isinstance(seeds, dict) else seeds
        if len(model_seeds) != len(values):
            raise ValueError(f"{model}, {col}: {len(values)} values for the seeds {list(model_seeds)}")
        rows += [{"model": model, "seed": seed, "column": col, "size": size, value: v}
                 for seed, v in zip(model_seeds, values)]
    return pd.DataFrame(rows)


@torch.no_grad()
def conditional_panels(model, xs: list[Tensor], name: str, generator: torch.Generator) -> dict[str, Tensor]:
    """For each |S| = 1..4, the last |S| modalities observed: a grid with one row per modality (the observed
    images where observed, the generated ones elsewhere) and one column per tuple of ``xs``.
    ``{title: images (M·N, 3, 28, 28)}``, rows modality-major."""
    m_count = model.n_modalities
    panels = {}
    for size in SIZES:
        subset = tuple(range(m_count - size, m_count))
        hidden = [m for m in range(m_count) if m not in subset]
        generated = dict(zip(hidden, generate_from(model, xs, subset, hidden, generator)))
        rows = [xs[m] if m in subset else generated[m].clamp(0, 1) for m in range(m_count)]
        panels[f"{name}: observed m{subset[0]}..m{subset[-1]}" if size > 1 else f"{name}: observed m{subset[0]}"] = \
            torch.cat(rows)
    return panels


def coherence_drop(before: dict, after: dict, sizes=SIZES) -> pd.DataFrame:
    """How much coherence each model loses from one dataset to another (Translated PolyMNIST against PolyMNIST,
    the same budget): ``before`` and ``after`` ``{(model, column): [per seed]}``; one row per model present in
    both, with the mean coherence before and after and the drop (points) at each |S| in ``sizes``, and the mean
    drop over them."""
    def mean(values):
        return sum(values) / len(values)

    models = [m for m in dict.fromkeys(model for model, _ in after) if any(k[0] == m for k in before)]
    rows = []
    for model in models:
        row = {"model": model}
        for size in sizes:
            b, a = mean(before[(model, column(size))]), mean(after[(model, column(size))])
            row |= {f"before {column(size)}": b, f"after {column(size)}": a, f"drop {column(size)}": b - a}
        row["mean drop"] = mean([row[f"drop {column(size)}"] for size in sizes])
        rows.append(row)
    return pd.DataFrame(rows)


def coherence_of_table(path) -> dict | None:
    """The micro coherence per (model, ``|S| = n``) of a saved coherence table (notebook 13's), as one-value
    lists, or ``None`` where the file is not there."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return None
    table = pd.read_csv(path)
    rows = table[table["column"].str.fullmatch(r"\|S\| = \d+")]
    return {(r.row, r.column): [float(r.value)] for r in rows.itertuples()}
