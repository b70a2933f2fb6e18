"""The MMVAE paper's MNIST-SVHN claims of Tables 2 and 3 (§4.2), each with the paper's words, its threshold and
the test that decides it (notebook 06; :mod:`mmvae_lib.reporting.claims` states the noise rule).

Inputs, as notebook 06 measures them:
- ``coherence``: Table 2, ``{(model, column): [% per seed]}`` (:func:`results.table2_coherence`'s first part);
- ``items``: Table 3 per test pair, ``{(row, term): [(N,) nats per seed]}`` (:func:`results.table3_items`);
- ``histories``: the per-epoch coherence probe, ``{(key, seed): [epoch records]}`` (notebook 03's training);
- ``n_cross`` and ``n_joint``: the test pairs and prior samples coherence was measured on (one seed's error).
"""
from __future__ import annotations

import math

from mmvae_lib.experiments.mnist_svhn.paper_numbers import TABLE1_LATENT_ACCURACY, TABLE2_COHERENCE, TABLE3_LIKELIHOODS
from mmvae_lib.reporting.claims import (Check, Claim, Difference, coherence_difference, difference, judge,
                                         judge_count)

SOURCE_1 = "MMVAE paper, §4.2, Table 1"
SOURCE_2 = "MMVAE paper, §4.2, Table 2"
SOURCE_3 = "MMVAE paper, §4.2, Table 3"
CROSS = ("Cross M→S", "Cross S→M")
ROWS = ("m=MNIST, n=SVHN", "m=SVHN, n=MNIST")
CONDITIONALS = ("log p(x_m | x_m, x_n)", "log p(x_m | x_m)", "log p(x_m | x_n)")
CHANCE = 10.0                       # ten digits

CROSS_ABOVE_MVAE = Claim(
    "MMVAE cross coherence above MVAE's, both directions", SOURCE_2,
    "for cross-generation, 86.4% (MNIST → SVHN) and 69.1% (SVHN → MNIST) [...] Computing these metrics for MVAE "
    "yields accuracy close to chance")
CROSS_LEVEL = Claim(
    "MMVAE cross coherence at least 60 % in both directions (our threshold)", SOURCE_2,
    "for cross-generation, 86.4% (MNIST → SVHN) and 69.1% (SVHN → MNIST)",
    "ours: 60 %, because the paper states a level, not a threshold; 60 % sits 9 points below its lower direction "
    "(69.1 %), leaving room for the offline SVHN stand-in, and 50 points above chance (10 %)")
JOINT_ABOVE_MVAE = Claim(
    "MMVAE joint coherence above MVAE's", SOURCE_2,
    "for joint generation, the classifiers predict the same digit class 42.1% of time [MVAE: 12.7 %]")
MVAE_NEAR_CHANCE = Claim(
    "MVAE cross coherence close to chance, both directions (our threshold)", SOURCE_2,
    "Computing these metrics for MVAE yields accuracy close to chance",
    "ours: at most 15 %, chance (10 %) plus 5 points, because the paper's MVAE reads 9.5 and 9.3 % and names no "
    "margin")
SYNERGY = Claim(
    "MMVAE synergy: log p(x_m | x_m, x_n) >= log p(x_m | x_m) for both m", SOURCE_3,
    "we observe that p(x_m | x_m, x_n) ≥ p(x_m | x_m) for MMVAE")
MVAE_NO_SYNERGY = Claim(
    "MVAE the reverse: log p(x_m | x_m, x_n) < log p(x_m | x_m) for both m", SOURCE_3,
    "whereas for MVAE we consistently find p(x_m | x_m, x_n) < p(x_m | x_m)")
HIGHER_LIKELIHOODS = Claim(
    "MMVAE's conditional likelihoods above MVAE's in at least 5 of Table 3's 6 entries", SOURCE_3,
    "We observe that MMVAE model yields higher likelihoods, consistent with employing the IWAE estimator",
    "paper: 5 of 6, as the paper's own table has it (its SVHN log p(x_m | x_m) is higher for MVAE, 3536.86 "
    "against 3441.01)")

