"""The training grid on a real Slurm (mmvae_lib.slurm through submitit): a single-node cluster started here
(tests/slurm_cluster.py) trains small real runs, which must equal the same runs made locally; a requeued job
resumes to the same weights; a run that raises shows its error; a killed job does not hang the driver; a
stopped driver picks its jobs up again; two one-GPU jobs get different GPUs.

Skipped without Slurm (or not as root) with a message saying how to run them; ``MMVAE_REQUIRE_SLURM=1``
(.ci/run) makes that a failure."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch

from mmvae_lib import jobs as grid_module
from mmvae_lib import slurm
from mmvae_lib.training.trainer import load_checkpoint
from mmvae_lib.workers import Job

pytest.importorskip("submitit", reason="the Slurm engine needs submitit: pip install -e '.[cluster]'")
from slurm_cluster import SlurmCluster, skip_reason  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FAST = slurm.Options(cpus=1, poll_s=0.5, time_min=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = skip_reason()
    if reason:
        if os.environ.get("MMVAE_REQUIRE_SLURM") == "1":
            pytest.fail(f"MMVAE_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def _weights(root: Path) -> dict[str, dict]:
    """Every checkpoint under ``root``: its file name → its model's tensors."""
    return {p.relative_to(root).as_posix(): load_checkpoint(p)["model"] for p in sorted(root.rglob("*.pt"))}


def _same(a: dict[str, dict], b: dict[str, dict]) -> None:
    assert a.keys() == b.keys() and a
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), (name, key)


def test_a_grid_trained_on_slurm_equals_the_same_grid_trained_locally(cluster, tmp_path, monkeypatch):
    """The toy's JNF grid (a joint model, then three variants on it: two waves) on Slurm, then here: the same
    checkpoints, bit for bit."""
    runs = grid_module.grid("smoke", ["jnf_toy"])
    assert [len(w) for w in grid_module.waves(runs)] == [1, 3]
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "slurm"))
    said = []
    outcome = slurm.run(runs, "smoke", FAST, say=said.append)
    assert set(outcome.values()) == {"done"} and len(outcome) == 4
    assert any("wave 2: submitted 3 run(s)" in line for line in said)
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "local"))
    grid_module.run_local(runs, workers=1, progress=False)
    _same(_weights(tmp_path / "slurm" / "smoke" / "checkpoints"), _weights(tmp_path / "local" / "smoke" / "checkpoints"))
    # run again: every run is found trained, nothing is submitted
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "slurm"))
    said.clear()
    slurm.run(runs, "smoke", FAST, say=said.append)
    assert not any("submitted" in line for line in said)


def _long_run() -> Job:
    """The cpu profile's toy joint model: 20 epochs, long enough to be interrupted inside."""
    (job,) = [j for j in grid_module.grid("cpu", ["jnf_toy"]) if j.key == "jnf_toy/joint_b1/s0"]
    return job


def _wait_for(condition, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def _job_id(profile: str) -> str | None:
    state = slurm._load_state(profile)
    return next(iter(state.values()))["job"] if state else None


def test_a_requeued_job_resumes_to_the_weights_of_an_uninterrupted_run(cluster, tmp_path, monkeypatch):
    job = _long_run()
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "slurm"))

    def requeue_inside():
        _wait_for(lambda: _job_id("cpu") is not None, what="no job submitted")
        _wait_for(lambda: (s := grid_module.status(job, "cpu")) is not None and s.epochs and s.epochs >= 2,
                  what="no checkpoint of epoch 2")
        subprocess.run(["scontrol", "requeue", _job_id("cpu")], check=True)
        # Slurm holds a requeued job back (BeginTime, about 2 minutes): release it once it is pending again
        _wait_for(lambda: subprocess.run(["squeue", "-h", "-j", _job_id("cpu"), "-o", "%t"], capture_output=True,
                                         text=True).stdout.strip() == "PD", what="the requeued job is not pending")
        subprocess.run(["scontrol", "update", f"jobid={_job_id('cpu')}", "StartTime=now"], check=True)

    thread = threading.Thread(target=requeue_inside)
    thread.start()
    slurm.run([job], "cpu", FAST, say=lambda line: None)
    thread.join()
    log = "".join(p.read_text() for p in (tmp_path / "slurm" / "cpu" / "grid" / "slurm").rglob("*_log.out"))
    assert "train: resumed" in log and "after epoch" in log, log[-2000:]
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "local"))
    grid_module.run_local([job], workers=1, progress=False)
    _same(_weights(tmp_path / "slurm" / "cpu" / "checkpoints"), _weights(tmp_path / "local" / "cpu" / "checkpoints"))


def test_a_run_that_raises_shows_its_traceback_at_the_driver(cluster, tmp_path, monkeypatch):
    from mmvae_lib.experiments.mnist_svhn import experiment

    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    bad = Job("no such model", experiment.train_one, dict(profile="smoke", name="no_such_model", seed=0), key="bad")
    said = []
    with pytest.raises(RuntimeError, match="bad failed"):
        slurm.run([bad], "smoke", FAST, say=said.append)
    assert any("Traceback" in line and "model must be one of" in line for line in said)


def test_a_killed_job_does_not_hang_the_driver(cluster, tmp_path, monkeypatch):
    """Without accounting submitit would wait forever for a job killed without a result; the driver sees it
    leave the queue and says so."""
    job = _long_run()
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))

    def kill_when_running():
        _wait_for(lambda: _job_id("cpu") is not None, what="no job submitted")
        _wait_for(lambda: subprocess.run(["squeue", "-h", "-j", _job_id("cpu"), "-o", "%t"], capture_output=True,
                                         text=True).stdout.strip() == "R", what="the job never ran")
        time.sleep(3.0)
        subprocess.run(["scancel", "--signal=KILL", _job_id("cpu")], check=True)

    thread = threading.Thread(target=kill_when_running)
    thread.start()
    said = []
    start = time.time()
    with pytest.raises(RuntimeError, match="lost"):
        slurm.run([job], "cpu", FAST, say=said.append)
    thread.join()
    assert time.time() - start < 90
    assert any("left the queue without a result" in line for line in said)


def test_a_stopped_driver_picks_its_jobs_up_again(cluster, tmp_path, monkeypatch):
    """Stopping the driver (Ctrl-C) leaves the jobs running; the same call finds them and waits for them."""
    runs = [j for j in grid_module.grid("smoke", ["jnf_toy"]) if j.key == "jnf_toy/joint_b1/s0"]
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))

    def stop_after_submitting(line):
        if "submitted" in line:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        slurm.run(runs, "smoke", FAST, say=stop_after_submitting)
    said = []
    assert slurm.run(runs, "smoke", FAST, say=said.append) == {"jnf_toy/joint_b1/s0": "done"}
    assert any("found 1 job(s) of an earlier driver" in line for line in said), said
    assert not any("submitted" in line for line in said)


def test_two_one_gpu_jobs_get_different_gpus(cluster, tmp_path):
    ex = slurm.executor(tmp_path, slurm.Options(gpus=1, cpus=1, time_min=5))
    with ex.batch():
        handles = [ex.submit(subprocess.check_output, ["sh", "-c", "sleep 3; echo $CUDA_VISIBLE_DEVICES"])
                   for _ in range(2)]
    _wait_for(lambda: all(slurm._has_result(tmp_path, h.job_id) for h in handles), 60, "the GPU jobs did not finish")
    devices = [slurm._result(tmp_path, h.job_id) for h in handles]
    assert sorted(value.decode().strip() for kind, value in devices) == ["0", "1"]
