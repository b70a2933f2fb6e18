"""mmvae_lib.jobs: every training run of a profile as one grid, in waves after the runs they need; the local
engine trains it, a second pass does nothing; `list` prints it with its cost and what is trained."""
from __future__ import annotations

import pytest

from mmvae_lib import jobs
from mmvae_lib.workers import Job, waves


def _noop(*, on_epoch_end=None, **_):
    return None


def test_waves_put_every_run_after_the_runs_it_needs():
    a, b = Job("a", _noop, key="a"), Job("b", _noop, key="b", after=("a",))
    c, d = Job("c", _noop, key="c", after=("b", "a")), Job("d", _noop, key="d")
    assert [[j.key for j in w] for w in waves([c, b, a, d])] == [["a", "d"], ["b"], ["c"]]
    with pytest.raises(ValueError, match="not among the jobs"):
        waves([b])
    with pytest.raises(ValueError, match="cycle"):
        waves([Job("x", _noop, key="x", after=("y",)), Job("y", _noop, key="y", after=("x",))])


def test_the_full_grid_lists_every_experiment_model_and_seed_with_its_cost():
    """Without the real data the sizes are the published ones: MNIST-SVHN at dm 20 is 1,121,360 pairs, so the
    MMVAE's 30 epochs of batch 128 are 30 × 8,761 steps."""
    grid = jobs.grid("full")
    keys = {job.key for job in grid}
    assert {f"mnist_svhn/{m}/s{s}" for m in ("mmvae", "mvae", "vae_mnist", "vae_svhn") for s in range(5)} <= keys
    assert {f"polymnist/{m}/s{s}" for m in ("mmvae", "mvae", "mopoe") for s in range(4)} <= keys
    assert {f"cub/{m}/s{s}" for m in ("mmvae", "mvae") for s in range(5)} <= keys
    assert {f"jnf_polymnist/{v}/s{s}" for v in ("jnf", "jnf_dcca") for s in range(4)} <= keys
    by_key = {job.key: job for job in grid}
    assert by_key["mnist_svhn/mmvae/s0"].steps == 30 * 8_761
    assert by_key["mnist_svhn/mmvae/s0"].after == ("mnist_svhn/judges",)
    assert by_key["jnf_mnist_svhn/jnf_contrastive/s1"].after == ("jnf_mnist_svhn/joint_b2.5/s1",)
    assert len(keys) == len(grid)                      # one key per run
    assert all(job.steps > 0 for job in grid if job.checkpoint)
    with pytest.raises(ValueError, match="no experiment"):
        jobs.grid("full", ["mnist"])


def test_the_local_engine_trains_the_grid_and_a_second_pass_only_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    grid = jobs.grid("smoke", ["jnf_toy"])
    assert [str(jobs.status(job, "smoke")) for job in grid] == ["not started"] * 4
    jobs.run_local(grid, workers=1, progress=False)
    assert [str(jobs.status(job, "smoke")) for job in grid] == ["trained"] * 4
    capsys.readouterr()
    jobs.run_local(grid, workers=1, progress=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("train:")]
    assert lines and all("loaded the finished run" in line for line in lines)
    jobs.main(["list", "--profile", "smoke", "--only", "jnf_toy"])
    table = capsys.readouterr().out
    assert "jnf_toy/jnf_dcca/s0" in table and "4 runs in 2 waves" in table and "4 trained already" in table


