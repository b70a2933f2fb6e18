"""Speed of the paper's MNIST-SVHN MMVAE, side by side: this project's fast paths, the same maths on the plain
eager path, the floor its networks set, and MultiVae's MMVAE when it is installed (``pip install -e ".[bench]"``).

Tasks (batch 128, latent 20, the paper's networks, Adam with amsgrad, the same inputs and initial weights):

- ``dreg30``: one training step of DReG on eq. (3) (``moe_dreg_looser``), K = 30: estimator, backward, step;
- ``elbo1``: one training step of the stratified MoE-ELBO, K = 1 (what the ``cpu`` profile trains);
- ``llik``: the joint log-likelihood log p(x_MNIST, x_SVHN), K = 1000 samples per expert (stratified, the tight
  MoE-IWAE) for ``--llik-points`` pairs, without gradients; the value is printed, so equal quantities show;
- ``floor30``: the networks' bare work of a K = 30 step: encoders on the batch, each decoder on M·K·B
  latents, a sum as the loss, backward, the optimiser step. The same modules as ``dreg30``'s.

Each implementation runs in its own process (the fast paths are chosen at import: ``MMVAE_FAST=0`` is the
plain path), all of them interleaved round by round, rotating who goes first; each cell is the median over
rounds, with user and system CPU time and minor page faults per call (from getrusage), so the allocator's
share shows.

    python benchmarks/training_speed.py [--rounds 5] [--threads 2] [--tasks dreg30,elbo1,llik,floor30]

The numbers depend on the machine, which is printed first; timings on a loaded machine mean little.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time

BATCH, LATENT = 128, 20
TASKS = ("dreg30", "elbo1", "llik", "floor30")


# --- one implementation per process ---------------------------------------------------------------------

def _engine(name: str, env: dict, threads: int, llik_points: int, llik_k: int, connection) -> None:
    """Build implementation ``name`` in this (spawned) process and answer (task) requests with timings."""
    os.environ.update(env)
    import torch

    import mmvae_lib  # noqa: F401  pins MKL, tunes the allocator (unless MMVAE_FAST=0)
    from mmvae_lib.experiments.mnist_svhn.networks import MNIST_SHAPE, SVHN_SHAPE, mnist_svhn_model

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(BATCH, *MNIST_SHAPE, generator=g), torch.rand(BATCH, *SVHN_SHAPE, generator=g)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        ours = mnist_svhn_model("mmvae", LATENT)
    if name == "MultiVae":
        import multivae_mmvae
        impl = multivae_mmvae.Implementation(ours, xs, LATENT)
    else:
        impl = _Ours(ours, xs)
    start = [p.detach().clone() for p in impl.parameters()]
    optimiser = torch.optim.Adam(impl.parameters(), lr=1e-3, amsgrad=True)
    llik_xs = [torch.rand(llik_points, *MNIST_SHAPE, generator=g), torch.rand(llik_points, *SVHN_SHAPE, generator=g)]
    connection.send(("ready", impl.describe()))
    while True:
        task = connection.recv()
        if task is None:
            return
        with torch.no_grad():                     # every call starts from the same weights and optimiser
            for p, s in zip(impl.parameters(), start):
                p.copy_(s)
        optimiser = torch.optim.Adam(impl.parameters(), lr=1e-3, amsgrad=True)
        torch.manual_seed(1)
        before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        value = impl.run(task, optimiser, llik_xs, llik_k)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        connection.send({"wall_s": wall, "user_s": after.ru_utime - before.ru_utime,
                         "sys_s": after.ru_stime - before.ru_stime, "minflt": after.ru_minflt - before.ru_minflt,
                         "value": value})


class _Ours:
    """This project's MMVAE: the estimators of ``mmvae_lib.objectives`` and ``bounds.log_likelihood``."""

    def __init__(self, model, xs):
        import torch

        self.model, self.xs = model, xs
        self.generator = torch.Generator().manual_seed(2)

    def parameters(self):
        return list(self.model.parameters())

    def describe(self) -> str:
        from mmvae_lib import speed

        return f"fast paths {'on' if speed.enabled() else 'off'} (decode chunk {speed.decode_chunk()})"

    def run(self, task, optimiser, llik_xs, llik_k):
        from mmvae_lib.objectives import OBJECTIVES, bounds

        if task in ("dreg30", "elbo1"):
            objective, k = ("moe_dreg_looser", 30) if task == "dreg30" else ("moe_elbo", 1)
            self.model.train()
            optimiser.zero_grad(set_to_none=True)
            estimate = OBJECTIVES[objective](self.model, self.xs, k, self.generator)
            (-estimate.surrogate.mean()).backward()
            optimiser.step()
            return estimate.bound.mean().item()
        if task == "llik":
            self.model.eval()
            return bounds.log_likelihood(self.model, llik_xs, llik_k, self.generator, targets=[0, 1],
                                         proposal=[0, 1]).mean().item()
        if task == "floor30":
            from mmvae_lib import speed

            return floor(self.model.encoders, self.model.decoders, self.xs, optimiser, lambda out: out,
                         chunk=speed.decode_chunk())
        raise ValueError(f"unknown task {task!r}")