LATENT_ABOVE_SINGLE = Claim(
    "MMVAE's SVHN latent accuracy above the single SVHN VAE's (Table 1)", SOURCE_1,
    "we find MMVAE's latent space provides significantly better accuracy over the single-VAE")
MVAE_SVHN_NEEDS_BOTH = Claim(
    "MVAE's SVHN latent accuracy higher given both modalities than given SVHN alone (Table 1)", SOURCE_1,
    "When given both inputs, accuracy for SVHN improves significantly")
TABLE1_CLAIMS = (LATENT_ABOVE_SINGLE, MVAE_SVHN_NEEDS_BOTH)

CLAIMS = (CROSS_ABOVE_MVAE, CROSS_LEVEL, JOINT_ABOVE_MVAE, MVAE_NEAR_CHANCE, SYNERGY, MVAE_NO_SYNERGY,
          HIGHER_LIKELIHOODS)


def curve(histories: dict, metric) -> dict[str, list[float]]:
    """``metric(reading)`` along training: ``reading(model, column)`` is that probe column at one epoch, averaged
    over seeds. Returns ``{"steps": cumulative steps, "values": ...}`` over the epochs every run measured."""
    seeds = sorted({seed for _, seed in histories})
    models = sorted({key for key, _ in histories})
    epochs = min(len(histories[(m, s)]) for m in models for s in seeds)
    steps, values = [], []
    total = 0
    for e in range(epochs):
        total += histories[(models[0], seeds[0])][e]["steps"]

        def reading(model, column, e=e):
            return sum(histories[(model, s)][e][column] for s in seeds) / len(seeds)
        steps.append(float(total))
        values.append(float(metric(reading)))
    return {"steps": steps, "values": values}


def _mean(values) -> float:
    return sum(values) / len(values)


def _likelihood_difference(items: dict, a: tuple, b: tuple) -> Difference:
    """``a - b`` in nats between two Table 3 entries, per seed (the mean over test pairs); one seed: the standard
    error of the paired per-pair difference (both entries are estimated on the same test pairs)."""
    va, vb = items[a], items[b]
    d = (va[0] - vb[0]).double()
    error = float(d.std() / math.sqrt(d.numel())) if d.numel() > 1 else math.nan
    return difference([float(v.double().mean()) for v in va], [float(v.double().mean()) for v in vb],
                      error=error, error_kind=f"paired over {d.numel():,} test pairs")


def _pct(values) -> str:
    return f"{_mean(values):.1f}"


def table1_checks(accuracy: dict, n_items: int) -> list[Check]:
    """Table 1's claims on ``{(row, column): [% per seed]}`` (:func:`results.table1_latent_accuracy`), the linear
    classifiers scored on ``n_items`` test pairs."""
    out = []
    for claim, a, b in ((LATENT_ABOVE_SINGLE, ("SVHN", "MMVAE"), ("SVHN", "single-VAE")),
                        (MVAE_SVHN_NEEDS_BOTH, ("SVHN", "MVAE (both)"), ("SVHN", "MVAE (single)"))):
        d = coherence_difference(accuracy, a, b, n_items)
        out.append(judge(claim, d.mean > 0, [d], ours=f"{_mean(accuracy[a]):.1f} vs {_mean(accuracy[b]):.1f} %",
                         paper=f"{TABLE1_LATENT_ACCURACY[a]:g} vs {TABLE1_LATENT_ACCURACY[b]:g} %"))
    return out


