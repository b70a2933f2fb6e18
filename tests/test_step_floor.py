"""benchmarks/step_floor.py: every experiment's step has a case; the floor replays exactly the layer calls a
step made, on the inputs they got (so it sets the same arithmetic), and the table reads GFLOP/s from a count."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from mmvae_lib.paths import REPO_ROOT

pytestmark = pytest.mark.usefixtures("one_thread")


def _script():
    spec = importlib.util.spec_from_file_location("bench_step_floor", Path(REPO_ROOT) / "benchmarks" / "step_floor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_experiment_has_a_case_and_the_floor_replays_the_step_s_layer_calls():
    step_floor = _script()
    names = set(step_floor.cases("smoke"))
    assert {"mnist_svhn_mmvae_dreg30", "polymnist_mopoe", "cub_mmvae", "jnf_polymnist_dcca",
            "jnf_mnist_svhn_contrastive", "jnf_polymnist_unimodal", "jnf_toy_joint"} <= names
    step = step_floor.Step(*step_floor.cases("smoke", ["jnf_toy_unimodal"])["jnf_toy_unimodal"]())
    calls = step.layer_calls()
    layers = {id(layer) for layer, _ in calls}
    assert calls and all(not any(True for c in layer.children() for _ in c.parameters()) for layer, _ in calls)
    # only the stage's trained parameters move (the joint model is frozen in the unimodal stage)
    frozen = {name: p.detach().clone() for name, p in step.model.named_parameters() if not p.requires_grad}
    assert frozen
    seen, hooks = [], [layer.register_forward_hook(lambda m, a, o: seen.append(id(m))) for layer, _ in
                       {id(layer): (layer, None) for layer, _ in calls}.values()]
    step.floor(calls)
    for hook in hooks:
        hook.remove()
    assert sorted(seen) == sorted(id(layer) for layer, _ in calls) and set(seen) == layers
    assert all(torch.equal(p, frozen[name]) for name, p in step.model.named_parameters() if name in frozen)


def test_the_table_has_a_row_per_case_with_its_flops(capsys):
    rows = _script().main(["--profile", "smoke", "--reps", "1", "--only", "mnist_svhn_mmvae_k1", "jnf_toy_joint"])
    assert [r["case"] for r in rows] == ["mnist_svhn_mmvae_k1", "jnf_toy_joint"]
    assert all(r["gflop_per_step"] > 0 and r["step_ms"] > 0 and r["floor_ms"] > 0 and r["layer_calls"] > 0
               for r in rows)
    assert "GFLOP/s" in capsys.readouterr().out