def floor(encoders, decoders, xs, optimiser, tensor_of, chunk: int | None = None) -> float:
    """Encoders on the batch, each decoder on M·K·B = 2·30·128 latents (``chunk`` at a time, as the
    implementation decodes), a sum as the loss, backward, step."""
    import torch

    z = torch.randn(2 * 30 * BATCH, LATENT, generator=torch.Generator().manual_seed(3))
    optimiser.zero_grad(set_to_none=True)
    total = sum(sum(t.sum() for t in tensor_of(encoder(x))) for encoder, x in zip(encoders, xs))
    for decoder in decoders:
        for part in z.split(chunk or len(z)):
            total = total + tensor_of(decoder(part)).sum()
    total.backward()
    optimiser.step()
    return float("nan")


# --- the interleaved run ----------------------------------------------------------------------------------

def _engines(threads: int) -> dict:
    engines = {"this project": {"MMVAE_FAST": "1"}, "this project, plain path": {"MMVAE_FAST": "0"}}
    try:
        import multivae  # noqa: F401
        engines["MultiVae"] = {"MMVAE_FAST": "0"}
    except ImportError:
        pass
    return engines


def run(rounds: int, threads: int, tasks, llik_points: int, llik_k: int) -> dict:
    import torch

    from mmvae_lib.paper import device_description

    context = multiprocessing.get_context("spawn")
    procs, connections = {}, {}
    os.environ["PYTHONPATH"] = os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])
    for name, env in _engines(threads).items():
        parent, child = context.Pipe()
        proc = context.Process(target=_engine, args=(name, env, threads, llik_points, llik_k, child), daemon=True)
        proc.start()
        procs[name], connections[name] = proc, parent
    described = {name: connections[name].recv()[1] for name in procs}
    print(f"machine: {platform.platform()}, {device_description()}; torch {torch.__version__}; {threads} thread(s) "
          f"per implementation; {rounds} rounds", flush=True)
    for name, text in described.items():
        print(f"  {name}: {text}", flush=True)
    results = {task: {name: [] for name in procs} for task in tasks}
    names = list(procs)
    for r in range(rounds + 1):                       # round 0 warms up and is not kept
        for task in tasks:
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                connections[name].send(task)
                measured = connections[name].recv()
                if r > 0:
                    results[task][name].append(measured)
        print(f"round {r}/{rounds} done", flush=True)
    for name in names:
        connections[name].send(None)
        procs[name].join()
    return {"threads": threads, "rounds": rounds, "machine": device_description(), "engines": described,
            "results": results}


def table(report: dict) -> str:
    lines = ["| task | implementation | median time | user / system CPU | minor page faults | value per point |",
             "|---|---|---|---|---|---|"]
    for task, per in report["results"].items():
        baseline = statistics.median(m["wall_s"] for m in per["this project"])
        for name, measured in per.items():
            wall = statistics.median(m["wall_s"] for m in measured)
            user = statistics.median(m["user_s"] for m in measured)
            system = statistics.median(m["sys_s"] for m in measured)
            faults = statistics.median(m["minflt"] for m in measured)
            value = statistics.median(m["value"] for m in measured)
            ratio = "" if name == "this project" else f" ({wall / baseline:.2f}×)"
            shown = "" if value != value else f"{value:.2f}"
            lines.append(f"| {task} | {name} | {wall * 1e3:,.0f} ms{ratio} | {user:.2f} / {system:.2f} s | "
                         f"{faults:,.0f} | {shown} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--llik-points", type=int, default=128)
    parser.add_argument("--llik-k", type=int, default=1000)
    parser.add_argument("--json", default=None, help="also write the measurements here")
    args = parser.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown tasks {unknown}; choose from {TASKS}")
    report = run(args.rounds, args.threads, tasks, args.llik_points, args.llik_k)
    print(table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main()