def checks(coherence: dict, items: dict, histories: dict, *, n_cross: int, n_joint: int) -> list[Check]:
    """Every claim of :data:`CLAIMS` decided on one run."""
    c = coherence
    out = []

    def cross_gap(reading):
        return min(reading("mmvae", col) - reading("mvae", col) for col in CROSS)

    d = [coherence_difference(c, ("MMVAE", col), ("MVAE", col), n_cross) for col in CROSS]
    out.append(judge(CROSS_ABOVE_MVAE, all(x.mean > 0 for x in d), d, **curve(histories, cross_gap),
                     ours=" / ".join(f"{_pct(c[('MMVAE', col)])} vs {_pct(c[('MVAE', col)])} %" for col in CROSS),
                     paper=" / ".join(f"{TABLE2_COHERENCE[('MMVAE', col)]} vs {TABLE2_COHERENCE[('MVAE', col)]} %"
                                      for col in CROSS)))

    d = [coherence_difference(c, ("MMVAE", col), 60.0, n_cross) for col in CROSS]
    out.append(judge(CROSS_LEVEL, all(x.mean >= 0 for x in d), d,
                     **curve(histories, lambda r: min(r("mmvae", col) for col in CROSS)),
                     ours=" / ".join(f"{_pct(c[('MMVAE', col)])} %" for col in CROSS),
                     paper=" / ".join(f"{TABLE2_COHERENCE[('MMVAE', col)]} %" for col in CROSS)))

    d = [coherence_difference(c, ("MMVAE", "Joint"), ("MVAE", "Joint"), n_joint)]
    out.append(judge(JOINT_ABOVE_MVAE, d[0].mean > 0, d,
                     **curve(histories, lambda r: r("mmvae", "Joint") - r("mvae", "Joint")),
                     ours=f"{_pct(c[('MMVAE', 'Joint')])} vs {_pct(c[('MVAE', 'Joint')])} %",
                     paper=f"{TABLE2_COHERENCE[('MMVAE', 'Joint')]} vs {TABLE2_COHERENCE[('MVAE', 'Joint')]} %"))

    d = [coherence_difference(c, ("MVAE", col), CHANCE + 5, n_cross) for col in CROSS]
    out.append(judge(MVAE_NEAR_CHANCE, all(x.mean <= 0 for x in d), [_negate(x) for x in d],
                     **curve(histories, lambda r: max(r("mvae", col) for col in CROSS)), helps=-1,
                     ours=" / ".join(f"{_pct(c[('MVAE', col)])} %" for col in CROSS),
                     paper=" / ".join(f"{TABLE2_COHERENCE[('MVAE', col)]} %" for col in CROSS)))

    def synergy(model):
        return [_likelihood_difference(items, (f"{row} {model}", CONDITIONALS[0]), (f"{row} {model}", CONDITIONALS[1]))
                for row in ROWS]

    def synergy_text(model, table, d=None):
        gaps = [_mean(table[(f"{row} {model}", CONDITIONALS[0])]) - _mean(table[(f"{row} {model}", CONDITIONALS[1])])
                for row in ROWS]
        text = " / ".join(f"{g:+.2f}" + (f" ± {x.error:.2f}" if d else "") for g, x in zip(gaps, d or ROWS))
        return text + " nats (m = MNIST / SVHN" + (f"; {d[0].noise})" if d else ")")

    means = {key: [float(v.double().mean()) for v in values] for key, values in items.items()}
    paper3 = {key: [value] for key, value in TABLE3_LIKELIHOODS.items()}
    d = synergy("MMVAE")
    out.append(judge(SYNERGY, all(x.sign >= 0 for x in d), d, strict=False,
                     ours=synergy_text("MMVAE", means, d),
                     paper=synergy_text("MMVAE", paper3)))
    d = synergy("MVAE")
    out.append(judge(MVAE_NO_SYNERGY, all(x.mean < 0 for x in d), [_negate(x) for x in d],
                     ours=synergy_text("MVAE", means, d),
                     paper=synergy_text("MVAE", paper3)))

    d = [_likelihood_difference(items, (f"{row} MMVAE", term), (f"{row} MVAE", term))
         for row in ROWS for term in CONDITIONALS]
    out.append(judge_count(HIGHER_LIKELIHOODS, d, 5,
                           ours=f"{sum(x.sign > 0 for x in d)} of 6 above beyond noise, "
                                f"{sum(x.sign == 0 for x in d)} within noise",
                           paper="5 of 6"))
    return out


def _negate(d: Difference) -> Difference:
    """``b - a`` from ``a - b``: a claim that a difference is negative, judged as one that its negation is positive."""
    return Difference(-d.mean, d.error, d.seeds, d.agree, d.noise, d.spread)
