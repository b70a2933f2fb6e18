"""Every experiment's training step beside its floor (issue 25, part 1).

    python benchmarks/step_floor.py [--profile cpu] [--reps 5] [--only polymnist_mopoe cub_mmvae] [--out FILE]

A case is one stage of one experiment's recipe (the profile's model, objective, K and batch size) on one batch of
its training data: the MNIST-SVHN MMVAE (K = 1, the cpu recipe, and K = 30 DReG), MVAE; PolyMNIST's MMVAE, MVAE
and MoPoE; CUB's MMVAE and MVAE; JNF's joint model, DCCA and contrastive projectors and unimodal flow stage on
MNIST-SVHN and PolyMNIST, and the toy's joint and unimodal stages.

For each case, medians over ``--reps`` steps (after one warm-up):

- ``step``: what the trainer does: the estimator, the loss's backward pass, Adam's step;
- ``floor``: the same step's parametrised layers (every innermost module that owns weights: linear,
  convolution, normalisation, embedding, the flows' masked linear layers, ...) replayed on the very inputs they
  received in a recorded step, each output summed into the loss, then backward and Adam's step. (A module with
  weights of its own and weighted children, e.g. CUB's sentence decoder, is replayed through its children only.) It is the arithmetic the step cannot avoid; what the step takes
  beyond it is the objective's own work (sampling, log-densities, log-sum-exps), glue (activations, reshapes,
  copies) and overhead (Python, allocation);
- user and system CPU seconds and minor page faults per step (``getrusage``), and GFLOP/s: the step's FLOPs
  (``torch.utils.flop_counter``) over its time.

The machine is printed first. Timings on a loaded machine mean little: run it alone.
"""
from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
from pathlib import Path

import mmvae_lib  # noqa: F401  (pins MKL before anything multiplies matrices)


# --- the cases --------------------------------------------------------------------------------------------

def _first_batch(data, batch_size: int):
    import torch

    return next(iter(data.batches(batch_size, generator=torch.Generator().manual_seed(0))))


def cases(profile: str, only=None):
    """``{name: build}``, ``build()`` giving ``(model, stage, batch)`` as the experiment trains them."""
    from mmvae_lib.experiments.cub import experiment as cub
    from mmvae_lib.experiments.mnist_svhn import experiment as ms
    from mmvae_lib.training.trainer import Stage

    def mnist_svhn(name, k=None):
        def build():
            data = ms.paper_data(profile, "train")
            stage = ms.recipe(name, profile, math.ceil(len(data) / ms.settings(profile).batch_size))[0]
            if k is not None:
                stage = Stage(stage.name, "moe_dreg_looser", epochs=1, k=k, batch_size=stage.batch_size)
            return ms.build_model(name, 0), stage, _first_batch(data, stage.batch_size)
        return build

    def polymnist(name):
        def build():
            from mmvae_lib.experiments.polymnist import experiment as poly

            data = poly.paper_data(profile, "train")
            stage = poly.recipe(name, profile)[0]
            return poly.build_model(name, 0, poly.settings(profile).latent_dim), stage, _first_batch(data, stage.batch_size)
        return build

    def cub_case(name):
        def build():
            data = cub.paper_data(profile)
            pairs = cub.training_pairs(profile, data)
            stage = cub.recipe(name, profile, math.ceil(len(pairs) / cub.settings(profile).batch_size))[0]
            model = cub.build_model(name, 0, len(data.vocabulary), cub.settings(profile).latent_dim)
            return model, stage, _first_batch(pairs, stage.batch_size)
        return build

    def jnf(module_name, variant, which):
        def build():
            import importlib

            from mmvae_lib.training import jnf as recipes

            module = importlib.import_module(module_name)
            s = module.settings(profile)
            model = module.jnf_model(variant, s, 0)
            stages = (recipes.joint_stages(s, recipes.beta_of(variant, s)) if which == "joint"
                      else recipes.variant_stages(variant, model, s))
            stage = next(st for st in stages if st.name == which)
            return model, stage, _first_batch(module.training_data(profile), stage.batch_size)
        return build

    out = {"mnist_svhn_mmvae_k1": mnist_svhn("mmvae"), "mnist_svhn_mmvae_dreg30": mnist_svhn("mmvae", 30),
           "mnist_svhn_mvae": mnist_svhn("mvae"),
           **{f"polymnist_{m}": polymnist(m) for m in ("mmvae", "mvae", "mopoe")},
           **{f"cub_{m}": cub_case(m) for m in ("mmvae", "mvae")}}
    for key, module in (("jnf_mnist_svhn", "mmvae_lib.experiments.mnist_svhn.jnf"),
                        ("jnf_polymnist", "mmvae_lib.experiments.polymnist.jnf")):
        out |= {f"{key}_joint": jnf(module, "jnf", "joint"), f"{key}_dcca": jnf(module, "jnf_dcca", "dcca"),
                f"{key}_contrastive": jnf(module, "jnf_contrastive", "contrastive"),
                f"{key}_unimodal": jnf(module, "jnf", "unimodal")}
    toy = "mmvae_lib.experiments.toy_shapes.experiment"
    out |= {"jnf_toy_joint": jnf(toy, "jnf", "joint"), "jnf_toy_unimodal": jnf(toy, "jnf", "unimodal")}
    unknown = sorted(set(only or ()) - set(out))
    if unknown:
        raise SystemExit(f"no case {unknown}; the cases are {', '.join(out)}")
    return {name: build for name, build in out.items() if not only or name in only}


