"""Independent jobs (one model, one seed) in parallel worker processes of one thread each.

Why processes and not threads: a number must not depend on how many cores were free when it was computed
(:mod:`mmvae_lib.numerics`). Each job runs with one torch thread, so its numbers are those of any other
one-thread run on this machine; the machine's cores are used by running several jobs at once. On this
project's 2-core machines two one-thread jobs also beat one two-thread job (a two-thread step waits at
every barrier for a core that another process may hold: 2.3 s against 0.37 s per step, measured).

:func:`free_cores` looks at the machine as it is (cores this process may use, minus those other
processes keep busy); :func:`run_jobs` runs the jobs on that many workers, or in this process when one
worker is all there is (the numbers are the same either way), and shows one progress bar for all of them.
A job is a module-level function and its keyword arguments (what a spawned process can import); it is
given ``on_epoch_end(epoch, history)``, which it passes to :func:`mmvae_lib.training.train`.
"""
from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from tqdm import tqdm


@dataclass(frozen=True)
class Job:
    """``fn(**kwargs, on_epoch_end=...)``, expected to last ``epochs`` epochs (for the progress bar).

    As a run of the training grid (:mod:`mmvae_lib.jobs`) it also has a ``key`` (``"cub/mmvae/s0"``), the keys
    of the runs it needs finished first (``after``), an estimate of its optimiser steps (``steps``; or per
    stage, ``stages``: ``((name, steps), ...)``, which sets ``steps`` to their sum) and the name its checkpoint
    starts with under the profile's checkpoints (``checkpoint``; its fingerprint follows)."""

    name: str
    fn: Callable
    kwargs: dict = field(default_factory=dict)
    epochs: int = 1
    key: str = ""
    after: tuple[str, ...] = ()
    steps: int = 0
    checkpoint: str = ""
    stages: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        if self.stages:
            object.__setattr__(self, "steps", sum(steps for _, steps in self.stages))

    @property
    def expected_epochs(self) -> int:
        """The epochs it will report: ``epochs``, or in a dry run (every stage at most
        :data:`mmvae_lib.training.trainer.DRY_RUN_EPOCHS`) at most that many per stage."""
        from mmvae_lib.training.trainer import DRY_RUN_EPOCHS, dry_run

        if dry_run() is None:
            return self.epochs
        return min(self.epochs, DRY_RUN_EPOCHS * max(1, len(self.stages)))

    def __call__(self, on_epoch_end=None):
        return self.fn(**self.kwargs, on_epoch_end=on_epoch_end)


def _busy_cores(interval: float = 0.5) -> float:
    """How many cores the whole machine kept busy over ``interval`` seconds (from /proc/stat), or 0
    where that file does not exist."""
    def sample():
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)   # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except OSError:
        return 0.0
    elapsed = total1 - total0
    return 0.0 if elapsed <= 0 else (elapsed - (idle1 - idle0)) / elapsed * (os.cpu_count() or 1)


def free_cores() -> int:
    """The cores this process may use that other processes are not keeping busy right now (at least 1).
    ``MMVAE_WORKERS`` overrides it."""
    if os.environ.get("MMVAE_WORKERS"):
        return max(1, int(os.environ["MMVAE_WORKERS"]))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(usable, round(usable - _busy_cores())))


def _worker_init() -> None:
    from mmvae_lib import numerics

    numerics.reproducible(threads=1)


def _run_in_worker(fn, kwargs, job_index, events):
    def on_epoch_end(epoch, history):
        events.put((job_index, epoch))
    return fn(**kwargs, on_epoch_end=on_epoch_end)


