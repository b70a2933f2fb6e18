"""mmvae_lib.experiments.mhd.trajectories: a pen walk through every skeleton pixel, moving between neighbours and
jumping only between pieces; 100 points equally spaced by arc length; MHD's layout (100 x, then 100 y)."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import label

from mmvae_lib.experiments.mhd import trajectories as tr
from mmvae_lib.experiments.mnist_svhn.standin import mnist_standin


@pytest.fixture(scope="module")
def digits():
    images, labels = mnist_standin("test", seed=0)
    return images[:, 0].numpy()[::25], labels.numpy()[::25]


def test_the_walk_visits_every_skeleton_pixel_stepping_between_neighbours(digits):
    for image in digits[0]:
        mask = tr.skeleton(image)
        path = tr.pen_path(mask)
        assert {tuple(p) for p in path.astype(int)} == {tuple(p) for p in np.argwhere(mask)}
        steps = np.abs(np.diff(path, axis=0)).max(axis=1)
        jumps = int((steps > 1).sum())
        assert jumps == label(mask, connectivity=2).max() - 1      # the pen lifts only between pieces


def test_resampling_spaces_100_points_equally_along_the_walk(digits):
    walk = tr.pen_path(tr.skeleton(digits[0][0]))
    points = tr.resample(walk)
    gaps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    assert points.shape == (100, 2) and np.allclose(points[[0, -1]], walk[[0, -1]])
    length = np.linalg.norm(np.diff(walk, axis=0), axis=1).sum()
    assert gaps.sum() <= length + 1e-9 and gaps.max() <= length / 99 + 1e-9      # chords of equal arcs
    with pytest.raises(ValueError, match="empty path"):
        tr.resample(np.zeros((0, 2)))


def test_a_trace_is_100_x_then_100_y_and_normalises_to_the_unit_interval(digits):
    traces = np.stack([tr.trace(image) for image in digits[0]])
    walk = tr.resample(tr.pen_path(tr.skeleton(digits[0][0])))
    assert traces.shape == (len(digits[0]), 200)
    assert np.array_equal(traces[0, :100], walk[:, 1]) and np.array_equal(traces[0, 100:], walk[:, 0])
    normalised, constants = tr.normalise(traces)
    assert normalised.min() == 0.0 and normalised.max() == 1.0 and constants["max"] > constants["min"]


def test_an_image_is_the_pen_path_drawn_at_the_width_asked():
    line = np.concatenate([np.linspace(4, 23, 100), np.full(100, 14.0)])      # x from 4 to 23 on row 14
    thin, thick = tr.render(line, 1.0), tr.render(line, 3.0)
    assert thin.shape == (28, 28) and thin.dtype == np.float32 and thin.min() == 0.0 and 0.9 < thin.max() <= 1.0
    rows, cols = np.nonzero(thin > 0)
    assert rows.min() >= 13 and rows.max() <= 15 and cols.min() >= 3 and cols.max() <= 24
    assert thick.sum() > 2.5 * thin.sum()                     # ink grows with the width
    assert not thin[:, :3].any() and not thin[:12].any()      # nothing drawn off the path


def test_a_digit_s_image_drawn_from_its_trace_covers_the_digit(digits):
    """The trace drawn back lies on the digit: most of its ink is where the digit's own pixels are."""
    for image in digits[0][:10]:
        drawn = tr.render(tr.trace(image), 2.0)
        on_digit = drawn[np.asarray(image) > 64].sum() / drawn.sum()
        assert on_digit > 0.5
