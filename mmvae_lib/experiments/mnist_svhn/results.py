"""The MNIST-SVHN experiment's tables (MMVAE paper, Tables 1-3), from trained models: one list of values per
cell, one value per seed, ready for :func:`mmvae_lib.reporting.tables.paper_vs_ours`."""
from __future__ import annotations

import torch

from mmvae_lib.experiments.mnist_svhn.experiment import settings
from mmvae_lib.metrics import coherence, latents, marginal
from mmvae_lib.profiles import Profile


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
    s = settings(profile)
    *train_xs, train_y = train_pairs
    *test_xs, test_y = test_pairs
    results: dict = {}
    for seed in s.seeds:
        g = torch.Generator().manual_seed(seed)

        def accuracy(model, modality, keep, g=g, seed=seed):       # called within this iteration only
            z_train = latents.encode(model, _inputs(model, train_xs, keep), g, modality=modality)
            z_test = latents.encode(model, _inputs(model, test_xs, keep), g, modality=modality)
            return 100 * latents.latent_accuracy(z_train, train_y, z_test, test_y,
                                                 epochs=s.classifier_epochs, seed=seed)

        mmvae, mvae = runs[("mmvae", seed)][0], runs[("mvae", seed)][0]
        both = accuracy(mvae, None, (0, 1))
        for m, (row, single) in enumerate((("MNIST", "vae_mnist"), ("SVHN", "vae_svhn"))):
            for column, value in (("MMVAE", accuracy(mmvae, m, (0, 1))), ("MVAE (single)", accuracy(mvae, m, (0, 1))),
                                  ("MVAE (both)", both), ("single-VAE", accuracy(runs[(single, seed)][0], 0, (m,)))):
                results.setdefault((row, column), []).append(value)
    return results


def table2_coherence(profile: Profile | str, runs: dict, test_pairs, judges) -> tuple[dict, dict]:
    """Table 2 for every seed, in %: ``(micro, per_class)``, each ``{(model, column): [value per seed]}``.
    Joint coherence uses ``eval_points`` prior samples."""
    s = settings(profile)
    *xs, labels = test_pairs
    micro: dict = {}
    per_class: dict = {}
    for seed in s.seeds:
        for name, key in (("MMVAE", "mmvae"), ("MVAE", "mvae")):
            model = runs[(key, seed)][0]
            g = torch.Generator().manual_seed(seed)
            cross = coherence.cross_coherence(model, xs, labels, judges, g)
            micro.setdefault((name, "Joint"), []).append(
                100 * coherence.joint_coherence(model, s.eval_points, judges, g))
            for pair, column in (((0, 1), "Cross M→S"), ((1, 0), "Cross S→M")):
                micro.setdefault((name, column), []).append(100 * cross[pair][0])
                per_class.setdefault((name, column + " (per-class mean)"), []).append(100 * cross[pair][1])
    return micro, per_class


def table3_likelihoods(profile: Profile | str, runs: dict, test_pairs, *, progress: bool = False) -> dict:
    """Table 3 for every seed: ``{(row, term): [nats per seed]}`` on the first ``llik_points`` test
    pairs with ``llik_k`` importance samples per expert."""
    return table3_means(table3_items(profile, runs, test_pairs, progress=progress))


def table3_items(profile: Profile | str, runs: dict, test_pairs, *, progress: bool = False) -> dict:
    """Table 3 per test pair: ``{(row, term): [(N,) nats per seed]}`` (:func:`table3_likelihoods` averages them;
    their spread is the table's noise over test pairs)."""
    s = settings(profile)
    *xs, _ = test_pairs
    n = min(s.llik_points, xs[0].shape[0])
    results: dict = {}
    for seed in s.seeds:
        for name, key in (("MMVAE", "mmvae"), ("MVAE", "mvae")):
            values = marginal.likelihoods(runs[(key, seed)][0], [x[:n] for x in xs], s.llik_k,
                                         torch.Generator().manual_seed(seed), progress=progress, per_item=True)
            for (m, term), value in values.items():
                row = ("m=MNIST, n=SVHN " if m == 0 else "m=SVHN, n=MNIST ") + name
                results.setdefault((row, term), []).append(value)
    return results


def table3_means(items: dict) -> dict:
    """:func:`table3_items` averaged over test pairs: ``{(row, term): [nats per seed]}``."""
    return {key: [float(v.double().mean()) for v in values] for key, values in items.items()}
