"""Notebook 02's plots (mixture versus product of experts, the paper's §3 and Appendices B-D): one function
per figure. They take the numbers already measured (a ``pandas.DataFrame`` of rows, as
:mod:`mmvae_lib.theory.measurements` returns them) and return a ``matplotlib`` figure; they compute no claim
themselves. Figures are saved with :func:`mmvae_lib.reporting.figures.save_figure`; the numbers behind them
go to ``outputs/<profile>/tables/`` from the notebook.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from mmvae_lib.models.distributions import Factorised

# one colour per kind of posterior, the same in every figure
COLOURS = {"expert 1": "tab:blue", "expert 2": "tab:orange", "PoE": "tab:red", "MoE": "tab:green"}


# --- saving ----------------------------------------------------------------------------------------

# --- notebook 02: mixture versus product of experts ------------------------------------------------

def plot_precision_sweep(sweep: pd.DataFrame) -> plt.Figure:
    """Left: how far the PoE mean has moved to the confident expert (0 = at the other expert, 1 = at the
    confident one) and where the MoE mean sits, against the precision ratio. Right: the log density each
    combination gives the other expert's own mean (the veto)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    ratio = sweep["precision_ratio"]
    left.semilogx(ratio, sweep["poe_pull"], "o-", color=COLOURS["PoE"], label="PoE mean")
    left.semilogx(ratio, np.full(len(sweep), 0.5), "s--", color=COLOURS["MoE"], label="MoE mean")
    left.axhline(1.0, color=COLOURS["expert 1"], lw=0.8, ls=":", label="confident expert's mean")
    left.axhline(0.0, color=COLOURS["expert 2"], lw=0.8, ls=":", label="other expert's mean")
    left.set(xlabel="precision of the confident expert / precision of the other",
             ylabel="position between the experts' means", title="Where the combined mean goes")
    left.legend(fontsize=8)
    right.semilogx(ratio, sweep["poe_log_density_at_other"], "o-", color=COLOURS["PoE"], label="PoE")
    right.semilogx(ratio, sweep["moe_log_density_at_other"], "s--", color=COLOURS["MoE"], label="MoE")
    right.semilogx(ratio, sweep["other_log_density_at_own_mean"] - np.log(2), ":", color="grey",
                   label="log q_2(μ_2) − log 2")
    right.set_yscale("symlog")
    right.set(xlabel="precision ratio", ylabel="log density at the other expert's mean",
              title="The veto: density left where the other expert is")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_densities_1d(points: torch.Tensor, densities: Mapping[float, Mapping[str, torch.Tensor]]) -> plt.Figure:
    """One panel per precision of the confident expert: both experts, their product and their mixture on
    the 1-D grid ``points`` ``(N, 1)``. The density axis is logarithmic (down to 1e-4), so a mode the
    mixture keeps stays visible beside a confident expert's spike."""
    fig, axes = plt.subplots(1, len(densities), figsize=(3.4 * len(densities), 3.0), sharey=False)
    for ax, (tau, curves) in zip(np.atleast_1d(axes), densities.items()):
        for name, log_q in curves.items():
            style = "--" if name.startswith("expert") else "-"
            ax.plot(points[:, 0], log_q.exp(), style, color=COLOURS[name], label=name)
        top = 2 * max(log_q.exp().max().item() for log_q in curves.values())
        ax.set(title=f"precision ratio {tau:g}", xlabel="z", yscale="log", ylim=(1e-4, top))
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_densities_2d(experts_by_precision: Mapping[float, Factorised], log_densities,
                      extent: tuple[float, float, float, float] = (-3, 4, -3, 4), n: int = 121) -> plt.Figure:
    """Rows PoE and MoE, one column per precision of the confident expert: filled contours of the
    combined log density (the 10 nats below its peak; lower is blank) with the two experts' 1- and 2-σ
    contours drawn over it. ``log_densities(experts, points)`` evaluates them (e.g.
    :func:`mmvae_lib.theory.log_densities`)."""
    xs, ys = np.linspace(extent[0], extent[1], n), np.linspace(extent[2], extent[3], n)
    gx, gy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1))                       # (n², 2)
    cols = len(experts_by_precision)
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.2), squeeze=False)
    for c, (tau, experts) in enumerate(experts_by_precision.items()):
        dens = log_densities(experts, points)
        for r, name in enumerate(("PoE", "MoE")):
            ax = axes[r, c]
            log_q = dens[name].reshape(n, n).numpy()
            ax.contourf(gx, gy, log_q, levels=np.linspace(log_q.max() - 10, log_q.max(), 11), cmap="Greys")
            for e in ("expert 1", "expert 2"):
                # a Gaussian's density at 1σ and 2σ, relative to its peak: exp(-1/2), exp(-2)
                peak = dens[e].max().item()
                ax.contour(gx, gy, dens[e].reshape(n, n).numpy(), levels=[peak - 2.0, peak - 0.5],
                           colors=COLOURS[e], linewidths=1)
            for m, e in enumerate(("expert 1", "expert 2")):
                ax.plot(*experts.loc[m, 0].tolist(), "x", color=COLOURS[e])
            ax.set(title=f"{name}, precision ratio {tau:g}", aspect="equal")
    fig.tight_layout()
    return fig


