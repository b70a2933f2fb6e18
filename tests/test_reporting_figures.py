"""mmvae_lib.figures: image tiling, and each figure saved with the data behind it."""
import numpy as np
import pandas as pd
import torch

from mmvae_lib.reporting import figures


def test_tile_places_images_row_major():
    """tile puts image i at row i // ncol, column i % ncol, greyscale expanded to RGB, with padding."""
    images = torch.stack([torch.full((1, 2, 2), v) for v in (0.1, 0.2, 0.3)])
    canvas = figures.tile(images, ncol=2, pad=1)
    assert canvas.shape == (2 * 3 + 1, 2 * 3 + 1, 3)
    assert np.allclose(canvas[1:3, 4:6], 0.2) and np.allclose(canvas[4:6, 1:3], 0.3)
    assert np.allclose(canvas[4:6, 4:6], 1.0)                                 # the empty slot stays white


def test_figures_save_png_with_their_data(tmp_path, monkeypatch):
    """Each plotting function returns a figure; save_figure writes the PNG and its CSV or NPZ data."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    kl = figures.plot_kl(torch.rand(2, 5), torch.rand(5), ["MNIST", "SVHN"])
    table = pd.DataFrame({"dimension": range(5), "kl": np.arange(5.0)})
    png = figures.save_figure(kl, "unit", "05_kl", table)
    assert png.exists() and png.with_suffix(".csv").exists()
    panels = {"a": torch.rand(4, 1, 28, 28), "b": torch.rand(4, 3, 32, 32)}
    png = figures.save_figure(figures.plot_panels(panels, 2), "unit", "04_panels", panels)
    assert np.load(png.with_suffix(".npz"))["b"].shape == (4, 3, 32, 32)
    sweeps = [torch.rand(3, 5, 1, 28, 28), torch.rand(3, 5, 3, 32, 32)]
    assert figures.plot_traversals(sweeps, ["MNIST", "SVHN"]).axes
    histories = pd.DataFrame({"model": ["mmvae"] * 2, "seed": [0, 0], "epoch": [1, 2], "bound": [-9.0, -8.0]})
    assert figures.plot_training_curves(histories).axes
    points = np.random.default_rng(0).normal(size=(6, 2))
    assert figures.plot_embedding(points, ["prior"] * 2 + ["q"] * 4, np.array([-1, -1, 1, 2, 3, 4]), "t").axes


def test_curves_skip_runs_without_the_measurement():
    """plot_curves draws one line per (model, seed) that has the column, and none for runs without it."""
    histories = pd.DataFrame({"model": ["mmvae", "mmvae", "mvae", "mvae"], "seed": [0, 0, 0, 0],
                              "epoch": [1, 2, 1, 2], "Joint": [10.0, 20.0, np.nan, np.nan]})
    fig = figures.plot_curves(histories, ["Joint", "absent"], chance={"Joint": 10.0})
    joint, absent = fig.axes
    assert [len(line.get_xdata()) for line in joint.lines] == [2, 2]   # mmvae's curve, then the chance line
    assert not absent.lines


def test_plot_against_subset_size_draws_seeds_means_and_published_lines():
    """One panel per plotted column (every seed a point, a line through each model's means), the published
    numbers dashed, and a last panel for unconditional generation."""
    points = pd.DataFrame({"model": ["MMVAE"] * 4 + ["MoPoE"] * 4, "seed": [0, 1] * 4, "size": [1, 1, 2, 2] * 2,
                           "coherence": [80.0, 78.0, 79.0, 81.0, 60.0, 62.0, 75.0, 74.0]})
    reference = pd.DataFrame({"model": ["MoPoE", "MoPoE"], "size": [1, 2], "coherence": [61.4, 74.8]})
    scatter = pd.DataFrame({"model": ["MMVAE", "MoPoE"], "seed": [0, 0], "joint": [20.0, 30.0], "FD": [3.0, 2.0]})
    fig = figures.plot_against_subset_size(points, {"coherence": "coherence (%)"}, reference=reference,
                                           scatter=scatter, scatter_axes=("FD", "joint"))
    coherence_axes, joint_axes = fig.axes
    assert [len(line.get_xdata()) for line in coherence_axes.lines] == [2, 2, 2]   # two means, one published
    assert len(coherence_axes.collections) == 2 and len(joint_axes.collections) == 2


def test_panels_label_each_image_with_the_judges_reading():
    """A panel with readings carries one label per image at its tile's corner: the digit read, green where it is
    the expected digit, red where not; panels without readings carry none."""
    panels = {"MMVAE: MNIST → SVHN": torch.rand(4, 3, 32, 32), "input": torch.rand(4, 1, 28, 28)}
    read, expected = torch.tensor([3, 1, 4, 1]), torch.tensor([3, 1, 5, 9])
    fig = figures.plot_panels(panels, 2, readings={"MMVAE: MNIST → SVHN": (read, expected)})
    labelled, plain = fig.axes[0], fig.axes[1]
    texts = [(t.get_text(), t.get_bbox_patch().get_facecolor()[:3], t.get_position()) for t in labelled.texts]
    assert [t[0] for t in texts] == ["3", "1", "4", "1"] and len(plain.texts) == 0
    green, red = (0.0, 0.5019607843137255, 0.0), (1.0, 0.0, 0.0)
    assert [t[1] for t in texts] == [green, green, red, red]
    assert texts[3][2] == (1 + 1 * 33 + 1, 1 + 1 * 33 + 1)                    # row 1, column 1 of 32-pixel tiles


def test_the_subset_size_legend_sits_below_the_panels_not_on_them():
    """The legend of the coherence-against-|S| figure is the figure's, under the panels: no panel holds one."""
    points = pd.DataFrame({"model": ["JNF"] * 4 + ["MMVAE"] * 4, "seed": [0] * 8, "size": [1, 2, 3, 4] * 2,
                           "coherence": np.linspace(10, 90, 8)})
    reference = pd.DataFrame({"model": ["JNF"] * 4, "size": [1, 2, 3, 4], "coherence": [67.5, 84.8, 90.3, 91.7]})
    fig = figures.plot_against_subset_size(points, {"coherence": "coherence (%)"}, reference=reference)
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["JNF", "MMVAE", "JNF (published)"]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    assert legend.get_window_extent(renderer).y1 <= fig.axes[0].get_tightbbox(renderer).y0 + 1
