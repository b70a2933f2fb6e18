"""Translated PolyMNIST (Daunhawer, Sutter, Chin-Cheong, Palumbo & Vogt, "On the limitations of multimodal VAEs",
ICLR 2022), one of the JNF paper's benchmarks: PolyMNIST whose digits are shrunk and placed at a random spot,
a different one in each modality, so that every modality carries variation of its own (where the digit sits)
besides the shared digit. That is what limits mixture-based aggregation (MoE, MoPoE) in Daunhawer et al.

**The construction**, as the JNF authors ran it (MultiVae's ``TranslatedMMNIST``). Per modality and per MNIST
digit, before PolyMNIST's own steps (:func:`mmvae_lib.experiments.polymnist.data.build_tuples`):

- downscale the 28×28 digit by :data:`SCALE` = 0.75 to 21×21 (bilinear, antialiased: torchvision's ``resize``,
  which follows PIL's filter; upstream resizes with PIL);
- paste it on a black 28×28 canvas at an offset drawn uniformly from {0..:data:`MAX_OFFSET`}² (row, column);
- then PolyMNIST: binarise at > 128, a random 28×28 crop of the modality's background, colours inverted where
  the digit is.

Each modality draws its own offsets (from the generator, before its crop corners). Tuples, labels and the
independent per-class permutations per modality are PolyMNIST's: 60,000 train and 10,000 test tuples from the
full MNIST. **Differences from upstream**: the upstream generator is unseeded and lists its files in unsorted glob
order, so its archive cannot be regenerated; ours is seeded (a ``torch.Generator``) and its inputs are sorted, so
it is deterministic bit for bit. The scale and the offset range are recorded with every result
(:attr:`PolyMNIST.source`).

**The real path** reads the upstream archive's layout,
``<data>/Translated_MMNIST_scale_75_translated_True/{train,test}/m{k}/{i}.{label}.png``, with the PolyMNIST
archive's reader and checks (structure, sha256 recorded, compared with ``$MMVAE_TRANSLATED_POLYMNIST_SHA256_<SPLIT>``
when given). **Offline**, the same construction from the digits and the five backgrounds the offline PolyMNIST
uses, cached under ``<data>/cache/polymnist/``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from mmvae_lib.experiments.polymnist.data import (BACKGROUNDS, DIGIT_WORDS, SIZE, SOURCES, SPLITS, PolyMNIST,
                                                  archive_dir, cached_build, digit_source, read_archive)

SCALE = 0.75                 # the digit's side after downscaling: 21 of 28 pixels
MAX_OFFSET = 6               # the offsets (row, column) are uniform in {0, ..., MAX_OFFSET}
FOLDERS = ("Translated_MMNIST_scale_75_translated_True",)
CHECKSUM_ENV = "MMVAE_TRANSLATED_POLYMNIST_SHA256_{split}"
GENERATOR_VERSION = 1        # bump whenever the offline construction changes
DATASET = "translated-polymnist"


def translate(digits: Tensor, generator: torch.Generator, *, scale: float = SCALE,
              max_offset: int = MAX_OFFSET) -> tuple[Tensor, Tensor]:
    """Shrink MNIST ``digits`` uint8 ``(N, 1, 28, 28)`` by ``scale`` and paste each on a black 28×28 canvas at an
    offset drawn uniformly from {0..max_offset}² (rows, then columns, from ``generator``). Returns the placed
    digits uint8 ``(N, 1, 28, 28)`` and the offsets ``(N, 2)`` (row, column of the digit's top-left corner)."""
    small = round(SIZE * scale)
    if digits.dtype != torch.uint8 or tuple(digits.shape[1:]) != (1, SIZE, SIZE):
        raise ValueError(f"digits must be uint8 (N, 1, {SIZE}, {SIZE}), got {digits.dtype} {tuple(digits.shape)}")
    if not 0 <= max_offset <= SIZE - small:
        raise ValueError(f"a {small}-pixel digit fits on the {SIZE}-pixel canvas at offsets 0..{SIZE - small}, "
                         f"got max_offset={max_offset}")
    n = len(digits)
    offsets = torch.stack([torch.randint(0, max_offset + 1, (n,), generator=generator),
                           torch.randint(0, max_offset + 1, (n,), generator=generator)], dim=1)
    return place_at(digits, offsets, scale=scale), offsets


def place_at(digits: Tensor, offsets: Tensor, *, scale: float = SCALE) -> Tensor:
    """MNIST ``digits`` uint8 ``(N, 1, 28, 28)`` shrunk by ``scale`` (bilinear, antialiased) and pasted on black
    28×28 canvases with their top-left corners at ``offsets`` ``(N, 2)`` (row, column)."""
    from mmvae_lib._torchvision import import_torchvision

    transforms = import_torchvision().transforms
    small, n = round(SIZE * scale), len(digits)
    shrunk = transforms.functional.resize(digits, [small, small], antialias=True,                       # (N, 1, s, s)
                                          interpolation=transforms.InterpolationMode.BILINEAR)
    rows = (offsets[:, 0, None] + torch.arange(small))[:, :, None]                           # (N, s, 1)
    cols = (offsets[:, 1, None] + torch.arange(small))[:, None, :]                           # (N, 1, s)
    canvas = torch.zeros_like(digits)
    canvas[torch.arange(n)[:, None, None], 0, rows, cols] = shrunk[:, 0]
    return canvas


def _record(kind: str) -> dict:
    return {"dataset": DATASET, "scale": SCALE, "max_offset": MAX_OFFSET, "kind": kind}


def build_offline(split: str, *, seed: int = 0, digits: str = "auto", root=None) -> PolyMNIST:
    """The offline Translated PolyMNIST ``split``: PolyMNIST's construction with :func:`translate` before each
    modality's crop, on the offline PolyMNIST's digits and backgrounds, seeded ``seed + SPLIT_SEED_OFFSET``;
    cached in a file named by everything that determines it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    source = digit_source(split, digits, root)
    built = cached_build(f"translated_v{GENERATOR_VERSION}_scale{SCALE:g}_offset{MAX_OFFSET}", split, seed, source,
                         root, place=translate)
    words = DIGIT_WORDS[source]
    record = {**_record("offline"), "sha256": built["sha256"], "backgrounds": list(BACKGROUNDS), "digits": words,
              "seed": seed, "generator_version": GENERATOR_VERSION,
              "description": f"offline Translated PolyMNIST (scale {SCALE:g}, offsets 0-{MAX_OFFSET}; {words}; "
                             f"backgrounds skimage.data {', '.join(BACKGROUNDS)}; seed {seed})"}
    return PolyMNIST(split, built["images"], built["labels"], record, built["digits"], built["corners"],
                     offsets=built["offsets"])


def read_translated_archive(split: str, root=None, *, sha256: str | None = None) -> PolyMNIST:
    """The published Translated PolyMNIST ``split`` (the upstream layout, module docstring), checked and
    fingerprinted as the PolyMNIST archive is."""
    return read_archive(split, root, sha256=sha256, folders=FOLDERS, checksum_env=CHECKSUM_ENV,
                        name="Translated PolyMNIST", source=_record("real"))


def load_translated(split: str, *, source: str = "auto", digits: str = "auto", seed: int = 0, root=None,
                    sha256: str | None = None, verbose: bool = False) -> PolyMNIST:
    """Translated PolyMNIST ``split`` from ``source``: ``"real"`` (:func:`read_translated_archive`),
    ``"offline"`` (:func:`build_offline`) or ``"auto"`` (the archive when the data directory has one)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    real = source == "real" or (source == "auto" and archive_dir(root, FOLDERS) is not None)
    data = read_translated_archive(split, root, sha256=sha256) if real else build_offline(
        split, seed=seed, digits=digits, root=root)
    if verbose:
        print(f"Translated PolyMNIST {split}: {data.description}")
    return data
