"""The papers' figures: image grids (generations, reconstructions, samples of data), traversals and
per-dimension KLs (MMVAE Figure 5), latent embeddings, curves against the epoch or against the number of
observed modalities. Each function returns a matplotlib figure outside pyplot's global state;
:func:`save_figure` writes it with the data behind it (CSV for numbers, NPZ for images) under
``outputs/<profile>/figures``. (Notebook 02's theory plots live with its measurements, in
:mod:`mmvae_lib.theory.plots`, and are saved through the same function.)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mmvae_lib.paths import artefact_name, output_dir


def _figure(rows: int, cols: int, figsize, **kw):
    """A figure outside pyplot's global state: it works headless and a notebook shows it once."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **kw)


def tile(images: torch.Tensor, ncol: int, pad: int = 1) -> np.ndarray:
    """Images ``(N, C, H, W)`` in [0, 1] → one ``(rows·(H+pad), ncol·(W+pad), 3)`` array, row-major."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, c, h, w = images.shape
    rows = -(-n // ncol)
    canvas = torch.ones(rows * (h + pad) + pad, ncol * (w + pad) + pad, 3)
    for i in range(n):
        r, q = divmod(i, ncol)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = \
            images[i].permute(1, 2, 0)
    return canvas.numpy()


def plot_panels(panels: Mapping[str, torch.Tensor], ncol: int, *, columns: int = 2, size: float = 3.2,
                readings: Mapping[str, tuple[torch.Tensor, torch.Tensor | None]] | None = None):
    """A figure of titled image grids, e.g. Figure 4's "MMVAE: joint MNIST" beside "MVAE: joint MNIST".
    ``readings[title] = (read, expected)``: the digit a judge reads in each image of that panel ``(N,)``, written
    in its corner, green where it is the ``expected`` digit ``(N,)`` and red where not (grey with no expected):
    what the coherence tables count, image by image."""
    rows = -(-len(panels) // columns)
    tiles = {title: tile(images, ncol) for title, images in panels.items()}
    aspect = max(t.shape[0] / t.shape[1] for t in tiles.values())        # height / width of a panel
    fig, axes = _figure(rows, columns, (columns * size, rows * (size * aspect + 0.35)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, canvas) in zip(axes.flat, tiles.items()):
        ax.imshow(canvas)
        ax.set_title(title, fontsize=9)
        if readings and title in readings:
            _label_tiles(ax, panels[title].shape[-2:], ncol, *readings[title])
    fig.tight_layout()
    return fig


def _label_tiles(ax, size, ncol: int, read: torch.Tensor, expected: torch.Tensor | None, pad: int = 1) -> None:
    """Write each tile's judged digit in its top-left corner (the layout of :func:`tile`)."""
    h, w = size
    for i, digit in enumerate(read.tolist()):
        r, q = divmod(i, ncol)
        colour = "grey" if expected is None else ("green" if digit == int(expected[i]) else "red")
        ax.text(pad + q * (w + pad) + 1, pad + r * (h + pad) + 1, str(digit), color="white", fontsize=6,
                ha="left", va="top", bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.8})


def plot_traversals(per_modality: Sequence[torch.Tensor], names: Sequence[str], dims: Sequence[int] | None = None):
    """Figure 5 (left): for each latent dimension (row), the decodings in each modality as that dimension
    sweeps its range (columns). ``per_modality[n]`` is ``(D, steps, *image)``."""
    d = per_modality[0].shape[0]
    dims = list(range(d)) if dims is None else list(dims)
    fig, axes = _figure(1, len(per_modality), (3.0 * len(per_modality), 0.32 * len(dims) + 0.8))
    for ax, images, name in zip(np.atleast_1d(axes), per_modality, names):
        steps = images.shape[1]
        ax.imshow(tile(images[dims].flatten(0, 1), steps))
        ax.set_title(f"{name}: traversals", fontsize=9)
        ax.set_yticks([(i + 0.5) * (images.shape[-1] + 1) for i in range(len(dims))], [str(i) for i in dims],
                      fontsize=6)
        ax.set_xticks([])
        ax.set_ylabel("latent dimension", fontsize=8)
    fig.tight_layout()
    return fig