def plot_bounds_against_k(table: pd.DataFrame, log_p: float) -> plt.Figure:
    """Left: each bound's mean against K with the exact log p; right: its gap to log p (log scale,
    gaps ≤ 0 from Monte Carlo noise drawn at the floor)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in table.groupby("bound", sort=False):
        left.semilogx(rows["k"], rows["value"], "o-", label=name)
        right.loglog(rows["k"], rows["gap"].clip(lower=1e-4), "o-", label=name)
    left.axhline(log_p, color="black", ls="--", label="exact log p(x_1:M)")
    left.set(xlabel="K (samples per expert; per posterior for the mixture-sampled and PoE bounds)",
             ylabel="mean bound (nats)", title="Bounds against the exact log-likelihood")
    right.set(xlabel="K", ylabel="log p − bound (nats)", title="Gap to log p")
    left.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_entropy(table: pd.DataFrame, references: Mapping[str, float]) -> plt.Figure:
    """Bars: the mean entropy of each learnt expert, by training objective and initialisation; lines: the
    exact posteriors' entropies."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    labels = [f"{r.objective}\n(init {r.init}), expert {r.expert}" for r in table.itertuples()]
    colours = [COLOURS[f"expert {r.expert}"] for r in table.itertuples()]
    ax.barh(range(len(table)), table["entropy"], color=colours, alpha=0.8)
    ax.set_yticks(range(len(table)), labels, fontsize=7)
    for (name, value), style in zip(references.items(), (":", "-.", "--", "-")):
        ax.axvline(value, color="black", ls=style, lw=1, label=f"exact {name}")
    ax.set(xlabel="differential entropy (nats)", title="Entropy of the learnt experts q_m(z | x_m)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_cost(table: pd.DataFrame) -> plt.Figure:
    """Left: decoded samples per datapoint against M; right: measured seconds per step against M
    (log-log, so M² and M are straight lines of slope 2 and 1)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, rows in table.groupby("objective", sort=False):
        left.loglog(rows["m"], rows["decoded_per_point"], "o-", label=name)
        right.loglog(rows["m"], rows["seconds_per_step"], "o-", label=name)
    for ax in (left, right):
        ax.set_xticks(sorted(table["m"].unique()), [str(m) for m in sorted(table["m"].unique())])
        ax.set_xlabel("M (modalities)")
        ax.legend(fontsize=8)
    left.set(ylabel="decoded samples per datapoint", title="Decoder work (counted)")
    right.set(ylabel="seconds per step (fastest of the repeats)", title="Time per step (measured)")
    fig.tight_layout()
    return fig


def plot_snr(table: pd.DataFrame) -> plt.Figure:
    """The encoder-gradient signal-to-noise ratio against K, one line per estimator; with a ``reps``
    column, the level 1/√reps below which an SNR estimated from that many draws is mostly noise."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, rows in table.groupby("objective", sort=False):
        ax.loglog(rows["k"], rows["snr"], "o-", label=name)
    if "reps" in table:
        reps = int(table["reps"].min())
        ax.axhline(reps ** -0.5, color="grey", ls=":", label=f"1/√{reps}: noise floor of the estimate")
    ax.set(xlabel="K", ylabel="SNR of an encoder gradient", title="Gradient signal-to-noise against K")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- paper figures ---------------------------------------------------------------------------------
# (the notebooks that reproduce the paper's figures add their functions here)
