"""CUB images as the paper's models see them: 2048-d ResNet-101 pooled features, and back to images by
nearest-neighbour lookup (MMVAE §4.3).

**Weights.** torchvision's ResNet-101 with ImageNet weights, from a file the user provides (nothing is
downloaded): its SHA-256 must be one of :data:`RESNET101_WEIGHTS`, the hashes published with torchvision's
weight files (torch.hub names each file after the first hex digits of its SHA-256). ``resnet101-63fe2227.pth``
(``IMAGENET1K_V1``) holds the weights the paper used in 2019 (the same weights as the legacy
``resnet101-5d3b4d8f.pth``, re-serialised; that file's full hash is not published, so it is refused: use
the ``63fe2227`` file). ``resnet101-cd907fc2.pth`` (``IMAGENET1K_V2``, a newer training recipe) is accepted
and recorded as not the paper's.

**Images → features.** As the released code: each image resized so its shorter side is 224 pixels (aspect
ratio kept, no crop), values in [0, 1] **without** ImageNet's mean/std normalisation (the official pipeline
omitted it; ``normalise=True`` applies it instead, and the cache key records which), through every layer
but the classifier: the global average pool gives 2048 numbers. Images are fed one at a time, since CUB's
photographs differ in size and the pool makes any size give 2048 numbers (the official loader needed
pre-squared images to batch them). Features are computed once and cached with a 64×64 thumbnail of each
image (centre square) for display.

**Features → images.** Generated and reconstructed features are shown as the real image whose features
are nearest in Euclidean distance (:func:`nearest_neighbours`), as the paper does.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from mmvae_lib.paths import file_digest, save_atomic

SHORTER_SIDE = 224
THUMBNAIL = 64
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PAPER_WEIGHTS = "resnet101-63fe2227.pth"
# file name → (full SHA-256, what the weights are): torchvision's published files (their names carry the
# first 8 hex digits of the SHA-256)
RESNET101_WEIGHTS = {
    "resnet101-63fe2227.pth": ("63fe2227b86e8f1f2063f43a75c84d195911b6a0eace650907dd3dc62dd49a0a",
                               "torchvision ResNet101_Weights.IMAGENET1K_V1 (the paper's ImageNet weights)"),
    "resnet101-cd907fc2.pth": ("cd907fc2a0de2292b2ba2b27d2216bc672d84632d1cf20058d01c0c03b5e020e",
                               "torchvision ResNet101_Weights.IMAGENET1K_V2 (a newer recipe, not the paper's)"),
}


class ChecksumError(ValueError):
    """A weights file whose SHA-256 is not a published one."""


def check_weights(path: str | os.PathLike) -> str:
    """The name of the published weights file that ``path`` is (by SHA-256, whatever it is called), or
    :class:`ChecksumError`; FileNotFoundError with what to download if it does not exist."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"The ResNet-101 weights file {path} does not exist. Download {PAPER_WEIGHTS} (torchvision's "
            f"IMAGENET1K_V1, https://download.pytorch.org/models/{PAPER_WEIGHTS}) on a machine with internet "
            f"access and put it there, or pass its path as weights=...; without real CUB features use "
            f"source='standin'.")
    found = file_digest(path)
    for name, (expected, _) in RESNET101_WEIGHTS.items():
        if found == expected:
            return name
    from mmvae_lib.training.trainer import dry_run

    if dry_run() is not None:                 # a dry run's fixture weights (random): proves the path, not the numbers
        print(f"dry run: the weights file {path} is not a published one (SHA-256 {found[:12]}…); used unchecked")
        return PAPER_WEIGHTS
    known = "; ".join(f"{name}: {h}" for name, (h, _) in RESNET101_WEIGHTS.items())
    raise ChecksumError(f"The weights file {path} has SHA-256 {found}, which is none of the published ResNet-101 "
                        f"ImageNet weights ({known}). The file is corrupted, incomplete or other weights: download "
                        f"https://download.pytorch.org/models/{PAPER_WEIGHTS} again.")


def resnet101_trunk(path: str | os.PathLike) -> tuple[nn.Module, str]:
    """ResNet-101 with the checked ImageNet weights of ``path``, its classifier removed: images ``(B, 3, H, W)``
    → pooled features ``(B, 2048)``; in eval mode. Returns (network, the weights' file name)."""
    from mmvae_lib._torchvision import import_torchvision

    name = check_weights(path)
    with torch.device("meta"):                        # no random initialisation: every tensor comes from the file
        network = import_torchvision().models.resnet101(weights=None)
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), assign=True)
    network.fc = nn.Identity()
    return network.eval(), name


