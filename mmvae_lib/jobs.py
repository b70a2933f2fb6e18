"""Every training run of a profile, across all experiments, as one grid; and the engines that run it.

    python -m mmvae_lib.jobs list --profile full          the grid, its estimated cost, what is trained already
    python -m mmvae_lib.jobs run --profile full           train it here (the local engine: worker processes)
    python -m mmvae_lib.jobs run --profile full --engine slurm --partition gpu --gpus 1 --time 720
                                                          train it on a Slurm cluster (:mod:`mmvae_lib.slurm`)

A run (:class:`mmvae_lib.workers.Job`) is a module-level function of plain arguments (profile name, model,
seed, ...) that trains one model into its checkpoint through :func:`mmvae_lib.training.train`: a finished
checkpoint is loaded, a partial one resumed bit for bit, so running a run twice, or after an interruption,
does no work twice. The notebooks call the same functions: once the grid is trained, ``make paper`` only
evaluates; where a checkpoint is missing, the notebook trains it as before.

Each experiment lists its own runs (``runs(profile)`` in its module); a run names the runs it needs first
(``after``: the judges before the models probed with them, a JNF joint model before its variants), and the
engines start it only when they are finished.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

from mmvae_lib import arguments
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import get_profile
from mmvae_lib.workers import Job, run_grid, waves

# key → (module with runs(profile), notebooks that use its checkpoints), in the grid's order
EXPERIMENTS = {
    "mnist_svhn": ("mmvae_lib.experiments.mnist_svhn.experiment", "03-06"),
    "cub": ("mmvae_lib.experiments.cub.experiment", "08"),
    "polymnist": ("mmvae_lib.experiments.polymnist.experiment", "10"),
    "jnf_toy": ("mmvae_lib.experiments.toy_shapes.experiment", "11"),
    "jnf_mnist_svhn": ("mmvae_lib.experiments.mnist_svhn.jnf", "12"),
    "jnf_polymnist": ("mmvae_lib.experiments.polymnist.jnf", "13"),
}


def grid(profile: str, only: list[str] | None = None) -> list[Job]:
    """The profile's training runs, experiment by experiment (``only``: those experiments' keys)."""
    unknown = sorted(set(only or ()) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"no experiment {unknown}; the experiments are {', '.join(EXPERIMENTS)}")
    jobs: list[Job] = []
    for key, (module, _) in EXPERIMENTS.items():
        if not only or key in only:
            jobs += importlib.import_module(module).runs(get_profile(profile).name)
    return jobs


@dataclass(frozen=True)
class Status:
    """What the newest checkpoint of a run's name holds: ``epochs`` of ``total`` (``None``: none yet), and
    whether it stopped inside an epoch. The fingerprint is not checked here (that needs the data): the run
    itself reuses a checkpoint only when its fingerprint matches."""

    epochs: int | None
    total: int
    partial: bool = False

    def __str__(self) -> str:
        if self.epochs is None:
            return "not started"
        if self.epochs >= self.total:
            return "trained"
        return f"{self.epochs}/{self.total} epochs" + (" (+ part of one)" if self.partial else "")


def status(job: Job, profile: str) -> Status | None:
    """The :class:`Status` of ``job`` under the profile's checkpoints, ``None`` for a run without one (judges,
    kept in the cache)."""
    if not job.checkpoint:
        return None
    import torch

    folder = output_dir(profile, "checkpoints", create=False)
    candidates = sorted((folder / job.checkpoint).parent.glob(Path(job.checkpoint).name + "_*.pt"),
                        key=lambda p: p.stat().st_mtime)
    if not candidates:
        return Status(None, job.epochs)
    try:
        state = torch.load(candidates[-1], map_location="cpu", weights_only=True, mmap=True)
    except Exception:           # unreadable: the run itself will say so (CheckpointError) and what to do
        return Status(None, job.epochs)
    return Status(len(state.get("history", [])), job.epochs, state.get("partial") is not None)


def describe(jobs: list[Job], profile: str, seconds_per_step: dict[str, float] | None = None) -> str:
    """The grid as a table: wave, key, epochs, estimated steps, what is trained already; a total."""
    wave_of = {id(job): i for i, wave in enumerate(waves(jobs), 1) for job in wave}
    rows = [("wave", "run", "epochs", "steps", "status")]
    for job in jobs:
        state = status(job, profile)
        rows.append((str(wave_of[id(job)]), job.key, str(job.epochs), f"{job.steps:,}" if job.steps else "-",
                     "(cached judge)" if state is None else str(state)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i in (1, 4) else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    total = sum(job.steps for job in jobs)
    trained = sum(1 for job in jobs if (s := status(job, profile)) is not None and s.epochs is not None
                  and s.epochs >= s.total)
    lines.append(f"{len(jobs)} runs in {len(waves(jobs))} waves, {total:,} optimiser steps in all (estimated from "
                 f"the recipes and the training set's size); {trained} trained already")
    return "\n".join(lines)


# --- the local engine ---------------------------------------------------------------------------------

def run_local(jobs: list[Job], *, workers: int | None = None, runs_per_gpu: int | None = None,
              progress: bool = True) -> list:
    """Train ``jobs`` here, wave after wave: on a CPU in one-thread worker processes
    (:func:`mmvae_lib.workers.run_jobs`); on GPUs ``runs_per_gpu`` runs at once on each visible GPU."""
    import torch

    if torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        per_gpu = runs_per_gpu or 1
        jobs = [Job(job.name, job.fn, {**job.kwargs, "device": f"cuda:{i % gpus}"} if "device" in job.kwargs
                    else job.kwargs, job.epochs, job.key, job.after, job.steps, job.checkpoint)
                for i, job in enumerate(jobs)]
        workers = workers or gpus * per_gpu
    return run_grid(jobs, workers=workers, progress=progress, description="grid")


def main(argv: list[str] | None = None) -> None:
    parser = arguments.parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("list", "print the grid: its runs, waves, estimated steps and what is trained"),
                       ("run", "train the grid (a trained run is loaded, a partial one resumed)")):
        command = commands.add_parser(name, help=text, description=text)
        arguments.add_profile(command)
        command.add_argument("--only", nargs="*", choices=list(EXPERIMENTS), help="these experiments only")
        if name == "run":
            command.add_argument("--engine", choices=("local", "slurm"), default="local")
            command.add_argument("--workers", type=int, default=None,
                                 help="local: worker processes (default: the free cores, or GPUs × runs per GPU)")
            command.add_argument("--runs-per-gpu", type=int, default=None,
                                 help="local: runs at once on each visible GPU (default 1); slurm: runs packed "
                                      "into one job")
            from mmvae_lib import slurm

            slurm.add_options(command)
    args = parser.parse_args(argv)
    jobs = grid(args.profile, args.only)
    if args.command == "list":
        print(describe(jobs, args.profile))
        return
    start = time.perf_counter()
    if args.engine == "local":
        from mmvae_lib import numerics

        print(numerics.reproducible())
        run_local(jobs, workers=args.workers, runs_per_gpu=args.runs_per_gpu)
    else:
        from mmvae_lib import slurm

        slurm.run(jobs, args.profile, slurm.options_from(args))
    print(f"grid: {len(jobs)} runs of the {args.profile} profile done in {time.perf_counter() - start:.0f} s; "
          f"`make paper PROFILE={args.profile}` now evaluates them")


if __name__ == "__main__":
    main()
