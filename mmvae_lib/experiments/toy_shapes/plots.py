"""The seed's Figure 2 on the toy: the 2-D latent space of the joint model, each point a test pair's joint
posterior mean coloured by its square's class and size, with samples of q(z | x_square) for one large
filled square on top; below each panel, circles generated from those samples, framed in red where the
generation is wrong (the other class) or no shape of the dataset."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from mmvae_lib.reporting.figures import tile

RED = np.array([0.85, 0.1, 0.1])


def framed_tile(images: torch.Tensor, bad: torch.Tensor, ncol: int, pad: int = 2) -> np.ndarray:
    """:func:`mmvae_lib.reporting.figures.tile` with a red frame around the images where ``bad``."""
    canvas = tile(images, ncol, pad)
    h, w = images.shape[-2:]
    for i in torch.nonzero(bad).flatten().tolist():
        r, q = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        block = canvas[top - pad: top + h + pad, left - pad: left + w + pad].copy()
        canvas[top - pad: top + h + pad, left - pad: left + w + pad] = RED
        canvas[top: top + h, left: left + w] = block[pad: pad + h, pad: pad + w]
    return canvas


def plot_latent_posteriors(points: torch.Tensor, square_size: torch.Tensor, filled: torch.Tensor,
                           panels: Mapping[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                           square: torch.Tensor, ncol: int = 6) -> Figure:
    """``points`` ``(N, 2)`` joint posterior means, coloured by ``filled`` (blues: filled, oranges: empty) and
    ``square_size`` (darker: larger); ``panels[title] = (samples (K, 2), generations (K, 1, H, W), bad (K,))``;
    ``square`` the conditioning image ``(1, H, W)``."""
    titles = list(panels)
    fig = Figure(figsize=(3.4 * len(titles) + 1.2, 6.6))
    grid = fig.add_gridspec(2, len(titles) + 1, height_ratios=[1.15, 1], width_ratios=[0.35] + [1] * len(titles))
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(square[0].cpu(), cmap="gray_r")
    ax.set_title("x_square", fontsize=8)
    ax.axis("off")
    pts, size, full = points.cpu().numpy(), square_size.cpu().numpy(), filled.cpu().numpy().astype(bool)
    shade = 0.25 + 0.75 * (size - size.min()) / max(size.max() - size.min(), 1e-9)
    colours = np.where(full[:, None], colormaps["Blues"](shade), colormaps["Oranges"](shade))
    every = np.concatenate([pts] + [panel[0].cpu().numpy() for panel in panels.values()])
    lo, hi = np.percentile(every, 0.5, axis=0), np.percentile(every, 99.5, axis=0)
    margin = 0.1 * (hi - lo)
    for i, title in enumerate(titles):
        samples, images, bad = panels[title]
        ax = fig.add_subplot(grid[0, i + 1])
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c=colours, alpha=0.5, linewidths=0)
        z = samples.cpu().numpy()
        ax.scatter(z[:, 0], z[:, 1], s=5, c="black", alpha=0.6, linewidths=0, label="z ~ q(z | x_square)")
        ax.set_xlim(lo[0] - margin[0], hi[0] + margin[0])
        ax.set_ylim(lo[1] - margin[1], hi[1] + margin[1])
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, loc="lower right", markerscale=2)
        ax = fig.add_subplot(grid[1, i + 1])
        ax.imshow(framed_tile(1 - images[: ncol * ncol].cpu(), bad[: ncol * ncol].cpu(), ncol))   # black on white
        ax.set_title(f"circles generated ({int(bad.sum())}/{len(bad)} wrong or off-data)", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig
