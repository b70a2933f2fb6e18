"""MHD's evaluation, from trained models (the JNF paper's MHD table): coherence given one and given two observed
modalities (the held-out modalities generated and judged), joint coherence, and a Fréchet distance per modality.
Tables hold one list of values per cell, one value per seed.

- **Coherence given |S| = n**: for each subset S of n observed modalities, one z ~ q(z | x_S) per test item,
  decoded (the likelihood mean) in every modality not in S and judged by that modality's judge; micro accuracy
  per (S, target), the mean over targets, then over the subsets of size n
  (:func:`mmvae_lib.metrics.coherence.subset_coherence`), as for PolyMNIST.
- **Joint coherence**: the fraction of prior samples whose three decodings the judges read as one digit.
- **Fréchet distance** per modality, in its judge's last hidden layer (not an FID; no published number to set
  beside it): the modality generated from the other two, and from prior samples, against its test items.
"""
from __future__ import annotations

import torch
from torch import Tensor

from mmvae_lib.experiments.mhd.data import MODALITIES
from mmvae_lib.experiments.mhd.experiment import DISPLAY_NAMES, settings
from mmvae_lib.experiments.polymnist.results import column, generate_from, observed_subsets
from mmvae_lib.metrics import coherence
from mmvae_lib.metrics.batching import batches
from mmvae_lib.metrics.frechet import frechet_distance
from mmvae_lib.profiles import Profile

SIZES = (1, 2)


def coherence_results(profile: Profile | str, runs: dict, xs: list[Tensor], labels: Tensor, judges) -> dict:
    """Coherence (%) for every ``runs[(name, seed)] = (model, history)``: ``{(model, column): [per seed]}``, the
    columns ``|S| = 1`` and ``|S| = 2`` (coherence given one and two modalities) and ``joint``."""
    s = settings(profile)
    out: dict = {}
    for (name, seed), run in runs.items():
        model, g, label = run[0], torch.Generator().manual_seed(seed), DISPLAY_NAMES[name]
        scores = coherence.subset_coherence(model, xs, labels, judges, observed_subsets(len(MODALITIES), SIZES), g)
        for size, value in coherence.coherence_by_size(scores).items():
            out.setdefault((label, column(size)), []).append(100 * value)
        out.setdefault((label, "joint"), []).append(100 * coherence.joint_coherence(model, s.joint_samples, judges, g))
    return out


@torch.no_grad()
def features(judge, x: Tensor, batch_size: int = 1000) -> Tensor:
    """A judge's last hidden layer on ``x``: ``(N, F)``."""
    judge.eval()
    return torch.cat([judge.features(x[b]) for b in batches(len(x), batch_size)])


def frechet_results(profile: Profile | str, runs: dict, xs: list[Tensor], judges) -> dict:
    """Fréchet distances per modality (module docstring) for every run: ``{(model, "FD <modality> from the
    others" | "FD <modality> unconditional"): [per seed]}``."""
    s = settings(profile)
    real = [features(j, x) for j, x in zip(judges, xs, strict=True)]
    out: dict = {}
    for (name, seed), run in runs.items():
        model, g, label = run[0], torch.Generator().manual_seed(seed), DISPLAY_NAMES[name]
        prior = [torch.cat(parts) for parts in zip(*[[x.cpu() for x in model.generate(b.stop - b.start, g)]
                                                       for b in batches(s.joint_samples, 500)], strict=True)]
        for m, modality in enumerate(MODALITIES):
            others = tuple(n for n in range(len(MODALITIES)) if n != m)
            generated = generate_from(model, xs, others, [m], g)[0]
            out.setdefault((label, f"FD {modality} from the others"), []).append(
                frechet_distance(real[m], features(judges[m], generated)))
            out.setdefault((label, f"FD {modality} unconditional"), []).append(
                frechet_distance(real[m], features(judges[m], prior[m])))
    return out
