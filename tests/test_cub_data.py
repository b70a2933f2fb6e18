"""mmvae_lib.experiments.cub.data and .features: the real readers on tiny files in the exact formats of
CUB_200_2011 and Reed et al.'s cvpr2016_cub, the pairing, the vocabulary, the features and their cache."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from mmvae_lib.experiments.cub import data as cub_data
from mmvae_lib.experiments.cub import features
from mmvae_lib.paths import file_digest
from mmvae_lib.experiments.cub.text import EOS, EXC

# (image id, class id, CUB class folder, file stem, Reed's class folder, Reed's file stem, size)
IMAGES = [
    (1, 1, "001.Black_footed_Albatross", "Black_Footed_Albatross_0002_55", "001.Black_footed_Albatross",
     "Black_Footed_Albatross_0002_55", (40, 30)),
    (2, 1, "001.Black_footed_Albatross", "Black_Footed_Albatross_0001_796111", "001.Black_footed_Albatross",
     "Black_Footed_Albatross_0001_796111", (30, 50)),
    (3, 2, "002.Laysan_Albatross", "Laysan_Albatross_0001_545", "002.Laysan_Albatross", "Laysan_Albatross_0001_545",
     (32, 32)),
    # Reed's folder and file are spelt differently from CUB's: joined on the class number and the trailing id
    (4, 9, "009.Brewer_Blackbird", "Brewer_Blackbird_0001_2345", "009.Brewers_Blackbird",
     "Brewers_Blackbird_0001_2345", (45, 36)),
    (5, 9, "009.Brewer_Blackbird", "Brewer_Blackbird_0002_77", "009.Brewers_Blackbird", "Brewers_Blackbird_0002_77",
     (36, 45)),
]
SPLIT = {"trainvalclasses.txt": ["002.Laysan_Albatross", "009.Brewers_Blackbird"],
         "testclasses.txt": ["001.Black_footed_Albatross"]}


def captions_of(image_id: int) -> list[str]:
    """Ten captions; "grey" in every training caption, "zebra" only in test captions."""
    word = "zebra" if image_id in (1, 2) else "grey"
    return [f"This bird {image_id} has a {word} crown, and wings." if k % 2 else f"a {word} bird number {k}."
            for k in range(10)]


@pytest.fixture
def cub_root(tmp_path: Path) -> Path:
    return write_cub(tmp_path)


def write_cub(tmp_path: Path) -> Path:
    """CUB_200_2011 and cvpr2016_cub in their layouts: the index files, small JPEG and PNG images, ten
    captions per image (one with blank lines around them), the class split files."""
    base, reed = tmp_path / "CUB" / "CUB_200_2011", tmp_path / "CUB" / "cvpr2016_cub"
    classes = {1: "001.Black_footed_Albatross", 2: "002.Laysan_Albatross", 9: "009.Brewer_Blackbird"}
    rng = np.random.default_rng(0)
    lines_images, lines_labels = [], []
    for image_id, class_id, folder, stem, reed_folder, reed_stem, size in IMAGES:
        suffix = ".png" if image_id == 3 else ".jpg"
        path = base / "images" / folder / (stem + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        lines_images.append(f"{image_id} {folder}/{stem}{suffix}")
        lines_labels.append(f"{image_id} {class_id}")
        caption_file = reed / "text_c10" / reed_folder / f"{reed_stem}.txt"
        caption_file.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(captions_of(image_id)) + "\n"
        caption_file.write_text(("\n" + text + "\n") if image_id == 3 else text)
    (base / "images.txt").write_text("\n".join(lines_images) + "\n")
    (base / "image_class_labels.txt").write_text("\n".join(lines_labels) + "\n")
    (base / "classes.txt").write_text("\n".join(f"{i} {name}" for i, name in classes.items()) + "\n")
    for name, lines in SPLIT.items():
        (reed / name).write_text("\n".join(lines) + "\n")
    return tmp_path


def test_read_cub_joins_images_captions_and_split(cub_root):
    """Each split holds the images of its classes, ordered by class folder then file name, each with its ten
    captions, joined even where Reed's spelling differs from CUB's."""
    train, test = cub_data.read_cub("train", cub_root), cub_data.read_cub("test", cub_root)
    assert [r.image_id for r in train] == [3, 4, 5] and [r.image_id for r in test] == [2, 1]
    assert all(len(r.captions) == 10 for r in train + test)
    assert train[1].captions == tuple(captions_of(4)) and train[1].class_folder == "009.Brewer_Blackbird"
    assert train[0].path.exists() and train[0].class_id == 2
    assert cub_data.read_split_classes(cub_root) == {"train": {2, 9}, "test": {1}}
    assert cub_data.real_files_present(cub_root)


def test_bad_files_get_clear_errors(cub_root):
    """A caption file with fewer than ten captions, a split that is not disjoint, a missing index file, a
    malformed line: each named with what was expected."""
    reed = cub_root / "CUB" / "cvpr2016_cub"
    short = reed / "text_c10" / "002.Laysan_Albatross" / "Laysan_Albatross_0001_545.txt"
    short.write_text("\n".join(captions_of(3)[:9]))
    with pytest.raises(cub_data.DataFormatError, match="holds 9 captions; every image needs 10"):
        cub_data.read_cub("train", cub_root)
    (reed / "testclasses.txt").write_text("001.Black_footed_Albatross\n002.Laysan_Albatross\n")
    with pytest.raises(cub_data.DataFormatError, match="not disjoint"):
        cub_data.read_split_classes(cub_root)
    (cub_root / "CUB" / "CUB_200_2011" / "classes.txt").unlink()
    with pytest.raises(FileNotFoundError, match="source='standin'"):
        cub_data.read_cub("test", cub_root)
    with pytest.raises(cub_data.DataFormatError, match="starts with its number"):
        cub_data.class_number("Black_footed_Albatross")
    with pytest.raises(ValueError, match="split must be one of"):
        cub_data.read_cub("val", cub_root)


def test_missing_caption_file_is_named(cub_root):
    (cub_root / "CUB" / "cvpr2016_cub" / "text_c10" / "009.Brewers_Blackbird" / "Brewers_Blackbird_0002_77.txt").unlink()
    with pytest.raises(cub_data.DataFormatError, match="no caption file for image 009.Brewer_Blackbird/Brewer_Blackbird_0002_77"):
        cub_data.read_cub("train", cub_root)


class TinyFeatures(nn.Module):
    """Stands in for the ResNet-101 trunk: any image size → 2048 numbers (mean colour, tiled)."""

    def forward(self, x):
        return x.mean((2, 3)).repeat(1, 683)[:, :2048]


def test_load_real_pairs_each_image_with_its_ten_captions(cub_root, monkeypatch):
    """Caption i of a split describes image i // 10; the vocabulary comes from the training captions only
    (a word frequent in test captions only is out of vocabulary); features are computed once and then read
    from the cache (a second load does not need the network)."""
    monkeypatch.setattr(features, "resnet101_trunk", lambda path: (TinyFeatures(), features.PAPER_WEIGHTS))
    loaded = cub_data.load_cub(source="real", root=cub_root, weights=cub_root / "unused.pth", verbose=False)
    assert loaded.source == "real" and "ResNet-101" in loaded.description
    train = loaded.train
    assert len(train) == 30 and train.features.shape == (3, 2048) and train.images.shape == (3, 3, 64, 64)
    assert train.images.dtype == torch.uint8 and train.classes.tolist() == [2, 9, 9]
    features_batch, tokens_batch = train.get(torch.tensor([0, 9, 10, 29]))
    assert torch.equal(features_batch, train.features[[0, 0, 1, 2]])
    # "0" is in 3 training captions: not more than 3 times, so out of the vocabulary
    assert loaded.vocabulary.decode(tokens_batch[2:3])[0] == "a grey bird number <exc> ."
    assert "grey" in loaded.vocabulary.words and "zebra" not in loaded.vocabulary.words
    assert (loaded.test.tokens == EXC).any() and (loaded.test.tokens == EOS).sum() == len(loaded.test)
    assert loaded.sentences[1] == ["this", "bird", "3", "has", "a", "grey", "crown", ",", "and", "wings", "."]

    def no_network(path):
        raise AssertionError("the cached features should have been used")
    monkeypatch.setattr(features, "resnet101_trunk", no_network)
    again = cub_data.load_cub(source="real", root=cub_root, verbose=False)
    assert torch.equal(again.train.features, train.features) and again.train.key == train.key


def test_auto_falls_back_to_the_standin_without_real_files(tmp_path, monkeypatch):
    """source='auto' without CUB files (or weights) uses the stand-in and says so."""
    monkeypatch.setattr(cub_data, "load_standin", lambda seed, n, root: "standin")
    assert cub_data.load_cub(source="auto", root=tmp_path, verbose=False) == "standin"
    with pytest.raises(ValueError, match="source must be one of"):
        cub_data.load_cub(source="cub")


def test_load_image_resizes_the_shorter_side_without_normalisation(tmp_path):
    """As the released pipeline: shorter side 224, aspect kept, no crop, values in [0, 1]; ImageNet
    normalisation only on request; a 64×64 thumbnail of the centre square."""
    path = tmp_path / "bird.jpg"
    Image.fromarray(np.full((30, 60, 3), 200, dtype=np.uint8)).save(path)
    x, thumb = features.load_image(path)
    assert x.shape == (3, 224, 448) and 0 <= x.min() and x.max() <= 1
    assert thumb.shape == (3, 64, 64) and thumb.dtype == torch.uint8
    normalised, _ = features.load_image(path, normalise=True)
    torch.testing.assert_close(normalised[0], (x[0] - 0.485) / 0.229)


def test_weights_are_checked_by_sha256(tmp_path, monkeypatch):
    """A weights file whose SHA-256 is not a published one is refused, naming the expected hashes; a missing
    file says what to download; a file with a known hash is accepted whatever its name."""
    bogus = tmp_path / "resnet101-63fe2227.pth"
    bogus.write_bytes(b"not the weights")
    with pytest.raises(features.ChecksumError, match="63fe2227b86e8f1f2063f43a75c84d195911b6a0eace650907dd3dc62dd49a0a"):
        features.check_weights(bogus)
    with pytest.raises(FileNotFoundError, match="resnet101-63fe2227.pth"):
        features.check_weights(tmp_path / "missing.pth")
    monkeypatch.setitem(features.RESNET101_WEIGHTS, "resnet101-test.pth", (file_digest(bogus), "test"))
    assert features.check_weights(bogus) == "resnet101-test.pth"


@pytest.mark.slow
def test_resnet101_trunk_loads_checked_weights_and_gives_2048_features(tmp_path, monkeypatch):
    """A full ResNet-101 state dict (constant weights; torchvision's key names and shapes) with an accepted
    hash loads into the trunk, which maps an image of any size to 2048 pooled features."""
    from mmvae_lib._torchvision import import_torchvision

    with torch.device("meta"):
        shapes = import_torchvision().models.resnet101(weights=None).state_dict()
    state = {k: (torch.ones(v.shape) if "running_var" in k or k.endswith("bn1.weight") else
                 torch.zeros(v.shape, dtype=v.dtype) if v.dtype != torch.float32 or "running_mean" in k else
                 torch.full(v.shape, 1e-3)) for k, v in shapes.items()}
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    monkeypatch.setitem(features.RESNET101_WEIGHTS, "resnet101-test.pth", (file_digest(path), "test"))
    trunk, name = features.resnet101_trunk(path)
    assert name == "resnet101-test.pth" and not trunk.training
    with torch.no_grad():
        out = trunk(torch.rand(2, 3, 64, 80))
    assert out.shape == (2, 2048) and torch.isfinite(out).all()


def test_nearest_neighbours_is_euclidean():
    """Each query's index of the nearest bank row in Euclidean distance."""
    bank = torch.tensor([[0.0, 0], [10, 0], [0, 10]])
    queries = torch.tensor([[9.0, 1], [0.4, 0.2], [1, 8]])
    assert features.nearest_neighbours(queries, bank, chunk=2).tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match="same feature size"):
        features.nearest_neighbours(queries, torch.zeros(3, 3))
