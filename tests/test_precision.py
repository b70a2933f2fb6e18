"""mmvae_lib.precision: a stage's networks under bfloat16 autocast, the log-densities and bounds in float32, a
fallback to float32 where the device has no bfloat16 arithmetic, and fp32 fingerprints left as they were."""
from __future__ import annotations

import pytest
import torch

from mmvae_lib import precision
from mmvae_lib.experiments.mnist_svhn.networks import mnist_svhn_model
from mmvae_lib.models.flows import FlowPosterior, maf
from mmvae_lib.models.distributions import Factorised
from mmvae_lib.models.projectors import cca_correlation
from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.training import Stage, checkpoint_path, train
from test_trainer import tiny_pairs

pytestmark = pytest.mark.usefixtures("one_thread")


def _model():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return mnist_svhn_model("mmvae", 8)


def test_the_precision_is_in_the_fingerprint_only_when_it_is_not_fp32(tmp_path):
    data = tiny_pairs()
    fp32, default = Stage("s", "moe_elbo", epochs=1, precision="fp32"), Stage("s", "moe_elbo", epochs=1)
    assert "precision" not in default.describe() and fp32.describe() == default.describe()
    assert Stage("s", "moe_elbo", epochs=1, precision="bf16").describe()["precision"] == "bf16"
    path = checkpoint_path(_model(), [default], data, tmp_path / "run", 0)
    assert path == checkpoint_path(_model(), [fp32], data, tmp_path / "run", 0)
    assert path != checkpoint_path(_model(), [Stage("s", "moe_elbo", epochs=1, precision="bf16")], data,
                                   tmp_path / "run", 0)
    with pytest.raises(ValueError, match="precision must be one of"):
        Stage("s", "moe_elbo", epochs=1, precision="fp16")


def test_without_bfloat16_arithmetic_a_bf16_stage_trains_in_fp32_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(precision, "bf16_supported", lambda device: False)
    monkeypatch.setattr(precision, "_SAID", set())
    data = tiny_pairs()
    asked = train(_model(), Stage("s", "moe_elbo", epochs=1, batch_size=8, precision="bf16"), data,
                  tmp_path / "bf16", progress=False)
    plain = train(_model(), Stage("s", "moe_elbo", epochs=1, batch_size=8), data, tmp_path / "fp32", progress=False)
    assert asked[0]["precision"] == "fp32" and asked[0]["bound"] == plain[0]["bound"]   # the same numbers
    assert capsys.readouterr().out.count("has no bfloat16 arithmetic") == 1


def test_under_bf16_autocast_networks_compute_in_bf16_and_the_bound_stays_float32_and_close():
    """The MMVAE's bound on the same weights and inputs: float32 out of every network and in the bound, within
    bf16's rounding of the float32 bound (8 mantissa bits: a relative error of a few 1e-3 per product)."""
    model, (xs, _) = _model(), (tiny_pairs(n=16).get(torch.arange(16)), None)
    xs = xs[:2]
    g = lambda: torch.Generator().manual_seed(0)    # noqa: E731
    exact = OBJECTIVES["moe_elbo"](model, xs, 1, g()).bound
    seen = []
    hook = model.decoders[0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    with precision.autocast("bf16", "cpu"):
        mixed = OBJECTIVES["moe_elbo"](model, xs, 1, g())
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}                       # the network ran in bf16 ...
    assert mixed.bound.dtype == torch.float32 == mixed.surrogate.dtype  # ... its outputs left it in float32
    assert not torch.equal(mixed.bound, exact)
    torch.testing.assert_close(mixed.bound, exact, rtol=2e-2, atol=0.0)


def test_flows_and_dcca_stay_exact_under_autocast():
    torch.manual_seed(0)
    flow = maf(4, transforms=2, hidden=(16, 16))
    q = FlowPosterior(Factorised("normal", torch.randn(5, 4), torch.rand(5, 4) + 0.5), flow)
    z, eps = torch.randn(3, 5, 4), torch.randn(3, 5, 4)
    h1, h2 = torch.randn(64, 3), torch.randn(64, 3)
    with precision.autocast("bf16", "cpu"):
        inside = (q.log_prob(z), q.transform(eps), cca_correlation(h1, h2))
    for a, b in zip(inside, (q.log_prob(z), q.transform(eps), cca_correlation(h1, h2)), strict=True):
        assert a.dtype == torch.float32 and torch.equal(a, b)


def test_cpu_bf16_is_read_from_the_cpu_s_flags(tmp_path):
    with_bf16, without = tmp_path / "a", tmp_path / "b"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert precision.cpu_has_bf16(str(with_bf16)) and not precision.cpu_has_bf16(str(without))


def test_where_the_device_has_bfloat16_a_bf16_stage_trains_under_autocast(tmp_path, monkeypatch):
    """(bf16 is forced here: this CPU emulates it.) The epoch records bf16; the weights stay float32 and the
    bound is near, not equal to, the fp32 run's."""
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    data = tiny_pairs()
    model = _model()
    mixed = train(model, Stage("s", "moe_elbo", epochs=1, batch_size=8, precision="bf16"), data, tmp_path / "bf16",
                  progress=False)
    plain = train(_model(), Stage("s", "moe_elbo", epochs=1, batch_size=8), data, tmp_path / "fp32", progress=False)
    assert mixed[0]["precision"] == "bf16" and "precision" not in plain[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert mixed[0]["bound"] != plain[0]["bound"]
    assert mixed[0]["bound"] == pytest.approx(plain[0]["bound"], rel=1e-2)
