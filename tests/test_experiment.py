"""mmvae_lib.experiment: the per-epoch coherence probe and the profile's extended MMVAE run."""
import pytest
import torch
from torch import nn

from mmvae_lib import experiment
from mmvae_lib.networks import mnist_svhn_model
from mmvae_lib.profiles import get_profile
from test_training import TinyPairs  # tests/ is on sys.path (pytest prepend import mode)


class Always(nn.Module):
    """A digit classifier that predicts ``digit`` for every image."""

    def __init__(self, digit):
        super().__init__()
        self.digit = digit

    def forward(self, x):
        return nn.functional.one_hot(torch.full((x.shape[0],), self.digit), 10).float()


def _pairs(n, label):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=g), torch.rand(n, 3, 32, 32, generator=g), torch.full((n,), label)


@pytest.mark.parametrize("model_kind", ["mmvae", "mvae"])
def test_coherence_probe_scores_against_the_judges(model_kind):
    """Judges that always say 3 make cross coherence 100 % on pairs labelled 3 and 0 % on pairs labelled 4;
    they always agree, so joint coherence is 100 %; the symmetric KL is positive; the same model gives the
    same numbers twice; only the first n pairs are scored."""
    model = mnist_svhn_model(model_kind).eval()
    judges = [Always(3), Always(3)]
    threes = experiment.coherence_probe(_pairs(12, 3), judges, 8)
    with torch.no_grad():
        first, again = threes(model), threes(model)
        fours = experiment.coherence_probe(_pairs(12, 4), judges, 8)(model)
    assert first == again
    assert set(first) == set(experiment.CURVE_COLUMNS)
    assert first["Cross M→S"] == first["Cross S→M"] == 100.0 and first["Joint"] == 100.0
    assert fours["Cross M→S"] == fours["Cross S→M"] == 0.0
    assert first["symmetric KL"] > 0


def test_extended_run_trains_the_first_seed_longer_with_its_curve(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    profile = get_profile("smoke", extended_epochs=2, epochs=1, batch_size=20, seeds=(5, 6))
    probe = experiment.coherence_probe(_pairs(6, 1), [Always(1), Always(1)], 6)
    model, history = experiment.extended_run(profile, TinyPairs(), progress=False, evaluate=probe)
    assert [h["epoch"] for h in history] == [1, 2] and all(h["Joint"] == 100.0 for h in history)
    assert list((tmp_path / "smoke" / "checkpoints").glob("mmvae_moe_elbo_k1_e2_s5_*.pt"))
    assert experiment.extended_run(get_profile(profile, extended_epochs=0), TinyPairs()) is None