# --- a step and its floor ---------------------------------------------------------------------------------

class Step:
    """One training step of ``stage`` on ``model`` and ``xs``, as the trainer takes it (the stage's trained
    parameters only, a fresh Adam with amsgrad), and its floor."""

    def __init__(self, model, stage, xs):
        import torch

        from mmvae_lib.training.trainer import _updated_parameters

        self.model, self.stage, self.xs = model.train(), stage, xs
        trained = {id(p) for p in _updated_parameters(model, stage)}
        for p in model.parameters():
            p.requires_grad_(id(p) in trained)
        self.optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=stage.lr,
                                          amsgrad=True)
        self.generator = torch.Generator().manual_seed(1)
        self.estimator, self.steps = stage.estimator(), 0

    def step(self) -> None:
        options = self.stage.options(self.steps) if self.stage.options is not None else {}
        estimate = self.estimator(self.model, self.xs, self.stage.k, self.generator, **options)
        self.optimiser.zero_grad(set_to_none=True)
        (-estimate.surrogate.mean()).backward()
        self.optimiser.step()
        self.steps += 1

    def layer_calls(self) -> list:
        """Every call of a parametrised layer in one step: ``(layer, inputs)``, the inputs detached (still
        asking for gradients where they did)."""
        import torch

        calls, hooks = [], []

        def record(layer, args, _out):
            calls.append((layer, [a.detach().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor) else a
                                  for a in args]))

        for layer in self.model.modules():   # the innermost modules with weights (a module with weights of its own
            owns = any(True for _ in layer.parameters(recurse=False))   # and weighted children would replay them twice)
            if owns and not any(any(True for _ in child.parameters()) for child in layer.children()):
                hooks.append(layer.register_forward_hook(record))
        try:
            self.step()
        finally:
            for hook in hooks:
                hook.remove()
        return calls

    def floor(self, calls) -> None:
        """The recorded layer calls again, their outputs summed into one loss, backward, Adam's step."""
        import torch

        self.optimiser.zero_grad(set_to_none=True)
        total = 0.0
        for layer, args in calls:
            out = layer(*args)
            outs = out if isinstance(out, (tuple, list)) else [out]
            total = total + sum(o.sum() for o in outs if isinstance(o, torch.Tensor) and o.requires_grad)
        if isinstance(total, torch.Tensor):
            total.backward()
        self.optimiser.step()


def _timed(fn, reps: int) -> dict:
    """Medians over ``reps`` calls after one warm-up: seconds, user and system CPU seconds, minor page faults."""
    fn()
    rows = []
    for _ in range(reps):
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn()
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        rows.append((seconds, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                     after.ru_minflt - before.ru_minflt))
    return {key: statistics.median(r[i] for r in rows) for i, key in enumerate(("s", "user_s", "sys_s", "minflt"))}


def measure(name: str, build, reps: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    step = Step(*build())
    calls = step.layer_calls()
    with FlopCounterMode(display=False) as counter:
        step.step()
    flops = counter.get_total_flops()
    timed, floor = _timed(step.step, reps), _timed(lambda: step.floor(calls), reps)
    return {"case": name, "batch": len(step.xs[0]) if step.xs[0] is not None else None, "k": step.stage.k,
            "layer_calls": len(calls), "step_ms": 1e3 * timed["s"], "floor_ms": 1e3 * floor["s"],
            "step_over_floor": timed["s"] / floor["s"], "gflop_per_step": flops / 1e9,
            "gflop_per_s": flops / 1e9 / timed["s"], "user_s": timed["user_s"], "sys_s": timed["sys_s"],
            "minor_faults": timed["minflt"], "floor_minor_faults": floor["minflt"]}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import pandas as pd

    from mmvae_lib import numerics
    from mmvae_lib.paper import device_description

    print(numerics.reproducible(threads=args.threads))
    print(f"machine: {device_description()}; profile {args.profile}; medians of {args.reps} steps", flush=True)
    rows = []
    for name, build in cases(args.profile, args.only).items():
        rows.append(measure(name, build, args.reps))
        print(f"{name}: step {rows[-1]['step_ms']:.1f} ms, floor {rows[-1]['floor_ms']:.1f} ms "
              f"({rows[-1]['step_over_floor']:.2f}x), {rows[-1]['gflop_per_s']:.1f} GFLOP/s", flush=True)
    table = pd.DataFrame(rows)
    table["machine"] = device_description()
    print(table.drop(columns="machine").to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    return rows


if __name__ == "__main__":
    main()
