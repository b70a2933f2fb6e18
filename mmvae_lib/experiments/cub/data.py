"""CUB image–caption pairs (MMVAE §4.3), from the real files or the offline stand-in.

Pipeline: files (or :mod:`.standin`) → images with ten captions each → features (:mod:`.features`) and
token ids (:mod:`.text`) → :class:`CUBPairs`, one per split, serving ``[features, caption]`` batches; caption
``i`` belongs to image ``i // 10``, so each image appears once per caption (the released code's pairing).

**Real data** under the data root (:func:`mmvae_lib.paths.data_dir`), as the archives unpack:

- ``CUB/CUB_200_2011/``: ``images.txt`` ("<image id> <class folder>/<file>"), ``classes.txt`` ("<class id>
  <NNN.Name>"), ``image_class_labels.txt`` ("<image id> <class id>") and ``images/<class folder>/<file>.jpg``
  (``CUB_200_2011.tgz``, md5 97eceeb196236b17998738112f37df78 for the archive; the unpacked files have no
  published checksums, so their consistency is checked instead);
- ``CUB/cvpr2016_cub/``: Reed et al. (2016)'s ``text_c10/<class folder>/<image file stem>.txt`` (ten captions
  per image, one per line) and the class split ``trainvalclasses.txt`` (150 classes) / ``testclasses.txt``
  (50), one class folder name per line (``cvpr2016_cub.tar.gz``, no published checksum).

Classes are joined on their number (``NNN``), and captions to images on the file stem, or failing that on
its trailing numeric id (some of Reed's class folders are spelt differently from CUB's). Images are ordered
by class folder, then file name (``ImageFolder``'s order, as the released code). The released code reads a
flattened copy of these captions (``text_trainvalclasses.txt`` / ``text_testclasses.txt`` from its cub.zip,
made by an unreleased script); reading Reed's files keeps the join explicit and checked.

The vocabulary is built from the training captions only; the ResNet-101 features need the user's weights
file (:mod:`.features`). ``source="auto"`` takes the real data when its files (and the weights or cached
features) are there, and otherwise the stand-in, and says so.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from mmvae_lib.datasets import ModalityView, shuffled_order
from mmvae_lib.experiments.cub import features as image_features
from mmvae_lib.experiments.cub import standin
from mmvae_lib.experiments.cub.text import Vocabulary, tokenize
from mmvae_lib.paths import data_dir, save_cache

SPLITS = ("train", "test")
SOURCES = ("auto", "real", "standin")
CUB_DIR = Path("CUB") / "CUB_200_2011"
REED_DIR = Path("CUB") / "cvpr2016_cub"
SPLIT_FILES = {"train": "trainvalclasses.txt", "test": "testclasses.txt"}
CAPTIONS_PER_IMAGE = 10
REAL_IMAGES = {"train": 8_855, "test": 2_933}          # Reed's class-disjoint split of CUB's 11,788 images


class DataFormatError(ValueError):
    """A CUB or caption file that does not hold what its format promises."""


# ---------------------------------------------------------------------------------------------------------
# Real files
# ---------------------------------------------------------------------------------------------------------

def _lines(path: Path) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"Missing CUB file {path}: unpack CUB_200_2011.tgz into {path.parents[1]} and Reed "
                                f"et al.'s cvpr2016_cub.tar.gz into {path.parents[1]} (see mmvae_lib.experiments.cub.data), "
                                f"or use source='standin' for the offline stand-in.")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pairs(path: Path) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(_lines(path), 1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise DataFormatError(f"{path}, line {number}: expected '<id> <value>', got {line!r}")
        rows.append((parts[0], parts[1]))
    return rows


def class_number(folder: str) -> int:
    """The number of a class folder name such as ``"001.Black_footed_Albatross"``."""
    match = re.match(r"^(\d+)\.", folder)
    if not match:
        raise DataFormatError(f"a CUB class name starts with its number and a dot ('001.Black_footed_Albatross'), "
                              f"got {folder!r}")
    return int(match.group(1))


@dataclass(frozen=True)
class ImageRecord:
    """One CUB image: its id, file, class (number and folder name) and its ten captions."""

    image_id: int
    path: Path
    class_id: int
    class_folder: str
    captions: tuple[str, ...]


def read_split_classes(root=None) -> dict[str, set[int]]:
    """Reed et al.'s class-disjoint split: ``{"train": class numbers (150), "test": class numbers (50)}``."""
    base = data_dir(root) / REED_DIR
    split = {name: {class_number(line) for line in _lines(base / f)} for name, f in SPLIT_FILES.items()}
    if split["train"] & split["test"]:
        raise DataFormatError(f"the class split is not disjoint: {sorted(split['train'] & split['test'])} are in both "
                              f"{SPLIT_FILES['train']} and {SPLIT_FILES['test']}")
    return split


