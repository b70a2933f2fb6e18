"""What is published about real SVHN's cropped digits, and how the offline stand-in measures against it.

The stand-in (:mod:`.standin`) must follow the real data, never the paper's claims. This module
holds every public number it is calibrated to, with its source, measures the same statistics on any set
of crops (:func:`crop_statistics`), and fits the stand-in's colour parameters to them (:func:`calibrate`).
Notebook 01 prints the comparison.

Sources (real SVHN itself cannot be downloaded here):

- Pixel statistics of the train split, RGB in [0, 1]: mean (0.4377, 0.4438, 0.4728) and standard deviation
  over all pixels (0.1980, 0.2010, 0.1970), the normalisation constants in public code, e.g.
  PatrickZH/DeepCore ``deepcore/datasets/svhn.py``; the test split's (0.4524, 0.4525, 0.4690) and
  (0.2194, 0.2266, 0.2285) are used the same way in many public training scripts.
- The mean over crops of each crop's own standard deviation: train (0.1201, 0.1231, 0.1052), test
  (0.1225, 0.1283, 0.1144). These constants are also widespread as SVHN "std"; that they are per-crop
  standard deviations (how much a crop varies within itself: digit against background) is inferred, as
  for CIFAR-10's (0.2023, 0.1994, 0.2010), whose all-pixel value is (0.247, 0.243, 0.262).
- Where the digit sits: the dataset's website (http://ufldl.stanford.edu/housenumbers/): "The original
  character bounding boxes are extended in the appropriate dimension to become square windows, so that
  resizing them to 32-by-32 pixels does not introduce aspect ratio distortions. Nevertheless this
  preprocessing introduces some distracting digits to the sides of the digit of interest." A digit's box
  is taller than wide, so it spans the crop's height and is centred horizontally.
- Neighbouring digits: the number of digits per house number, train (1-6 digits) 5,137 / 18,130 / 8,691 /
  1,434 / 9 / 1 and test 2,483 / 8,356 / 2,081 / 146 / 2 / 0 (climber0824/SVHN-TODO.pytorch README,
  k-chuang/tf-svhn ``svhn-preprocessing.ipynb``; they sum to the 73,257 and 26,032 crops of the official
  splits). A digit of a one-digit number has no neighbour, the first and last of a longer number one,
  the others two: :data:`NEIGHBOUR_SHARES`.
- Digits per class in the official files (:data:`.data.REAL_CLASS_COUNTS`); the stand-in keeps
  their proportions.
- Not published anywhere we could find: colour saturation, the share of light-on-dark digits, the
  distribution of digit-background contrast beyond the per-crop deviation above, how loose the boxes are,
  blur and noise. The stand-in states its assumption for each (:class:`.standin.Layout`): half
  the digits dark on light, the others light on dark.
- A LeNet-style classifier on real SVHN reaches about 88-93 % test accuracy (Ganin & Lempitsky 2015,
  Table 1, "train on target": 92.2 % with three convolutions; LeNet-5 92.1-93.3 % in Kandemir et al. 2022),
  the range the stand-in's judge should land in (:data:`JUDGE_ACCURACY`).
"""
from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np
import torch

# published pixel statistics per split: mean, all-pixel std, mean per-crop std (R, G, B; pixels in [0, 1])
PIXEL_STATISTICS = {
    "train": {"mean": (0.4377, 0.4438, 0.4728), "std": (0.1980, 0.2010, 0.1970),
              "per-crop std": (0.1201, 0.1231, 0.1052)},
    "test": {"mean": (0.4524, 0.4525, 0.4690), "std": (0.2194, 0.2266, 0.2285),
             "per-crop std": (0.1225, 0.1283, 0.1144)},
}

# digits per house number (1, 2, ..., 6) in each split
NUMBER_LENGTHS = {"train": (5137, 18130, 8691, 1434, 9, 1), "test": (2483, 8356, 2081, 146, 2, 0)}

JUDGE_ACCURACY = (0.88, 0.93)   # LeNet-style classifiers on real SVHN's test split


