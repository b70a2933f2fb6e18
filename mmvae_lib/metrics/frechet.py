"""Fréchet distances between sets of images (Heusel et al. 2017): fit a Gaussian to each set's features and

    FD = ‖μ_real − μ_gen‖² + tr(Σ_real + Σ_gen − 2 (Σ_real Σ_gen)^{1/2}),

computed by torchmetrics' ``FrechetInceptionDistance`` (feature sums and covariances in float64) in one of
two feature spaces:

- **the standard FID**: InceptionV3 pool3 features (2,048), with the weights file the FID literature uses,
  ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid's port of the TensorFlow graph; torch-fidelity
  downloads the same port under another name), given by the user as a path (or ``$MMVAE_INCEPTION_WEIGHTS``)
  and refused unless its sha256 is :data:`INCEPTION_SHA256`. Images are resized to 299×299 with
  TensorFlow-1-compatible bilinear interpolation (torch-fidelity's; pytorch-fid, which the MoPoE evaluation
  uses, resizes with torch's bilinear, so values differ slightly). torchmetrics builds this network from
  torch-fidelity: install the optional extra ``mmvae-lib[fid]``.
- **offline**: the same distance in the feature space of a module the caller gives (for PolyMNIST, the
  penultimate layer of the project's digit classifier). That is not an FID, and is never called one: its
  values are not comparable with published FIDs.

Images enter as a PNG file holds them, as the MoPoE evaluation writes them before scoring: clamped to [0, 1]
and rounded to 8 bits (:func:`to_uint8`, torchvision ``save_image``'s rounding).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from mmvae_lib.paths import file_digest

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
INCEPTION_ENV = "MMVAE_INCEPTION_WEIGHTS"
FID_NAME = "FID (InceptionV3 pool3)"


class WeightsChecksumError(ValueError):
    """A weights file whose sha256 is not the one expected."""


def to_uint8(images: Tensor) -> Tensor:
    """Images in [0, 1] (any float values) → uint8 as a PNG stores them: clamp, ×255, round half up."""
    return (images.detach().float() * 255 + 0.5).clamp_(0, 255).to(torch.uint8)


def _fid_class():
    from mmvae_lib._torchvision import import_torchvision

    import_torchvision()            # torchmetrics' image package imports torchvision (see mmvae_lib._torchvision)
    from torchmetrics.image.fid import FrechetInceptionDistance
    return FrechetInceptionDistance


def feature_metric(features: nn.Module):
    """A torchmetrics Fréchet distance in the feature space of ``features`` (a module mapping uint8 images
    ``(B, C, H, W)`` to ``(B, F)``, with a ``num_features`` attribute), for :class:`FrechetDistance`."""
    return _fid_class()(feature=features, reset_real_features=False)


def inception_weights(path: str | os.PathLike | None = None, *, sha256: str = INCEPTION_SHA256) -> Path | None:
    """The user's InceptionV3 weights file: ``path``, else ``$MMVAE_INCEPTION_WEIGHTS``, else None (then the
    notebooks use the offline distance). Raises :class:`WeightsChecksumError` unless its sha256 is ``sha256``."""
    path = path or os.environ.get(INCEPTION_ENV)
    if not path:
        return None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the Inception weights file {path} does not exist (expected {INCEPTION_FILE})")
    found = file_digest(path)
    if found != sha256:
        raise WeightsChecksumError(f"the Inception weights file {path} has sha256 {found}, expected {sha256} "
                                   f"({INCEPTION_FILE}, the weights of the standard FID): refusing to compute an "
                                   f"FID with other weights")
    return path


def inception_metric(path: str | os.PathLike | None = None, *, sha256: str = INCEPTION_SHA256):
    """The standard FID (see the module docstring) with the weights at ``path`` (checked by
    :func:`inception_weights`). Needs torch-fidelity; says how to install it when it is missing."""
    weights = inception_weights(path, sha256=sha256)
    if weights is None:
        raise ValueError(f"the standard FID needs the InceptionV3 weights file {INCEPTION_FILE}: pass its path "
                         f"or set ${INCEPTION_ENV}")
    if importlib.util.find_spec("torch_fidelity") is None:
        raise ModuleNotFoundError(
            "the standard FID needs torch-fidelity (torchmetrics builds InceptionV3 from it): install the optional "
            "extra with `pip install -e '.[fid]'` (or `pip install torch-fidelity`); without it, use the Fréchet "
            "distance in a classifier's feature space (feature_metric)")
    return _fid_class()(feature=2048, reset_real_features=False, feature_extractor_weights_path=str(weights),
                        antialias=False)


class FrechetDistance:
    """The Fréchet distance to a fixed set of ``real`` images ``(N, C, H, W)`` in [0, 1], in ``metric``'s
    feature space (:func:`feature_metric` or :func:`inception_metric`): the real features are computed once,
    here; each call scores one set of generated images against them and returns the distance (a float)."""

    def __init__(self, metric, real: Tensor, *, batch_size: int = 500):
        self.metric, self.batch_size = metric, batch_size
        self.device = next(iter(metric.parameters()), torch.empty(0)).device
        metric.reset_real_features = True
        metric.reset()                                   # a fresh start, real features included
        metric.reset_real_features = False               # from now on reset() clears the generated ones only
        with torch.no_grad():
            for start in range(0, len(real), batch_size):
                metric.update(to_uint8(real[start:start + batch_size]).to(self.device), real=True)

    @torch.no_grad()
    def __call__(self, generated: Tensor) -> float:
        self.metric.reset()
        for start in range(0, len(generated), self.batch_size):
            self.metric.update(to_uint8(generated[start:start + self.batch_size]).to(self.device), real=False)
        return float(self.metric.compute())


def frechet_distance(real: Tensor, generated: Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features ``(N, F)`` (the module docstring's
    equation), in float64, with scipy's matrix square root; for data that are not images (MHD's trajectories and
    sounds), whose features :class:`FrechetDistance`'s 8-bit rounding would distort."""
    import warnings

    from scipy import linalg

    a, b = real.detach().double().cpu().numpy(), generated.detach().double().cpu().numpy()
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance needs two sets of at least 2 feature vectors of one size, got "
                         f"{tuple(real.shape)} and {tuple(generated.shape)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():      # a singular product (fewer items than features) has a square root still
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b).real              # (Σ_real Σ_gen)^{1/2}; an imaginary part is round-off
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root))
