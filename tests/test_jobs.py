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