def neighbour_shares(lengths) -> tuple[float, float, float]:
    """Shares of crops with no neighbouring digit, one, and two, from the house numbers' lengths: a number
    of n ≥ 2 digits gives 2 end digits (one neighbour) and n − 2 middle ones (two)."""
    none = lengths[0]
    one = sum(2 * count for n, count in enumerate(lengths, 1) if n >= 2)
    two = sum((n - 2) * count for n, count in enumerate(lengths, 1) if n >= 2)
    total = none + one + two
    return none / total, one / total, two / total


NEIGHBOUR_SHARES = {split: neighbour_shares(lengths) for split, lengths in NUMBER_LENGTHS.items()}


def crop_statistics(images: torch.Tensor) -> dict[str, tuple[float, float, float]]:
    """The published statistics measured on ``images`` (N, 3, H, W), uint8 or float in [0, 1]: per channel
    the mean, the standard deviation over all pixels and the mean of each crop's own standard deviation;
    and, without a published target, the mean HSV saturation (as a one-element tuple)."""
    x = images.double() / 255 if images.dtype == torch.uint8 else images.double()
    per_channel = x.transpose(0, 1).flatten(1)                                    # (3, N·H·W)
    crop_std = x.flatten(2).std(-1, unbiased=False).mean(0)                       # (3,)
    high, low = x.amax(1), x.amin(1)                                              # (N, H, W)
    saturation = torch.where(high > 0, (high - low) / high.clamp_min(1e-12), torch.zeros_like(high)).mean()
    return {"mean": tuple(per_channel.mean(1).tolist()), "std": tuple(per_channel.std(1, unbiased=False).tolist()),
            "per-crop std": tuple(crop_std.tolist()), "HSV saturation": (saturation.item(),)}


def comparison(split: str, images: torch.Tensor) -> list[dict]:
    """One row per statistic and channel: the real target, the stand-in's value, the difference."""
    measured = crop_statistics(images)
    rows = []
    for statistic, target in PIXEL_STATISTICS[split].items():
        for channel, real, ours in zip("RGB", target, measured[statistic]):
            rows.append({"split": split, "statistic": statistic, "channel": channel, "real SVHN": real,
                         "stand-in": ours, "difference": ours - real})
    rows.append({"split": split, "statistic": "HSV saturation", "channel": "-", "real SVHN": float("nan"),
                 "stand-in": measured["HSV saturation"][0], "difference": float("nan")})
    return rows


def calibrate(split: str, *, n: int = 4_000, seed: int = 0, verbose: bool = True):
    """Fit the :class:`.standin.Appearance` of ``split`` so that ``n`` crops drawn with ``seed``
    have the published mean, all-pixel std and per-crop std of each channel (nine numbers, eight
    parameters, least squares with scipy). The same crops are redrawn at every evaluation, so the fit
    sees a smooth function. Returns the fitted Appearance; :data:`.standin.APPEARANCE` holds
    the result (rounded), so the generator does not refit on every call."""
    from scipy.optimize import least_squares

    from mmvae_lib.experiments.mnist_svhn import standin

    names = [f.name for f in fields(standin.Appearance)]
    start = np.array([getattr(standin.APPEARANCE[split], name) for name in names])
    lower = np.array([0.2, 0.02, 0.02, 0.0, -0.1, -0.1, 0.3, 0.3])
    upper = np.array([0.8, 0.4, 0.8, 0.3, 0.1, 0.1, 1.5, 1.5])
    target = np.concatenate([PIXEL_STATISTICS[split][k] for k in ("mean", "std", "per-crop std")])

    def residual(values):
        appearance = standin.Appearance(**dict(zip(names, values.tolist())))
        images, _ = standin.svhn_standin(n // 10, seed, split=split, appearance=appearance)
        measured = crop_statistics(images)
        return np.concatenate([measured[k] for k in ("mean", "std", "per-crop std")]) - target

    fit = least_squares(residual, np.clip(start, lower, upper), bounds=(lower, upper), diff_step=1e-3,
                        x_scale=0.1, max_nfev=60)
    fitted = standin.Appearance(**dict(zip(names, np.round(fit.x, 4).tolist())))
    if verbose:
        print(f"{split}: {asdict(fitted)}; largest remaining difference {np.abs(fit.fun).max():.4f}")
    return fitted