def read_captions(path: Path) -> tuple[str, ...]:
    """The ten captions of one image (Reed's ``text_c10`` file: one per line; blank lines ignored)."""
    captions = _lines(path)
    if len(captions) < CAPTIONS_PER_IMAGE:
        raise DataFormatError(f"{path} holds {len(captions)} captions; every image needs {CAPTIONS_PER_IMAGE}")
    return tuple(captions[:CAPTIONS_PER_IMAGE])


def _caption_files(text_dir: Path) -> dict[int, dict[str, Path]]:
    """Reed's caption files by class number, then by image stem and by trailing numeric id."""
    if not text_dir.is_dir():
        raise FileNotFoundError(f"Missing caption folder {text_dir}: unpack Reed et al.'s cvpr2016_cub.tar.gz into "
                                f"{text_dir.parents[1]}, or use source='standin'.")
    out: dict[int, dict[str, Path]] = {}
    for folder in sorted(p for p in text_dir.iterdir() if p.is_dir()):
        files = out.setdefault(class_number(folder.name), {})
        for path in folder.glob("*.txt"):
            files[path.stem] = path
            trailing = re.search(r"_(\d+)$", path.stem)
            if trailing:
                files.setdefault(f"#{trailing.group(1)}", path)
    return out


def read_cub(split: str, root=None) -> list[ImageRecord]:
    """The images of ``split`` with their captions, ordered by class folder then file name."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    base = data_dir(root) / CUB_DIR
    classes = {int(i): name for i, name in _pairs(base / "classes.txt")}
    labels = {int(i): int(c) for i, c in _pairs(base / "image_class_labels.txt")}
    keep = read_split_classes(root)[split]
    captions = _caption_files(data_dir(root) / REED_DIR / "text_c10")
    records = []
    for image_id, relative in _pairs(base / "images.txt"):
        image_id = int(image_id)
        if image_id not in labels or labels[image_id] not in classes:
            raise DataFormatError(f"image {image_id} ({relative}) has no class in image_class_labels.txt / classes.txt")
        folder = classes[labels[image_id]]
        number = class_number(folder)
        if Path(relative).parent.name != folder:
            raise DataFormatError(f"image {image_id} is filed under {relative} but labelled class {folder!r}")
        if number not in keep:
            continue
        stem = Path(relative).stem
        files = captions.get(number, {})
        trailing = re.search(r"_(\d+)$", stem)
        path = files.get(stem) or (files.get(f"#{trailing.group(1)}") if trailing else None)
        if path is None:
            raise DataFormatError(f"no caption file for image {relative} (class {number}) under "
                                  f"{data_dir(root) / REED_DIR / 'text_c10'}")
        records.append(ImageRecord(image_id, base / "images" / relative, number, folder, read_captions(path)))
    if not records:
        raise DataFormatError(f"no {split} images: none of CUB's classes is in {SPLIT_FILES[split]}")
    return sorted(records, key=lambda r: (r.class_folder, r.path.name))


def real_files_present(root=None) -> bool:
    base, reed = data_dir(root) / CUB_DIR, data_dir(root) / REED_DIR
    return all(p.exists() for p in (base / "images.txt", base / "classes.txt", base / "image_class_labels.txt",
                                    reed / "text_c10", *(reed / f for f in SPLIT_FILES.values())))


def default_weights(root=None) -> Path:
    """Where the ResNet-101 weights file is looked for: ``$MMVAE_RESNET101`` or ``<data>/weights/resnet101-63fe2227.pth``."""
    env = os.environ.get("MMVAE_RESNET101")
    return Path(env) if env else data_dir(root) / "weights" / image_features.PAPER_WEIGHTS


# ---------------------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------------------

@dataclass(eq=False)
class CUBPairs:
    """One split: image ``features`` ``(N, 2048)``, caption ``tokens`` ``(10 N, 32)`` (caption i describes image
    i // 10), ``classes`` ``(N,)``, ``images`` uint8 ``(N, 3, 64, 64)`` for display, the caption texts, and
    where they come from. Batches are ``[features, tokens]`` (see :mod:`mmvae_lib.datasets`)."""

    split: str
    features: Tensor
    tokens: Tensor
    classes: Tensor
    images: Tensor
    captions: list[str]
    source: str
    description: str
    _key: str = field(default="", repr=False)

    def __post_init__(self):
        n = len(self.features)
        if len(self.tokens) != CAPTIONS_PER_IMAGE * n or len(self.classes) != n or len(self.images) != n \
                or len(self.captions) != len(self.tokens):
            raise ValueError(f"{self.split}: {n} images need {CAPTIONS_PER_IMAGE * n} captions, classes and images for "
                             f"each; got {len(self.tokens)} token rows, {len(self.captions)} captions, "
                             f"{len(self.classes)} classes, {len(self.images)} images")
        digest = hashlib.sha1()
        for t in (self.features, self.tokens, self.classes):
            digest.update(t.contiguous().numpy().tobytes())
        self._key = f"cub-{self.source}-{self.split}-{digest.hexdigest()[:12]}"

    @property
    def key(self) -> str:
        return self._key

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return (f"CUBPairs({self.split}: {len(self.features):,} images of {len(self.classes.unique())} classes, "
                f"{len(self):,} image-caption pairs; {self.description})")

    def image_of(self, idx: Tensor) -> Tensor:
        return idx // CAPTIONS_PER_IMAGE

    def get(self, idx: Tensor, *, device=None) -> list[Tensor]:
        """Pairs ``idx``: ``[features (B, 2048), tokens (B, 32)]``."""
        batch = [self.features[self.image_of(idx)], self.tokens[idx]]
        return [x.to(device) for x in batch] if device is not None else batch

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                device=None, keep: tuple[int, ...] = (0, 1)):
        order = shuffled_order(len(self), shuffle, generator)
        for start in range(0, len(self), batch_size):
            batch = self.get(order[start:start + batch_size], device=device)
            yield [batch[m] for m in keep]

    def select(self, keep: tuple[int, ...]) -> ModalityView:
        return ModalityView(self, tuple(keep))

    def images_subset(self, index: Tensor) -> "CUBPairs":
        """The pairs of the images ``index`` (each with its ten captions), in that order."""
        captions = (index[:, None] * CAPTIONS_PER_IMAGE + torch.arange(CAPTIONS_PER_IMAGE)).flatten()
        return CUBPairs(self.split, self.features[index], self.tokens[captions], self.classes[index], self.images[index],
                        [self.captions[i] for i in captions.tolist()], self.source, self.description)


@dataclass(eq=False)
class CUBData:
    """Both splits, the vocabulary built from the training captions, and the training captions as token
    lists (untruncated: what the correlation metric's word vectors are trained on)."""

    train: CUBPairs
    test: CUBPairs
    vocabulary: Vocabulary
    sentences: list[list[str]]
    source: str
    description: str

    def record(self) -> dict:
        return {"source": self.source, "description": self.description, "vocabulary": len(self.vocabulary),
                "train_images": len(self.train.features), "test_images": len(self.test.features)}


def _assemble(splits: dict, source: str, description: str) -> CUBData:
    """splits: name → (features, classes, images, captions (one list of 10 per image))."""
    tokenised = {name: [tokenize(c) for caps in s[3] for c in caps] for name, s in splits.items()}
    vocabulary = Vocabulary.from_captions(tokenised["train"])
    pairs = {name: CUBPairs(name, s[0].float(), vocabulary.encode(tokenised[name]), s[1], s[2],
                            [c for caps in s[3] for c in caps], source, description) for name, s in splits.items()}
    return CUBData(pairs["train"], pairs["test"], vocabulary, tokenised["train"], source, description)


def load_standin(seed: int = 0, images_per_class: int = 59, root=None) -> CUBData:
    """The offline stand-in (:mod:`.standin`), generated once per (version, seed, size) and cached under
    ``<data>/cache/standin/``."""
    path = data_dir(root) / "cache" / "standin" / f"cub_standin_v{standin.GENERATOR_VERSION}_seed{seed}_n{images_per_class}.pt"
    if path.exists():
        state = torch.load(path, weights_only=True)
    else:
        generated = standin.generate(seed, images_per_class)
        state = {name: {"features": s.features, "species": s.species, "images": s.images, "captions": s.captions}
                 for name, s in generated.items()}
        save_cache(state, path)
    description = (f"offline stand-in (synthetic birds, seed {seed}, {images_per_class} images per species; "
                   f"features from an untrained random-convolution network, not ResNet/ImageNet)")
    splits = {name: (s["features"], s["species"], s["images"], s["captions"]) for name, s in state.items()}
    return _assemble(splits, "standin", description)


def load_real(root=None, *, weights=None, normalise: bool = False, device: str | None = None,
              verbose: bool = True) -> CUBData:
    """Real CUB: images (as ResNet-101 features from ``weights``, cached) and Reed et al.'s captions."""
    splits, described = {}, set()
    for name in SPLITS:
        records = read_cub(name, root)
        feats, thumbs, what = image_features.cached_features(
            [r.path for r in records], weights or default_weights(root), data_dir(root) / "cache" / "cub",
            normalise=normalise, device=device, verbose=verbose)
        described.add(what)
        splits[name] = (feats, torch.tensor([r.class_id for r in records]), thumbs, [list(r.captions) for r in records])
    description = (f"real CUB-200-2011 with Reed et al.'s captions; features: ResNet-101, {'; '.join(sorted(described))}, "
                   f"{'ImageNet-normalised' if normalise else 'unnormalised'} inputs")
    return _assemble(splits, "real", description)


def load_cub(*, source: str = "auto", root=None, weights=None, images_per_class: int = 59, standin_seed: int = 0,
             normalise: bool = False, device: str | None = None, verbose: bool = True) -> CUBData:
    """CUB image–caption data from ``source`` ("auto", "real" or "standin"; see the module docstring).
    ``images_per_class`` and ``standin_seed`` size and fix the stand-in; ``weights`` is the ResNet-101 file
    (default :func:`default_weights`)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "auto":
        cached = any((data_dir(root) / "cache" / "cub").glob("resnet101-*.pt"))
        ready = real_files_present(root) and (cached or Path(weights or default_weights(root)).exists())
        if not ready and verbose:
            print(f"CUB: no real CUB files with ResNet-101 weights (or cached features) under {data_dir(root)}: "
                  f"using the offline stand-in.")
        source = "real" if ready else "standin"
    data = load_real(root, weights=weights, normalise=normalise, device=device, verbose=verbose) if source == "real" \
        else load_standin(standin_seed, images_per_class, root)
    if verbose:
        print(f"CUB data: {data.description}; vocabulary {len(data.vocabulary):,} words; "
              f"{len(data.train):,} training and {len(data.test):,} test pairs")
    return data

