"""mmvae_lib.models.modalities: bad input gets one error at the model's boundary, naming the modality, what
was expected and what came (instead of an error from deep inside a network, or a silent -500,000-nat bound)."""
import pytest
import torch

from mmvae_lib.experiments.mnist_svhn.networks import mnist_svhn_model
from mmvae_lib.models import Modality
from mmvae_lib.objectives import OBJECTIVES


def _pair(n=4):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=g), torch.rand(n, 3, 32, 32, generator=g)


@pytest.mark.parametrize("bad, message", [
    (torch.rand(4, 3, 28, 28), r"modality 'svhn' expects floating-point inputs of shape \(B, 3, 32, 32\) with values "
                               r"in \[0, 1\]; got shape \(4, 3, 28, 28\)"),
    ((torch.rand(4, 3, 32, 32) * 255).to(torch.uint8), r"modality 'svhn' expects .*; got torch.uint8 \(images stored "
                                                       r"as uint8: convert with x.float\(\) / 255\)"),
    (torch.rand(4, 3, 32, 32) * 255, r"modality 'svhn' expects .* with values in \[0, 1\]; got values in "
                                     r"\[[0-9.e-]+, 25[0-9.]+\] \(divide by 255\?\)"),
])
def test_the_three_mistakes_a_new_user_makes_with_svhn_images(bad, message):
    """Wrong size, uint8, and [0, 255] floats: each one error before any network runs, for the MMVAE and
    the MVAE alike, whether they encode or train."""
    mnist, _ = _pair()
    for kind in ("mmvae", "mvae"):
        model = mnist_svhn_model(kind)
        with pytest.raises(ValueError, match=message):
            model.posterior([mnist, bad])
        with pytest.raises(ValueError, match=message):
            OBJECTIVES["moe_elbo" if kind == "mmvae" else "mvae"](model, [mnist, bad], 1, torch.Generator())


def test_nan_and_infinite_values_are_named():
    mnist, svhn = _pair()
    model = mnist_svhn_model("mmvae")
    with pytest.raises(ValueError, match="input for modality 'mnist' contains NaN"):
        model.posterior([mnist.clone().fill_(float("nan")), svhn])
    svhn = svhn.clone()
    svhn[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="input for modality 'svhn' contains an infinite value"):
        model.posterior([mnist, svhn])


def test_tokens_are_checked_for_dtype_and_vocabulary():
    words = Modality("caption", (5,), kind="tokens", vocabulary=10)
    words.check(torch.tensor([[0, 3, 9, 1, 2]]))
    with pytest.raises(ValueError, match=r"modality 'caption' expects integer token ids in \[0, 9\] of shape "
                                         r"\(B, 5\); got ids in \[0, 10\]"):
        words.check(torch.tensor([[0, 3, 10, 1, 2]]))
    with pytest.raises(ValueError, match="got torch.float32"):
        words.check(torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"got shape \(1, 4\)"):
        words.check(torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="tokens need a vocabulary size"):
        Modality("caption", kind="tokens")
    with pytest.raises(ValueError, match="kind must be one of"):
        Modality("x", kind="image")


def test_a_modality_named_only_checks_finiteness():
    """Built from bare names, a model accepts any shape and dtype but still refuses NaN."""
    free = Modality("x", kind="any")
    free.check(torch.zeros(2, 7, dtype=torch.long))
    free.check(torch.full((2, 3), 1e6))
    with pytest.raises(ValueError, match="contains NaN"):
        free.check(torch.tensor([[float("nan")]]))
