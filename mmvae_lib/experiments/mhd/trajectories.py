"""Pen trajectories traced from MNIST digits, for the offline MHD stand-in (issue 26): MHD's trajectories are
recorded pen strokes; offline there are none, so each digit's stroke is traced from its image.

- :func:`skeleton`: the binarised digit (pixel > 128) thinned to a one-pixel-wide skeleton (scikit-image);
- :func:`pen_path`: a walk that visits every skeleton pixel: depth first along 8-connected neighbours from an
  end of the stroke (a pixel with one neighbour, else the top-left-most pixel), returning along the way it came
  where a branch ends, as a pen retracing; a skeleton in several pieces is walked piece by piece, the pen
  jumping between them (MHD's trajectories are single arrays too);
- :func:`resample`: 100 points equally spaced by arc length along the walk;
- the result as MHD stores it: 100 x then 100 y, which the dataset min–max normalises (:func:`normalise`).

What is not like MHD: these strokes are traced, not recorded, so they carry no writing order or speed of a
person's hand; retraced branches double back on themselves.
"""
from __future__ import annotations

import numpy as np

POINTS = 100
_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def skeleton(digit: np.ndarray) -> np.ndarray:
    """The skeleton of a digit image ``(28, 28)`` (uint8), binarised at > 128: bool ``(28, 28)``."""
    from skimage.morphology import skeletonize

    return skeletonize(np.asarray(digit) > 128)


def _neighbours(pixels: set, pixel: tuple[int, int]) -> list[tuple[int, int]]:
    r, c = pixel
    return [(r + dr, c + dc) for dr, dc in _NEIGHBOURS if (r + dr, c + dc) in pixels]


def pen_path(mask: np.ndarray) -> np.ndarray:
    """A walk ``(L, 2)`` (row, column) through every pixel of ``mask`` (module docstring); empty ``(0, 2)`` for
    an empty mask. Consecutive points are 8-neighbours except where the pen jumps to the next piece."""
    pixels = {tuple(p) for p in np.argwhere(mask)}
    path: list[tuple[int, int]] = []
    unvisited = set(pixels)
    while unvisited:
        ends = sorted(p for p in unvisited if len(_neighbours(pixels, p)) == 1)
        start = ends[0] if ends else min(unvisited)
        stack, seen, back = [start], {start}, []
        unvisited.discard(start)
        path.append(start)
        while stack:
            here = stack[-1]
            following = sorted(n for n in _neighbours(pixels, here) if n not in seen)
            if following:
                path.extend(back)                       # the way back to this branch point, retraced
                back = []
                step = following[0]
                seen.add(step)
                unvisited.discard(step)
                stack.append(step)
                path.append(step)
            else:
                stack.pop()
                if stack:
                    back.append(stack[-1])              # kept only if the walk goes on from further back
    return np.array(path, dtype=np.float64).reshape(-1, 2)


def resample(path: np.ndarray, points: int = POINTS) -> np.ndarray:
    """``points`` points ``(points, 2)`` equally spaced by arc length along ``path`` ``(L, 2)``."""
    if len(path) == 0:
        raise ValueError("an empty path has no points to resample")
    if len(path) == 1:
        return np.repeat(path, points, axis=0)
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.linspace(0.0, along[-1], points)
    return np.stack([np.interp(at, along, path[:, 0]), np.interp(at, along, path[:, 1])], axis=1)


def trace(digit: np.ndarray, points: int = POINTS) -> np.ndarray:
    """A digit image's trajectory as MHD stores one: ``points`` x (columns) then ``points`` y (rows), in pixels."""
    walk = resample(pen_path(skeleton(digit)), points)
    return np.concatenate([walk[:, 1], walk[:, 0]])


def normalise(trajectories: np.ndarray, low: float | None = None, high: float | None = None):
    """Min–max normalisation to [0, 1] over the whole set (``low``/``high``: another set's, e.g. train's for
    test), as MHD stores its trajectories; returns the normalised array and ``{"min", "max"}``."""
    low = float(trajectories.min()) if low is None else low
    high = float(trajectories.max()) if high is None else high
    return (trajectories - low) / (high - low), {"min": low, "max": high}


SUPERSAMPLE = 4              # images are drawn this many times larger, then averaged down (antialiasing)


def render(trajectory: np.ndarray, width: float, size: int = 28) -> np.ndarray:
    """An image of a trajectory as MHD stores one (``points`` x then ``points`` y, in pixels of a ``size`` ×
    ``size`` image): the pen's path drawn as a polyline ``width`` pixels wide, white on black, antialiased
    (drawn :data:`SUPERSAMPLE` times larger with round joints, then averaged down). Returns float32
    ``(size, size)`` in [0, 1]. As MHD renders its images from its trajectories; the width is varied by the
    caller."""
    from PIL import Image, ImageDraw

    half = len(trajectory) // 2
    s = SUPERSAMPLE
    points = [((x + 0.5) * s, (y + 0.5) * s) for x, y in zip(trajectory[:half], trajectory[half:], strict=True)]
    canvas = Image.new("L", (size * s, size * s), 0)
    pen = max(1, round(width * s))
    draw = ImageDraw.Draw(canvas)
    draw.line(points, fill=255, width=pen, joint="curve")
    for x, y in (points[0], points[-1]):                      # round caps
        draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=255)
    small = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0
