"""mmvae_lib.experiments.mnist_svhn.classifiers (the paper's LeNet shapes, seeded initialisation, the weight
cache of digit_classifier) and mmvae_lib.metrics.classifiers (seeded training, the accuracy metric against a
hand-made predictor)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mmvae_lib.experiments.mnist_svhn import classifiers
from mmvae_lib.experiments.mnist_svhn.classifiers import (MNISTClassifier, SVHNClassifier, classifier_cache_path,
                                                          digit_classifier)
from mmvae_lib.metrics.classifiers import accuracy, train_classifier
from mmvae_lib.experiments.mnist_svhn.data import load_mnist_svhn


@pytest.mark.parametrize("cls, shape, n_flat", [(MNISTClassifier, (1, 28, 28), 320),
                                                 (SVHNClassifier, (3, 32, 32), 500)])
def test_lenet_layers_follow_the_paper(cls, shape, n_flat):
    """Two 5x5 convolutions with 10 and 20 channels, then fully connected n_flat -> 50 -> 10 (320 MNIST, 500 SVHN)."""
    model = cls()
    assert (model.conv1.out_channels, model.conv2.out_channels) == (10, 20)
    assert model.conv1.kernel_size == model.conv2.kernel_size == (5, 5)
    assert (model.fc1.in_features, model.fc1.out_features, model.fc2.out_features) == (n_flat, 50, 10)
    assert model(torch.rand(4, *shape)).shape == (4, 10)


def test_initialisation_is_seeded_and_leaves_global_rng_alone():
    """The same seed gives the same initial weights, another seed others; the global RNG state is unchanged."""
    state = torch.get_rng_state()
    a, b, c = SVHNClassifier(seed=1), SVHNClassifier(seed=1), SVHNClassifier(seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.fc1.weight, b.fc1.weight) and not torch.equal(a.fc1.weight, c.fc1.weight)


def _patch_task(n: int = 400):
    """Noise images with a bright 6x6 patch whose position is the digit: uint8 (n, 1, 28, 28), labels (n,)."""
    labels = torch.arange(10).repeat(n // 10)
    images = torch.randint(0, 60, (n, 1, 28, 28), generator=torch.Generator().manual_seed(0)).to(torch.uint8)
    for i, c in enumerate(labels.tolist()):
        row, col = (c // 4) * 9 + 1, (c % 4) * 7
        images[i, 0, row:row + 6, col:col + 6] = 255
    return images, labels


def test_training_learns_and_is_reproducible():
    """train_classifier learns an easy task from uint8 images, and the same seed gives identical weights."""
    images, labels = _patch_task()
    a = train_classifier(MNISTClassifier(seed=0), images, labels, epochs=8, seed=0, lr=3e-3, progress=False)
    b = train_classifier(MNISTClassifier(seed=0), images, labels, epochs=8, seed=0, lr=3e-3, progress=False)
    assert accuracy(a, images, labels) > 0.9
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not a.training


class _FirstPixel(nn.Module):
    """Predicts the digit written as 10 * digit / 255 into the first pixel."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return nn.functional.one_hot((x[:, 0, 0, 0] * 25.5).round().long(), 10).float()


def test_accuracy_is_the_fraction_of_correct_predictions():
    """accuracy() returns the exact micro accuracy: 3 of 4 right gives 0.75, in any batch size."""
    labels = torch.tensor([1, 2, 3, 4])
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.tensor([10, 20, 30, 90])
    assert accuracy(_FirstPixel(), images, labels) == 0.75
    assert accuracy(_FirstPixel(), images, labels, batch_size=3) == 0.75


def test_bad_arguments_raise_clear_errors():
    """Unknown modality, non-positive epochs and mismatched lengths raise ValueError naming the argument."""
    images, labels = _patch_task(20)
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(MNISTClassifier(), images, labels, epochs=0, seed=0)
    with pytest.raises(ValueError, match="same length"):
        train_classifier(MNISTClassifier(), images, labels[:5], epochs=1, seed=0)
    with pytest.raises(ValueError, match="modality"):
        digit_classifier("cub", None, epochs=1, cache_dir=None)


def test_digit_classifier_trains_once_then_loads_cached_weights(real_root, tmp_path, monkeypatch, capsys):
    """The first call trains and saves weights keyed by (modality, data source and contents, split, seed, epochs); the
    second loads them without training; another seed or epoch count gets another file."""
    data = load_mnist_svhn("train", source="real", dm=1, root=real_root, verify_checksum=False, verbose=False)
    cache = tmp_path / "classifiers"
    first = digit_classifier("svhn", data, epochs=1, seed=0, cache_dir=cache, progress=False)
    path = classifier_cache_path("svhn", data, epochs=1, seed=0, cache_dir=cache)
    assert path.exists() and "svhn_real_train" in path.name and "seed0_ep1" in path.name

    def no_training(*args, **kwargs):
        raise AssertionError("should have loaded the cached weights")

    monkeypatch.setattr(classifiers, "train_classifier", no_training)
    second = digit_classifier("svhn", data, epochs=1, seed=0, cache_dir=cache)
    assert "Loaded" in capsys.readouterr().out
    assert all(torch.equal(p, q) for p, q in zip(first.state_dict().values(), second.state_dict().values()))
    assert classifier_cache_path("svhn", data, epochs=1, seed=1, cache_dir=cache) != path
    assert classifier_cache_path("svhn", data, epochs=2, seed=0, cache_dir=cache) != path
    assert classifier_cache_path("mnist", data, epochs=1, seed=0, cache_dir=cache) != path
    data.svhn[0, 0, 0, 0] += 1                    # other images, same tag, same labels: other weights
    assert classifier_cache_path("svhn", data, epochs=1, seed=0, cache_dir=cache) != path
