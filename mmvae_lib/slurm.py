"""The training grid (:mod:`mmvae_lib.jobs`) on a Slurm cluster, through submitit (``pip install -e ".[cluster]"``).

    python -m mmvae_lib.jobs run --profile full --engine slurm --partition gpu --account my_lab \\
        --time 720 --gpus 1 --cpus 8 --parallelism 16 \\
        --setup "module load cuda/12.4" --setup "source ~/venvs/mmvae/bin/activate" \\
        --outputs /scratch/$USER/mmvae-outputs

Each wave of the grid (runs after the runs they need) is one job array; ``--runs-per-job`` packs several small
runs into one job, side by side on its GPU. A job that Slurm preempts or stops at its time limit is requeued
(submitit's ``Checkpointable``) and its runs resume from their checkpoints, bit for bit.

The driver (the command above) polls the jobs, prints progress and where each log is, and can be stopped and
started again: the same command finds the jobs it submitted (``outputs/<profile>/grid/slurm.json``) and picks
the grid up. A run that raised shows its traceback here. A job that leaves the queue without a result (killed,
node lost) is reported instead of waited for: submitit reads job states from Slurm's accounting (``sacct``),
which many clusters, and the single-node Slurm of the tests, do not keep, so the driver asks ``squeue``
instead and looks for the job's result file.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmvae_lib.paths import output_dir, save_text
from mmvae_lib.workers import Job, waves


@dataclass(frozen=True)
class Options:
    """Where and how the jobs run; every cluster-specific setting is one of these, never an edit of the code."""

    partition: str | None = None
    account: str | None = None
    time_min: int = 60 * 24               # per job; a run that needs longer is requeued and resumes
    gpus: int = 0                          # per job
    cpus: int = 2                          # per job
    mem_gb: int | None = None
    parallelism: int = 64                  # jobs of one array running at once
    runs_per_job: int = 1                  # runs packed into one job (side by side on its GPU)
    setup: tuple[str, ...] = ()            # shell lines before each job: modules, environments
    outputs: str | None = None             # outputs root for the jobs (MMVAE_OUTPUTS), e.g. on scratch
    poll_s: float = 10.0
    extra: dict = field(default_factory=dict)   # any other sbatch option, e.g. {"qos": "long"}


def add_options(parser) -> None:
    group = parser.add_argument_group("slurm (with --engine slurm)")
    group.add_argument("--partition")
    group.add_argument("--account")
    group.add_argument("--time", type=int, default=Options.time_min, help="minutes per job (default a day)")
    group.add_argument("--gpus", type=int, default=Options.gpus, help="GPUs per job")
    group.add_argument("--cpus", type=int, default=Options.cpus, help="CPUs per job")
    group.add_argument("--mem", type=int, default=None, help="GB per job")
    group.add_argument("--parallelism", type=int, default=Options.parallelism, help="jobs running at once")
    group.add_argument("--setup", action="append", default=[],
                       help="a shell line run before each job (repeat it), e.g. 'module load cuda'")
    group.add_argument("--outputs", default=None,
                       help="outputs root the jobs write to (MMVAE_OUTPUTS), e.g. a scratch directory")
    group.add_argument("--poll", type=float, default=Options.poll_s, help="seconds between looks at the queue")


def options_from(args) -> Options:
    return Options(partition=args.partition, account=args.account, time_min=args.time, gpus=args.gpus,
                   cpus=args.cpus, mem_gb=args.mem, parallelism=args.parallelism,
                   runs_per_job=args.runs_per_gpu or 1, setup=tuple(args.setup), outputs=args.outputs,
                   poll_s=args.poll)


def _checkpointable():
    import submitit

    class Task(submitit.helpers.Checkpointable):
        """One Slurm job: its runs (one, or several side by side), in a fresh process. Preempted or timed out,
        submitit requeues the same task (the default ``checkpoint``), whose runs resume from their checkpoints."""

        def __init__(self, jobs: list[Job], environment: dict[str, str]):
            self.jobs = jobs
            self.environment = environment

        def __call__(self) -> list[str]:
            os.environ.update(self.environment)
            from mmvae_lib import numerics
            from mmvae_lib.workers import run_jobs

            print(numerics.reproducible(), flush=True)
            print("runs: " + ", ".join(job.key for job in self.jobs), flush=True)
            run_jobs(self.jobs, workers=len(self.jobs), progress=False, description="slurm job")
            return [job.key for job in self.jobs]

    return Task


def executor(folder: Path, options: Options):
    import submitit

    ex = submitit.SlurmExecutor(folder=folder / "%j", max_num_timeout=100)
    parameters = dict(time=options.time_min, cpus_per_task=options.cpus, array_parallelism=options.parallelism,
                      setup=list(options.setup), job_name="mmvae-grid", **options.extra)
    if options.partition:
        parameters["partition"] = options.partition
    if options.account:
        parameters["account"] = options.account
    if options.gpus:
        parameters["gpus_per_node"] = options.gpus
    if options.mem_gb:
        parameters["mem"] = f"{options.mem_gb}G"
    ex.update_parameters(**parameters)
    return ex


def in_queue(job_ids: list[str]) -> set[str]:
    """Which of ``job_ids`` (``123`` or array tasks ``123_4``) Slurm still holds (pending, running, requeued)."""
    if not job_ids:
        return set()
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(sorted({i.split("_")[0] for i in job_ids}))],
                         capture_output=True, text=True)
    queued = set(out.stdout.split())
    return {i for i in job_ids if i in queued}


@dataclass
class Submitted:
    """A Slurm job of the grid: its id, its runs, its folder (log, result)."""

    job_id: str
    keys: list[str]
    folder: Path


def _state_path(profile: str) -> Path:
    return output_dir(profile) / "grid" / "slurm.json"


def _load_state(profile: str) -> dict[str, dict]:
    path = _state_path(profile)
    return json.loads(path.read_text()) if path.exists() else {}


def run(jobs: list[Job], profile: str, options: Options, *, say=print) -> dict[str, str]:
    """Train ``jobs`` on Slurm, wave after wave; returns ``{run key: "done" | "failed: …" | "lost: …"}``. Raises
    ``RuntimeError`` naming every run that failed or was lost (after its wave: no run after it starts)."""
    from mmvae_lib.jobs import status

    folder = output_dir(profile) / "grid" / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    environment = {"MMVAE_OUTPUTS": options.outputs} if options.outputs else {}
    if "MMVAE_OUTPUTS" in os.environ and not options.outputs:
        environment["MMVAE_OUTPUTS"] = os.environ["MMVAE_OUTPUTS"]
    state = _load_state(profile)             # run key → {"job": id} of an earlier driver
    outcome: dict[str, str] = {}
    for number, wave in enumerate(waves(jobs), 1):
        pending: dict[str, Submitted] = {}
        to_submit: list[Job] = []
        for job in wave:
            known = state.get(job.key)
            trained = (s := status(job, profile)) is not None and s.epochs is not None and s.epochs >= s.total
            if trained:
                outcome[job.key] = "done"
            elif known and (known["job"] in in_queue([known["job"]]) or _has_result(folder, known["job"])):
                pending.setdefault(known["job"], Submitted(known["job"], [], folder)).keys.append(job.key)
            else:
                to_submit.append(job)
        if pending:
            say(f"grid: wave {number}: found {len(pending)} job(s) of an earlier driver ({', '.join(pending)})")
        if to_submit:
            for sub in _submit(to_submit, folder, options, environment):
                pending[sub.job_id] = sub
                for key in sub.keys:
                    state[key] = {"job": sub.job_id}
            save_text(json.dumps(state, indent=1, sort_keys=True) + "\n", _state_path(profile))
            say(f"grid: wave {number}: submitted {len(to_submit)} run(s) as {len(pending)} job(s); logs under "
                f"{folder}/<job id>/")
        outcome.update(_wait(pending, options, folder, number, say))
    bad = {key: result for key, result in outcome.items() if result != "done"}
    if bad:
        raise RuntimeError("grid: " + "; ".join(f"{key} {result}" for key, result in bad.items()))
    return outcome


def _has_result(folder: Path, job_id: str) -> bool:
    return any((folder / job_id).glob("*_result.pkl"))


def _result(folder: Path, job_id: str) -> tuple[str, object]:
    """The job's result file, as submitit writes it: ``("success", value)`` or ``("error", traceback text)``.
    Read here rather than through ``job.result()``, which asks ``sacct`` first (absent without accounting)."""
    from submitit.core.utils import pickle_load

    return pickle_load(next((folder / job_id).glob("*_result.pkl")))


def _submit(jobs: list[Job], folder: Path, options: Options, environment: dict) -> list[Submitted]:
    task = _checkpointable()
    ex = executor(folder, options)
    packs = [jobs[i:i + options.runs_per_job] for i in range(0, len(jobs), options.runs_per_job)]
    with ex.batch():
        handles = [ex.submit(task(pack, environment)) for pack in packs]
    return [Submitted(h.job_id, [job.key for job in pack], folder) for h, pack in zip(handles, packs, strict=True)]


def _wait(pending: dict[str, Submitted], options: Options, folder: Path, wave: int, say) -> dict[str, str]:
    """Poll until every job of the wave has a result or has left the queue without one."""
    outcome: dict[str, str] = {}
    total = len(pending)
    shown = None
    while pending:
        queued = in_queue(list(pending))
        for job_id, sub in list(pending.items()):
            if _has_result(folder, job_id):
                kind, value = _result(folder, job_id)
                if kind == "success":
                    outcome.update({key: "done" for key in sub.keys})
                else:                                   # submitit keeps the job's traceback as text
                    say(f"grid: job {job_id} ({', '.join(sub.keys)}) failed:\n{value}")
                    outcome.update({key: f"failed (job {job_id}; log {folder / job_id})" for key in sub.keys})
                del pending[job_id]
            elif job_id not in queued and not _has_result(folder, job_id):
                say(f"grid: job {job_id} ({', '.join(sub.keys)}) left the queue without a result (killed, out of "
                    f"memory, or its node lost); its log: {folder / job_id}. Run the same command again to resubmit it")
                outcome.update({key: f"lost (job {job_id}; log {folder / job_id})" for key in sub.keys})
                del pending[job_id]
        line = f"grid: wave {wave}: {total - len(pending)} of {total} job(s) finished"
        if line != shown:
            say(line)
            shown = line
        if pending:
            time.sleep(options.poll_s)
    return outcome