def load_image(path: str | os.PathLike, *, normalise: bool = False) -> tuple[Tensor, Tensor]:
    """One image file → (the network's input ``(3, H, W)``: shorter side 224, values in [0, 1], ImageNet
    normalisation only if ``normalise``; a uint8 thumbnail ``(3, 64, 64)`` of its centre square)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        w, h = image.size
        factor = SHORTER_SIDE / min(w, h)
        resized = image.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BILINEAR)
        side = min(w, h)
        square = image.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
        thumb = square.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR)
    x = torch.from_numpy(np.array(resized, dtype=np.float32) / 255).permute(2, 0, 1)
    if normalise:
        x = (x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    return x, torch.from_numpy(np.array(thumb, dtype=np.uint8)).permute(2, 0, 1).contiguous()


@torch.no_grad()
def extract_features(paths: Sequence[str | os.PathLike], network: nn.Module, *, normalise: bool = False,
                     device: str | None = None, progress: bool = False) -> tuple[Tensor, Tensor]:
    """Pooled features ``(N, D)`` of the image files ``paths`` (one at a time: sizes differ) and their
    thumbnails uint8 ``(N, 3, 64, 64)``."""
    from tqdm import tqdm

    device = torch.device(device or "cpu")
    network = network.to(device).eval()
    features, thumbnails = [], []
    for path in tqdm(paths, desc="image features", disable=not progress, mininterval=5.0):
        x, thumb = load_image(path, normalise=normalise)
        features.append(network(x[None].to(device)).flatten(1).cpu())
        thumbnails.append(thumb)
    return torch.cat(features), torch.stack(thumbnails)


def cached_features(paths: Sequence[Path], weights: str | os.PathLike, cache: Path, *, normalise: bool = False,
                    device: str | None = None, verbose: bool = True) -> tuple[Tensor, Tensor, str]:
    """:func:`extract_features` with ResNet-101 from ``weights``, computed once: the cache file (under
    ``cache``) is named by the weights, the normalisation and a digest of the image list, so other images or
    weights never load stale features. Returns (features, thumbnails, the weights' description)."""
    from mmvae_lib.training.trainer import dry_run

    if dry_run() is not None:       # its weights may be a fixture's: never cached beside (or taken for) real features
        network, name = resnet101_trunk(weights)
        features, thumbnails = extract_features(paths, network, normalise=normalise, device=device, progress=False)
        return features, thumbnails, "dry run: unchecked weights"
    cache = Path(cache)
    listing = hashlib.sha1("\n".join(f"{Path(p).parent.name}/{Path(p).name}" for p in paths).encode()).hexdigest()[:10]
    for name, (digest, description) in RESNET101_WEIGHTS.items():
        path = cache / f"{name.removesuffix('.pth')}_{'imagenet-normalised' if normalise else 'raw'}_{listing}.pt"
        if path.exists():                         # computed before from these images with weights of this name
            state = torch.load(path, weights_only=True)
            if state["sha256"] == digest:
                return state["features"], state["thumbnails"], description
    network, name = resnet101_trunk(weights)
    if verbose:
        print(f"computing ResNet-101 features of {len(paths):,} images with {name} (once; cached in {cache})")
    features, thumbnails = extract_features(paths, network, normalise=normalise, device=device, progress=verbose)
    path = cache / f"{name.removesuffix('.pth')}_{'imagenet-normalised' if normalise else 'raw'}_{listing}.pt"
    save_atomic({"features": features, "thumbnails": thumbnails, "sha256": RESNET101_WEIGHTS[name][0]}, path)
    return features, thumbnails, RESNET101_WEIGHTS[name][1]


def nearest_neighbours(queries: Tensor, bank: Tensor, chunk: int = 1024) -> Tensor:
    """For each query feature ``(Q, D)``, the index in ``bank`` ``(N, D)`` of the nearest one in Euclidean
    distance ``(Q,)``: how the paper shows generated features as images."""
    if queries.shape[-1] != bank.shape[-1]:
        raise ValueError(f"queries and bank need the same feature size, got {queries.shape[-1]} and {bank.shape[-1]}")
    return torch.cat([torch.cdist(q.float(), bank.float()).argmin(1) for q in queries.split(chunk)])
