"""mmvae_lib.datasets: evaluation subsets that represent every class of data sorted by class."""
import json

import pytest
import torch

from mmvae_lib.datasets import stratified_subset
from mmvae_lib.paths import NOTEBOOKS_DIR


def test_a_stratified_subset_keeps_each_class_in_its_proportion_and_is_seeded():
    labels = torch.repeat_interleave(torch.arange(4), torch.tensor([50, 30, 15, 5]))    # sorted by class
    index = stratified_subset(labels, 20, seed=3)
    assert len(index) == 20 and len(set(index.tolist())) == 20
    assert torch.bincount(labels[index], minlength=4).tolist() == [10, 6, 3, 1]
    assert torch.equal(index, stratified_subset(labels, 20, seed=3))
    assert not torch.equal(index, stratified_subset(labels, 20, seed=4))
    assert len(set(labels[index[:8]].tolist())) > 1           # a prefix is no longer one class
    assert torch.equal(stratified_subset(labels, 500), torch.arange(100))   # everything, in its order
    with pytest.raises(ValueError, match="positive integer"):
        stratified_subset(labels, 0)


def test_largest_remainders_fill_the_subset_exactly():
    labels = torch.tensor([0] * 7 + [1] * 7 + [2] * 7)
    assert torch.bincount(labels[stratified_subset(labels, 10)]).tolist() in ([4, 3, 3], [3, 4, 3], [3, 3, 4])


def test_notebook_14_evaluates_on_every_class():
    """The test digits of notebook 14 (mnist_standin: sorted by class) are scored on a stratified subset of the
    profile's size, which holds all ten digits; the first ``eval_points`` hold only the first three."""
    from mmvae_lib.experiments.mnist_svhn.standin import mnist_standin
    from mmvae_lib.profiles import PROFILES

    _, digits = mnist_standin("test", seed=0)
    for profile in PROFILES.values():
        n = profile.own_modalities.eval_points
        assert set(digits[stratified_subset(digits, n, seed=0)].tolist()) == set(range(10))
    assert set(digits[:PROFILES["smoke"].own_modalities.eval_points].tolist()) == {0, 1, 2}
    cells = json.loads((NOTEBOOKS_DIR / "14_your_own_modalities.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "stratified_subset(test_data.labels, settings.eval_points" in code
    assert "[:settings.eval_points]" not in code