def run_jobs(jobs: Sequence[Job], *, workers: int | None = None, progress: bool = True,
             description: str = "training") -> list:
    """Run ``jobs`` and return their results in order. ``workers`` defaults to :func:`free_cores`; on a
    GPU the jobs run one after another in this process (they share one device). Each job sees one torch
    thread. A job that fails stops the run with its name."""
    import torch

    from mmvae_lib import numerics

    jobs = list(jobs)
    if workers is None:
        workers = 1 if torch.cuda.is_available() else free_cores()
    workers = max(1, min(workers, len(jobs)))
    total = sum(job.expected_epochs for job in jobs)
    bar = tqdm(total=total, desc=f"{description} ({len(jobs)} jobs, {workers} worker(s))", unit="epoch",
               disable=not progress or not jobs, mininterval=2.0)
    results = [None] * len(jobs)
    done_epochs = [0] * len(jobs)     # epochs reported per job; a job loaded from its checkpoint reports none
    try:
        if workers == 1:
            numerics.reproducible(threads=1)
            for i, job in enumerate(jobs):
                bar.set_postfix_str(job.name)
                def on_epoch_end(epoch, history, i=i):
                    done_epochs[i] += 1
                    bar.update(1)
                try:
                    results[i] = job.fn(**job.kwargs, on_epoch_end=on_epoch_end)
                except Exception as err:
                    raise RuntimeError(f"job {job.name!r} failed: {err}") from err
                _complete(bar, done_epochs, i, job)
            return results
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context,
                                                               initializer=_worker_init) as pool:
            events = manager.Queue()
            pending = {pool.submit(_run_in_worker, job.fn, job.kwargs, i, events): i for i, job in enumerate(jobs)}
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                _drain(events, bar, jobs, done_epochs)
                for future in done:
                    i = pending.pop(future)
                    try:
                        results[i] = future.result()
                    except Exception as err:
                        raise RuntimeError(f"job {jobs[i].name!r} failed: {err}") from err
                    _drain(events, bar, jobs, done_epochs)
                    _complete(bar, done_epochs, i, jobs[i])
        return results
    finally:
        bar.close()


def waves(jobs: Sequence[Job]) -> list[list[Job]]:
    """``jobs`` in waves: each job after every job its ``after`` names, in the earliest wave it can go to
    (the order within a wave kept). A name that is not among ``jobs`` is an error (run those jobs too), as is
    a cycle."""
    by_key = {job.key: job for job in jobs if job.key}
    for job in jobs:
        unknown = [k for k in job.after if k not in by_key]
        if unknown:
            raise ValueError(f"job {job.name!r} runs after {unknown}, which are not among the jobs given: run them too")
    level: dict[str, int] = {}

    def depth(job: Job, seen: tuple[str, ...] = ()) -> int:
        if job.key in seen:
            raise ValueError(f"the jobs' 'after' form a cycle: {' → '.join(seen + (job.key,))}")
        if job.key not in level:
            level[job.key] = 1 + max((depth(by_key[k], seen + (job.key,)) for k in job.after), default=-1)
        return level[job.key]

    out: list[list[Job]] = []
    for job in jobs:
        d = depth(job) if job.key else 0
        out.extend([] for _ in range(d + 1 - len(out)))
        out[d].append(job)
    return [wave for wave in out if wave]


def run_grid(jobs: Sequence[Job], *, workers: int | None = None, progress: bool = True,
             description: str = "training") -> list:
    """:func:`run_jobs` wave after wave (:func:`waves`), so that every job starts after the jobs it needs;
    the results in the order of ``jobs``."""
    jobs = list(jobs)
    results = {}
    for wave in waves(jobs):
        for job, result in zip(wave, run_jobs(wave, workers=workers, progress=progress, description=description),
                               strict=True):
            results[id(job)] = result
    return [results[id(job)] for job in jobs]


def _drain(events, bar, jobs, done_epochs) -> None:
    while True:
        try:
            i, epoch = events.get_nowait()
        except queue_module.Empty:
            return
        done_epochs[i] += 1
        bar.update(1)
        bar.set_postfix_str(f"{jobs[i].name} epoch {epoch}")


def _complete(bar, done_epochs, i, job) -> None:
    """Count a finished job's epochs that it did not report (those loaded from a checkpoint)."""
    bar.update(max(0, job.expected_epochs - done_epochs[i]))
    done_epochs[i] = job.expected_epochs
