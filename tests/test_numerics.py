"""mmvae_lib.numerics and mmvae_lib.workers: the same seed gives the same numbers in any process on this
machine, whatever the environment, the thread count or the number of worker processes."""
import hashlib
import os
import subprocess
import sys

import pytest
import torch

import mmvae_lib  # noqa: F401  (imported for its side effect: MKL pinned first)
from mmvae_lib import numerics, workers
from mmvae_lib.objectives.estimators import OBJECTIVES
from mmvae_lib.experiments.mnist_svhn.networks import MNIST_SHAPE, SVHN_SHAPE, mnist_svhn_model


def tiny_training(seed: int, steps: int = 3, on_epoch_end=None) -> str:
    """A job: a few MMVAE steps on random data; the weights' hash."""
    g = torch.Generator().manual_seed(seed)
    xs = [torch.rand(16, *MNIST_SHAPE, generator=g), torch.rand(16, *SVHN_SHAPE, generator=g)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = mnist_svhn_model("mmvae", 8)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    for _ in range(steps):
        optimiser.zero_grad()
        (-OBJECTIVES["moe_dreg_looser"](model, xs, 3, g).surrogate.mean()).backward()
        optimiser.step()
    if on_epoch_end is not None:
        on_epoch_end(1, [])
    return hashlib.sha1(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()


def test_reproducible_pins_mkl_threads_and_determinism():
    """After reproducible(): MKL in AUTO,STRICT mode (where torch's MKL reports it), one thread,
    deterministic algorithms; and the settings say so."""
    settings = numerics.reproducible()
    assert settings.threads == torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    assert os.environ["MKL_CBWR"] == "AUTO,STRICT"
    assert settings.mkl.startswith("AUTO,STRICT")
    assert "1 torch thread" in str(settings)
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        numerics.reproducible(threads=0)


def test_mkl_started_before_mmvae_lib_is_a_clear_error():
    """If a matrix product ran before mmvae_lib was imported, MKL's mode can no longer change:
    reproducible() says so instead of giving numbers that depend on the process."""
    code = ("import torch; a = torch.randn(8, 8); a @ a\n"
            "import mmvae_lib\nfrom mmvae_lib import numerics\nnumerics.reproducible()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "MKL_CBWR"})
    if numerics.mkl_mode().startswith("unknown"):
        pytest.skip("this torch build does not report MKL's mode")
    assert run.returncode != 0
    assert "a matrix product ran before mmvae_lib was imported" in run.stderr


@pytest.mark.parametrize("validate", [True, False])
def test_importing_the_library_leaves_the_user_s_distribution_validation_as_it_was(validate):
    """zuko switches torch.distributions' argument validation off for the whole process at import; the
    modules that import zuko (the flows, JNF) put the user's setting back."""
    code = ("import torch\n"
            f"torch.distributions.Distribution.set_default_validate_args({validate})\n"
            "import mmvae_lib, mmvae_lib.models.flows, mmvae_lib.training.jnf, mmvae_lib.experiments.mnist_svhn.jnf\n"
            "print(torch.distributions.Distribution._validate_args)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(validate)


def test_mkl_can_be_left_alone():
    """MMVAE_MKL_CBWR=off: importing mmvae_lib sets no MKL mode (MKL_CBWR stays unset), and reproducible()
    says that MKL was left as it was instead of raising."""
    code = ("import os, mmvae_lib\nfrom mmvae_lib import numerics\n"
            "print(os.environ.get('MKL_CBWR'), '|', numerics.reproducible().mkl)")
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"} | {"MMVAE_MKL_CBWR": "off"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    unset, mode = run.stdout.strip().split(" | ")
    assert unset == "None" and mode.endswith("(left as it was: MMVAE_MKL_CBWR=off)")


@pytest.mark.slow
def test_same_numbers_in_this_process_and_in_workers_with_another_environment(monkeypatch):
    """Two jobs run here (one worker: in this process) and in two spawned worker processes whose
    environment asks for 2 OpenMP threads and another MKL mode: identical weights, bit for bit."""
    jobs = [workers.Job(f"seed {s}", tiny_training, {"seed": s}) for s in (0, 1)]
    here = workers.run_jobs(jobs, workers=1, progress=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "x" * 3000)
    spawned = workers.run_jobs(jobs, workers=2, progress=False)
    assert here == spawned
    assert here[0] != here[1]


def test_a_failing_job_is_named():
    def broken(on_epoch_end=None):
        raise ValueError("boom")
    with pytest.raises(RuntimeError, match="job 'broken job' failed: boom"):
        workers.run_jobs([workers.Job("broken job", broken)], workers=1, progress=False)


def test_free_cores_honours_the_override(monkeypatch):
    monkeypatch.setenv("MMVAE_WORKERS", "3")
    assert workers.free_cores() == 3
    monkeypatch.delenv("MMVAE_WORKERS")
    assert 1 <= workers.free_cores() <= (os.cpu_count() or 1)