def plot_kl(kl_prior: torch.Tensor, kl_sym: torch.Tensor, names: Sequence[str]):
    """Figure 5 (right): per-dimension KL(q(z|x_m) || p(z)) for each modality, and the symmetric KL between
    the two posteriors."""
    d = kl_prior.shape[1]
    x = np.arange(d)
    fig, axes = _figure(2, 1, (7, 4), sharex=True)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        axes[0].bar(x + (i - (len(names) - 1) / 2) * width, kl_prior[i].numpy(), width, label=name)
    axes[0].set_ylabel("KL(q_m || p)")
    axes[0].legend(fontsize=8)
    axes[1].bar(x, kl_sym.numpy(), 0.6, color="grey")
    axes[1].set_ylabel("sym. KL(q_1, q_2)")
    axes[1].set_xlabel("latent dimension")
    axes[1].set_xticks(x)
    fig.tight_layout()
    return fig


def plot_embedding(points: np.ndarray, groups: Sequence[str], digits: np.ndarray, title: str):
    """A 2-D embedding of latent samples, coloured by source (prior, q(z|x_1), ...) and by digit."""
    fig, axes = _figure(1, 2, (9, 4))
    groups = np.asarray(groups)
    for g in dict.fromkeys(groups):
        sel = groups == g
        axes[0].scatter(points[sel, 0], points[sel, 1], s=3, alpha=0.6, label=g)
    axes[0].legend(fontsize=7, markerscale=3)
    axes[0].set_title(f"{title}: by source", fontsize=9)
    has_digit = digits >= 0
    scatter = axes[1].scatter(points[has_digit, 0], points[has_digit, 1], s=3, c=digits[has_digit], cmap="tab10")
    fig.colorbar(scatter, ax=axes[1], ticks=range(10))
    axes[1].set_title(f"{title}: posterior samples by digit", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_training_curves(histories: pd.DataFrame):
    """The mean training bound per epoch, one line per (model, seed); ``histories`` has columns model,
    seed, epoch, bound."""
    names = list(dict.fromkeys(histories["model"]))
    fig, axes = _figure(1, len(names), (3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        for seed, rows in histories[histories["model"] == name].groupby("seed"):
            ax.plot(rows["epoch"], rows["bound"], marker="o", ms=3, label=f"seed {seed}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("training bound (nats)")
    fig.tight_layout()
    return fig


def plot_curves(histories: pd.DataFrame, columns: Sequence[str], *, chance: Mapping[str, float] | None = None):
    """One panel per column of ``histories`` (columns model, seed, epoch and ``columns``), one line per
    (model, seed) against the epoch; a dotted line at ``chance[column]`` where given. Rows without a
    measurement (runs trained without one) are left out."""
    fig, axes = _figure(1, len(columns), (3.0 * len(columns), 2.8), squeeze=False)
    for ax, column in zip(axes[0], columns):
        rows = histories.dropna(subset=[column]) if column in histories else histories.iloc[:0]
        for (name, seed), run in rows.groupby(["model", "seed"], sort=False):
            ax.plot(run["epoch"], run[column], marker="o", ms=2, lw=1, label=f"{name}, seed {seed}")
        if chance and column in chance:
            ax.axhline(chance[column], color="grey", ls=":", lw=1)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("epoch")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def save_figure(fig, profile: str, name: str, data: pd.DataFrame | Mapping[str, torch.Tensor] | None = None,
                dpi: int = 110) -> Path:
    """Write ``outputs/<profile>/figures/<name>.png`` and the data behind it (``<name>.csv`` for a table,
    ``<name>.npz`` for tensors). Returns the PNG's path. Every figure of the project is saved here; ``name`` is
    ``NN_<what>`` (:func:`mmvae_lib.paths.artefact_name`)."""
    from mmvae_lib.training.trainer import dry_run_label

    artefact_name(name)
    if dry_run_label():                     # a dry run's figure says so across its top
        fig.suptitle(dry_run_label(), color="red", fontsize=8)
    folder = output_dir(profile, "figures")
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if isinstance(data, pd.DataFrame):
        data.to_csv(folder / f"{name}.csv", index=False)
    elif data is not None:
        np.savez_compressed(folder / f"{name}.npz", **{k: v.detach().cpu().numpy() for k, v in data.items()})
    return path


def plot_against_subset_size(points: pd.DataFrame, columns: Mapping[str, str], *,
                             reference: pd.DataFrame | None = None, scatter: pd.DataFrame | None = None,
                             scatter_axes: tuple[str, str] | None = None, title: str = ""):
    """The JNF paper's Figure 4 layout: one panel per entry of ``columns`` (column of ``points`` → axis label), the
    value against the number of observed modalities |S|, every seed a point and a line through each model's
    mean; ``points`` has columns model, seed, size and the plotted ones. ``reference`` (columns model,
    size, and the plotted ones; published numbers) is drawn dashed with hollow markers. ``scatter`` (columns
    model, seed and the two ``scatter_axes``) adds a last panel, one point per (model, seed): unconditional
    generation. A model keeps its colour in every panel."""
    models = list(dict.fromkeys(points["model"]))
    if reference is not None:
        models += [m for m in dict.fromkeys(reference["model"]) if m not in models]
    colours = {m: f"C{i}" for i, m in enumerate(models)}
    n_panels = len(columns) + (scatter is not None)
    fig, axes = _figure(1, n_panels, (3.4 * n_panels, 3.0), squeeze=False)
    for ax, (col, label) in zip(axes[0], columns.items()):
        rows = points.dropna(subset=[col])
        for model, group in rows.groupby("model", sort=False):
            ax.scatter(group["size"], group[col], s=14, color=colours[model], alpha=0.7)
            means = group.groupby("size")[col].mean()
            ax.plot(means.index, means.values, color=colours[model], lw=1.2, label=model)
        if reference is not None and col in reference:
            for model, group in reference.dropna(subset=[col]).groupby("model", sort=False):
                ax.plot(group["size"], group[col], ls="--", marker="o", mfc="none", lw=0.9, color=colours[model],
                        label=f"{model} (published)")
        ax.set_xlabel("observed modalities |S|")
        ax.set_ylabel(label, fontsize=8)
        ax.set_xticks(sorted(rows["size"].dropna().unique()))
    if scatter is not None:
        ax = axes[0][-1]
        x, y = scatter_axes
        for model, group in scatter.groupby("model", sort=False):
            ax.scatter(group[x], group[y], s=18, color=colours[model], label=model)
        ax.set_xlabel(x, fontsize=8)
        ax.set_ylabel(y, fontsize=8)
        ax.set_title("unconditional generation", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()      # one legend below the panels, covering none
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8)
    rows_of_legend = -(-len(labels) // 5)
    fig.tight_layout(rect=(0, 0.06 + 0.05 * rows_of_legend, 1, 1))
    return fig


def plot_captioned(panels: Mapping[str, Sequence[tuple[torch.Tensor, str]]], *, width: float = 1.55,
                   wrap: int = 24):
    """Rows of images with their captions printed underneath (MMVAE Figure 7): ``panels`` maps a row title to
    its (image ``(3, H, W)``, uint8 or in [0, 1]; caption) items."""
    import textwrap

    columns = max(len(items) for items in panels.values())
    lines = max(len(textwrap.wrap(text, wrap)) or 1 for items in panels.values() for _, text in items)
    fig, axes = _figure(len(panels), columns, (width * columns, len(panels) * (width + 0.13 * lines + 0.25)),
                        squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for row, (title, items) in zip(axes, panels.items()):
        row[0].set_title(title, fontsize=9, loc="left")
        for ax, (image, text) in zip(row, items):
            image = image.detach().cpu()
            image = image.float() / 255 if image.dtype == torch.uint8 else image.float()
            ax.imshow(image.clamp(0, 1).permute(1, 2, 0).numpy())
            ax.text(0.5, -0.04, "\n".join(textwrap.wrap(text, wrap)), transform=ax.transAxes, ha="center", va="top",
                    fontsize=6.5)
    fig.subplots_adjust(hspace=0.15 + 0.09 * lines, wspace=0.08)
    return fig