def test_a_dry_run_of_the_grid_gives_its_cost_and_never_counts_as_trained(tmp_path, monkeypatch, capsys):
    """`jobs cost` after a dry run: one row per stage of every run, the real run's steps times the seconds the
    dry run measured per step; GPU-hours from the FLOPs under the stated assumption. A dry run's checkpoints
    are not the real run's: `list` outside a dry run still says "not started"."""
    from mmvae_lib.training import trainer

    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    grid = jobs.grid("smoke", ["jnf_toy"])
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, "3")
    assert [job.expected_epochs for job in grid] == [min(job.epochs, 2 * len(job.stages)) for job in grid] != [
        job.epochs for job in grid]                    # the progress bar counts the epochs a dry run trains
    jobs.run_local(grid, workers=1, progress=False)
    assert [str(jobs.status(job, "smoke")) for job in grid] == ["trained"] * 4
    monkeypatch.delenv(trainer.DRY_RUN_VARIABLE)
    grid = jobs.grid("smoke", ["jnf_toy"])              # the real run's sizes
    assert [str(jobs.status(job, "smoke")) for job in grid] == ["not started"] * 4
    table = jobs.cost(grid, "smoke", gpu_tflops=1e-3, gpu_floor_ms=1.0)
    assert list(zip(table["run"], table["stage"], table["steps"], strict=True)) == [
        (job.key, stage, steps) for job in grid for stage, steps in job.stages]
    assert (table["cpu_seconds_per_step"] > 0).all() and (table["gflop_per_step"] > 0).all()
    expected = table["steps"] * (table["gflop_per_step"] * 1e9 / 1e9).clip(lower=1e-3) / 3600
    assert table["gpu_hours"].round(3).tolist() == expected.round(3).tolist()
    assert "1 ms per step (assumed, not measured)" in table.attrs["assumption"]
    capsys.readouterr()
    jobs.main(["cost", "--profile", "smoke", "--only", "jnf_toy"])
    assert (tmp_path / "smoke" / "grid" / "cost.csv").exists() and "GPU-hours" in capsys.readouterr().out
    jobs.main(["list", "--profile", "smoke", "--only", "jnf_toy"])
    listed = capsys.readouterr().out
    assert "GPU-hours: " in listed and "for the 4 runs timed by a dry run" in listed and "not started" in listed

    # runs per GPU: as many of the largest run as fit in 80 % of the GPU by the dry run's memory estimate
    assert (table["memory_gb"] > 0).all()
    largest = table["memory_gb"].max() * 1e9
    assert jobs.default_runs_per_gpu(grid, "smoke", int(3.5 * largest / 0.8), cpus_per_gpu=16)[0] == 3
    assert jobs.default_runs_per_gpu(grid, "smoke", int(3.5 * largest / 0.8), cpus_per_gpu=2)[0] == 2
    assert jobs.default_runs_per_gpu(grid, "smoke", int(1e15), cpus_per_gpu=64)[0] == jobs.MOST_RUNS_PER_GPU
    assert jobs.default_runs_per_gpu(grid, "smoke", int(largest / 2), cpus_per_gpu=4)[0] == 1
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "elsewhere"))     # no cost table: one run per GPU
    assert jobs.default_runs_per_gpu(grid, "smoke", int(1e15), cpus_per_gpu=64) == (
        1, "1 run per GPU: no cost table with these runs' memory (python -m mmvae_lib.jobs cost --profile smoke)")


def test_a_step_s_memory_estimate_counts_the_saved_activations_and_the_optimiser_s_copies():
    """The estimate behind the runs per GPU: a linear layer's step saves its input (the activation) besides
    its weight, and Adam with amsgrad keeps five copies of each trained parameter."""
    import torch

    from mmvae_lib.training.trainer import _StepCost

    layer = torch.nn.Linear(100, 10)
    x = torch.randn(64, 100)
    with _StepCost(layer) as cost:
        torch.sigmoid(layer(x)).sum().backward()
    measured = cost.measured()
    parameters = (100 * 10 + 10) * 4
    # saved: the input x (64 x 100) and the sigmoid's output (64 x 10); the weight is not counted twice
    assert measured["memory_bytes"] == 64 * 100 * 4 + 64 * 10 * 4 + 5 * parameters
    assert measured["flops_per_step"] == 2 * (2 * 64 * 100 * 10)   # forward, and the weight's gradient (x needs none)
