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
import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mmvae_lib import arguments
from mmvae_lib.paths import output_dir, save_text
from mmvae_lib.profiles import get_profile
from mmvae_lib.training.trainer import description_path, dry_run
from mmvae_lib.workers import Job, run_grid, waves

# key → (module with runs(profile), notebooks that use its checkpoints), in the grid's order
EXPERIMENTS = {
    "mnist_svhn": ("mmvae_lib.experiments.mnist_svhn.experiment", "03-06"),
    "cub": ("mmvae_lib.experiments.cub.experiment", "08"),
    "polymnist": ("mmvae_lib.experiments.polymnist.experiment", "10"),
    "jnf_toy": ("mmvae_lib.experiments.toy_shapes.experiment", "11"),
    "jnf_mnist_svhn": ("mmvae_lib.experiments.mnist_svhn.jnf", "12"),
    "jnf_polymnist": ("mmvae_lib.experiments.polymnist.jnf", "13"),
    "mhd": ("mmvae_lib.experiments.mhd.experiment", "15"),
    "translated_polymnist": ("mmvae_lib.experiments.polymnist.translated_models", "16"),
    "jnf_translated_polymnist": ("mmvae_lib.experiments.polymnist.translated_jnf", "16"),
    "jnf_mhd": ("mmvae_lib.experiments.mhd.jnf", "15"),
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


def _description(checkpoint: Path) -> dict:
    """What made ``checkpoint`` (the JSON beside it), ``{}`` where it cannot be read."""
    try:
        return json.loads(description_path(checkpoint).read_text())
    except (OSError, ValueError):
        return {}


def _newest(job: Job, folder: Path, *, dry: bool) -> Path | None:
    """The newest checkpoint of ``job``'s name in ``folder`` made by a dry run (``dry``) or by a real one."""
    def made_by_dry_run(path: Path) -> bool:
        return "dry_run" in _description(path)

    candidates = sorted((folder / job.checkpoint).parent.glob(Path(job.checkpoint).name + "_*.pt"),
                        key=lambda p: p.stat().st_mtime)
    candidates = [p for p in candidates if made_by_dry_run(p) == dry]
    return candidates[-1] if candidates else None


def _load(path: Path) -> dict | None:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:           # unreadable: the run itself will say so (CheckpointError) and what to do
        return None


def status(job: Job, profile: str) -> Status | None:
    """The :class:`Status` of ``job`` under the profile's checkpoints, ``None`` for a run without one (judges,
    kept in the cache). A dry run's checkpoints count only in a dry run, and a real run's only outside one."""
    if not job.checkpoint:
        return None
    newest = _newest(job, output_dir(profile, "checkpoints", create=False), dry=dry_run() is not None)
    state = None if newest is None else _load(newest)
    if state is None:
        return Status(None, job.epochs)
    recipe = _description(newest).get("recipe")       # a dry run's epochs are capped there
    total = sum(stage["epochs"] for stage in recipe) if isinstance(recipe, list) else job.epochs
    return Status(len(state.get("history", [])), total, state.get("partial") is not None)


# --- the grid's cost ---------------------------------------------------------------------------------------

COST_FILE = "cost.csv"
GPU_TFLOPS = 10.0       # assumed sustained fp32 rate of one GPU: half an A100's 19.5 TFLOP/s peak
GPU_FLOOR_MS = 3.0      # assumed least time of one step: kernel launches and Adam for networks this small


def cost(jobs: list[Job], profile: str, checkpoints: Path | None = None, *, gpu_tflops: float = GPU_TFLOPS,
         gpu_floor_ms: float = GPU_FLOOR_MS):
    """The grid's cost, one row per stage of every run, from a dry run's checkpoints (``MMVAE_DRY_RUN``, in
    ``checkpoints``, default the profile's): the stage's steps in the real run (``jobs``' estimate), the
    seconds per step the dry run measured (on the run itself, or on the same run of another seed: ``timed_as``) (its last epoch of the stage, at the stage's full batch size, on
    one CPU thread of this machine), the FLOPs of one step (counted by ``torch.utils.flop_counter``), and
    from them hours on this CPU and an estimate of GPU-hours: each step ``max(FLOPs / gpu_tflops,
    gpu_floor_ms)``, the assumption stated with the numbers. A run without a dry-run checkpoint (the judges,
    which are not timed; a run the dry run did not reach) has no row. Written to
    ``outputs/<profile>/grid/cost.csv``."""
    import pandas as pd

    from mmvae_lib.paper import _git_commit, cpu_name

    folder = Path(checkpoints) if checkpoints is not None else output_dir(profile, "checkpoints", create=False)
    rows, dry_steps, timed = [], set(), {}
    for job in jobs:                # a dry run trains the first seed only: the other seeds' steps cost the same
        newest = _newest(job, folder, dry=True) if job.checkpoint else None
        if newest is not None:
            timed.setdefault(_seedless(job.key), (job.key, newest))
    for job in jobs:
        timed_as, newest = timed.get(_seedless(job.key), (None, None)) if job.checkpoint else (None, None)
        state = None if newest is None else _load(newest)
        if state is None:
            continue
        dry_steps.add(_description(newest)["dry_run"]["steps_per_epoch"])
        history = state.get("history", [])
        for stage, steps in job.stages or (("", job.steps),):
            records = [h for h in history if h["stage"] == stage or not stage]
            flops = next((h["flops_per_step"] for h in records if "flops_per_step" in h), None)
            if not records or flops is None:
                continue
            seconds = records[-1]["seconds"] / records[-1]["steps"]
            gpu_seconds = max(flops / (gpu_tflops * 1e12), gpu_floor_ms / 1e3)
            memory = max(h.get("memory_bytes", 0) for h in records)
            rows.append(dict(run=job.key, timed_as=timed_as, stage=stage, steps=steps, batch_size=records[-1]["batch_size"],
                             cpu_seconds_per_step=round(seconds, 4), gflop_per_step=round(flops / 1e9, 3),
                             memory_gb=round(memory / 1e9, 3), cpu_hours=round(steps * seconds / 3600, 2),
                             gpu_hours=round(steps * gpu_seconds / 3600, 3)))
    table = pd.DataFrame(rows, columns=["run", "timed_as", "stage", "steps", "batch_size", "cpu_seconds_per_step",
                                        "gflop_per_step", "memory_gb", "cpu_hours", "gpu_hours"])
    commit = _git_commit()
    commit = commit[:7] + ("+dirty" if commit.endswith("+dirty") else "")
    table.attrs["assumption"] = (f"CPU: one thread of {cpu_name()}, timed by a dry run of "
                                 f"{'/'.join(map(str, sorted(dry_steps)))} step(s) per epoch (commit {commit}); "
                                 f"GPU: {gpu_tflops:g} TFLOP/s sustained and at least {gpu_floor_ms:g} ms per step "
                                 f"(assumed, not measured)")
    return table


def _seedless(key: str) -> str:
    """A run's key without its seed (``cub/mmvae/s3`` → ``cub/mmvae``)."""
    return re.sub(r"/s\d+$", "", key)


def write_cost(table, profile: str) -> Path:
    """``table`` (:func:`cost`) to ``outputs/<profile>/grid/cost.csv``, its assumption in the first line."""
    path = output_dir(profile) / "grid" / COST_FILE
    save_text(f"# {table.attrs['assumption']}\n" + table.to_csv(index=False), path)
    return path


def read_cost(profile: str, root: Path | None = None):
    """The profile's cost table (:func:`write_cost`; under ``root``/<profile> if given) and its assumption,
    or ``(None, None)``."""
    import pandas as pd

    path = (Path(root) / profile if root else output_dir(profile, create=False)) / "grid" / COST_FILE
    if not path.exists():
        return None, None
    assumption = path.read_text().splitlines()[0].lstrip("# ")
    return pd.read_csv(path, comment="#"), assumption


def describe(jobs: list[Job], profile: str) -> str:
    """The grid as a table: wave, key, epochs, estimated steps, estimated GPU-hours (where the profile has a
    cost table, :func:`cost`), what is trained already; the totals."""
    wave_of = {id(job): i for i, wave in enumerate(waves(jobs), 1) for job in wave}
    table, assumption = read_cost(profile)
    hours = {} if table is None else table.groupby("run")["gpu_hours"].sum().to_dict()
    rows = [("wave", "run", "epochs", "steps", "GPU-h", "status")]
    for job in jobs:
        state = status(job, profile)
        rows.append((str(wave_of[id(job)]), job.key, str(job.epochs), f"{job.steps:,}" if job.steps else "-",
                     f"{hours[job.key]:.2f}" if job.key in hours else "-",
                     "(cached judge)" if state is None else str(state)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i in (1, 5) else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    total = sum(job.steps for job in jobs)
    trained = sum(1 for job in jobs if (s := status(job, profile)) is not None and s.epochs is not None
                  and s.epochs >= s.total)
    lines.append(f"{len(jobs)} runs in {len(waves(jobs))} waves, {total:,} optimiser steps in all (estimated from "
                 f"the recipes and the training set's size); {trained} trained already")
    if table is None:
        lines.append(f"GPU-hours: no cost table yet (python -m mmvae_lib.jobs cost --profile {profile}, after a dry run)")
    else:
        timed = [job for job in jobs if job.key in hours]
        lines.append(f"GPU-hours: {sum(hours.values()):,.1f} for the {len(timed)} runs timed by a dry run "
                     f"({sum(j.steps for j in timed):,} of the steps); {assumption}")
    return "\n".join(lines)


# --- the local engine ---------------------------------------------------------------------------------

MOST_RUNS_PER_GPU = 8
GPU_MEMORY_SHARE = 0.8       # of a GPU's memory, what the runs packed on it may take together


def default_runs_per_gpu(jobs: list[Job], profile: str, gpu_bytes: int, cpus_per_gpu: int) -> tuple[int, str]:
    """How many of ``jobs`` to run at once on one GPU of ``gpu_bytes``, and why: as many of the largest of them
    as fit in :data:`GPU_MEMORY_SHARE` of it by the memory the dry run estimated for their steps (the cost
    table, :func:`cost`), at most one per CPU core and :data:`MOST_RUNS_PER_GPU`; 1 without a cost table."""
    table, _ = read_cost(profile)
    keys = {job.key for job in jobs}
    rows = None if table is None or "memory_gb" not in table else table[table["run"].isin(keys)]
    if rows is None or rows.empty:
        return 1, f"1 run per GPU: no cost table with these runs' memory (python -m mmvae_lib.jobs cost --profile {profile})"
    largest = rows["memory_gb"].max() * 1e9
    fit = int(GPU_MEMORY_SHARE * gpu_bytes // max(largest, 1.0))
    chosen = max(1, min(fit, cpus_per_gpu, MOST_RUNS_PER_GPU))
    return chosen, (f"{chosen} run(s) per GPU: the largest of these runs needs about {largest / 1e9:.2f} GB a step "
                    f"(dry-run estimate), {fit} fit in {GPU_MEMORY_SHARE:.0%} of {gpu_bytes / 1e9:.0f} GB; "
                    f"{cpus_per_gpu} CPU core(s) per GPU; at most {MOST_RUNS_PER_GPU}")


def run_local(jobs: list[Job], *, workers: int | None = None, runs_per_gpu: int | None = None,
              progress: bool = True, profile: str | None = None) -> list:
    """Train ``jobs`` here, wave after wave: on a CPU in one-thread worker processes
    (:func:`mmvae_lib.workers.run_jobs`); on GPUs ``runs_per_gpu`` runs at once on each visible GPU (default:
    :func:`default_runs_per_gpu` for ``profile``)."""
    import os

    import torch

    if torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        per_gpu = runs_per_gpu
        if per_gpu is None:
            per_gpu, why = (1, "1 run per GPU (no profile given)") if profile is None else default_runs_per_gpu(
                jobs, profile, torch.cuda.get_device_properties(0).total_memory, max(1, (os.cpu_count() or 1) // gpus))
            print(f"grid: {why}")
        jobs = [replace(job, kwargs={**job.kwargs, "device": f"cuda:{i % gpus}"}) if "device" in job.kwargs else job
                for i, job in enumerate(jobs)]
        workers = workers or gpus * per_gpu
    return run_grid(jobs, workers=workers, progress=progress, description="grid")


def main(argv: list[str] | None = None) -> None:
    parser = arguments.parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("list", "print the grid: its runs, waves, estimated steps and GPU-hours, what is trained"),
                       ("run", "train the grid (a trained run is loaded, a partial one resumed)"),
                       ("cost", "the grid's cost from a dry run's checkpoints (MMVAE_DRY_RUN=N ... jobs run): "
                                "seconds and FLOPs per step, hours here, estimated GPU-hours")):
        command = commands.add_parser(name, help=text, description=text)
        arguments.add_profile(command)
        command.add_argument("--only", nargs="*", choices=list(EXPERIMENTS), help="these experiments only")
        if name == "cost":
            command.add_argument("--checkpoints", type=Path, default=None,
                                 help="the dry run's checkpoint folder (default: the profile's)")
            command.add_argument("--gpu-tflops", type=float, default=GPU_TFLOPS,
                                 help=f"assumed sustained TFLOP/s of one GPU (default {GPU_TFLOPS:g})")
            command.add_argument("--gpu-floor-ms", type=float, default=GPU_FLOOR_MS,
                                 help=f"assumed least milliseconds per step on a GPU (default {GPU_FLOOR_MS:g})")
        if name == "run":
            command.add_argument("--engine", choices=("local", "slurm"), default="local")
            command.add_argument("--workers", type=int, default=None,
                                 help="local: worker processes (default: the free cores, or GPUs × runs per GPU)")
            command.add_argument("--runs-per-gpu", type=int, default=None,
                                 help="local: runs at once on each visible GPU (default: as many as fit by the "
                                      "cost table's memory estimate, else 1); slurm: runs packed into one job")
            from mmvae_lib import slurm

            slurm.add_options(command)
    args = parser.parse_args(argv)
    jobs = grid(args.profile, args.only)
    if args.command == "list":
        print(describe(jobs, args.profile))
        return
    if args.command == "cost":
        table = cost(jobs, args.profile, args.checkpoints, gpu_tflops=args.gpu_tflops, gpu_floor_ms=args.gpu_floor_ms)
        if table.empty:
            parser.exit(1, "no dry-run checkpoints found: run the grid as a dry run first, e.g. "
                           f"MMVAE_DRY_RUN=5 python -m mmvae_lib.jobs run --profile {args.profile}\n")
        print(table.to_string(index=False))
        print(f"{table['cpu_hours'].sum():,.1f} hours on this CPU, {table['gpu_hours'].sum():,.1f} GPU-hours; "
              f"{table.attrs['assumption']}; written to {write_cost(table, args.profile)}")
        return
    start = time.perf_counter()
    if args.engine == "local":
        from mmvae_lib import numerics

        print(numerics.reproducible())
        run_local(jobs, workers=args.workers, runs_per_gpu=args.runs_per_gpu, profile=args.profile)
    else:
        from mmvae_lib import slurm

        slurm.run(jobs, args.profile, slurm.options_from(args))
    print(f"grid: {len(jobs)} runs of the {args.profile} profile done in {time.perf_counter() - start:.0f} s; "
          f"`make paper PROFILE={args.profile}` now evaluates them")


if __name__ == "__main__":
    main()
