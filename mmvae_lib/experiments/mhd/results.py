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
from mmvae_lib.experiments.polymnist.results import (column, generate_from, observed_subsets, per_seed,  # noqa: F401
                                                     seeds_by_model)  # noqa: F401  (the same tables as PolyMNIST's)
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


def item_figure(mhd, per_digit: int = 1):
    """``per_digit`` items of each digit as MHD's three modalities: the image, the trajectory drawn as a pen path
    (x then y, image rows downwards), the sound's mel spectrogram (mel bands upwards, frames to the right)."""
    import matplotlib.pyplot as plt

    image, trajectory, sound = mhd.data.modalities
    picks = [int(i) for c in range(10) for i in torch.nonzero(mhd.labels == c).flatten()[:per_digit]]
    fig, axes = plt.subplots(3, len(picks), figsize=(1.1 * len(picks), 3.6), squeeze=False)
    for col, i in enumerate(picks):
        axes[0][col].imshow(image[i, 0], cmap="gray", vmin=0, vmax=1)
        half = trajectory.shape[1] // 2
        axes[1][col].plot(trajectory[i, :half], trajectory[i, half:], lw=1)
        axes[1][col].set_xlim(0, 1)
        axes[1][col].set_ylim(1, 0)
        axes[2][col].imshow(sound[i, 0].T, origin="lower", aspect="auto", cmap="magma")
        axes[0][col].set_title(str(int(mhd.labels[i])), fontsize=8)
        for row in range(3):
            axes[row][col].set_xticks([])
            axes[row][col].set_yticks([])
    for row, name in enumerate(MODALITIES):
        axes[row][0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return fig


def nearest_neighbour_accuracy(train, test, k: int = 5) -> dict[str, float]:
    """How separable each modality's digits are on their own: a k-nearest-neighbour classifier on the raw
    values (scikit-learn), fitted on ``train``, its accuracy (%) on ``test``."""
    from sklearn.neighbors import KNeighborsClassifier

    out = {}
    for name, a, b in zip(MODALITIES, train.data.modalities, test.data.modalities, strict=True):
        knn = KNeighborsClassifier(k).fit(a.flatten(1).numpy(), train.labels.numpy())
        out[name] = 100 * float((knn.predict(b.flatten(1).numpy()) == test.labels.numpy()).mean())
    return out
