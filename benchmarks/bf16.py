"""bf16 autocast against fp32 on the same weights and inputs (issue 25, part 2): the bound's difference, beside
the bound's own Monte-Carlo spread, and the step time of each.

    python benchmarks/bf16.py [--profile cpu] [--reps 5] [--out outputs/cpu/tables/bf16.csv]

Cases: the MNIST-SVHN MMVAE at K = 1 (the cpu recipe) and K = 30 (the paper's DReG), the PolyMNIST MoPoE and the
CUB MMVAE, each on one training batch of its profile's size, at its initial weights and (MNIST-SVHN) at the
trained cpu checkpoint where one is on disk. The difference is taken at the same sampling seed, so it is
bf16's rounding alone; the spread is the bound's standard deviation over sampling seeds in fp32, the noise
any training step sees anyway. Step times are medians of ``--reps`` steps (forward, backward, Adam). On a CPU
without bfloat16 arithmetic (AVX-512 BF16 or AMX) bf16 is emulated and its time says nothing of a GPU's or a
newer CPU's: the output says which it was.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mmvae_lib  # noqa: F401  (pins MKL before anything multiplies matrices)


def _cases(profile: str):
    """(label, model, stage, batch) for each case, built as the experiments build them."""
    import math

    import torch

    from mmvae_lib.experiments.cub import experiment as cub
    from mmvae_lib.experiments.mnist_svhn import experiment as ms
    from mmvae_lib.experiments.polymnist import experiment as poly
    from mmvae_lib.training.trainer import Stage, load_checkpoint

    train = ms.paper_data(profile, "train")
    s = ms.settings(profile)
    batch = train.batches(s.batch_size, generator=torch.Generator().manual_seed(0))
    xs = next(iter(batch))
    stage = ms.recipe("mmvae", profile, math.ceil(len(train) / s.batch_size))[0]
    yield "MNIST-SVHN MMVAE K=1 (initial weights)", ms.build_model("mmvae", 0), stage, xs
    k30 = Stage("mmvae", "moe_dreg_looser", epochs=1, k=30, batch_size=s.batch_size)
    yield "MNIST-SVHN MMVAE K=30 DReG (initial weights)", ms.build_model("mmvae", 0), k30, xs
    trained = sorted(Path(ms.output_dir(profile, "checkpoints", create=False)).glob("mmvae_s0_*.pt"))
    if trained:
        model = ms.build_model("mmvae", 0)
        model.load_state_dict(load_checkpoint(trained[-1])["model"])
        yield f"MNIST-SVHN MMVAE K=1 (trained, {trained[-1].name})", model, stage, xs
        model = ms.build_model("mmvae", 0)
        model.load_state_dict(load_checkpoint(trained[-1])["model"])
        yield f"MNIST-SVHN MMVAE K=30 DReG (trained, {trained[-1].name})", model, k30, xs

    p = poly.settings(profile)
    data = poly.paper_data(profile, "train")
    stage = poly.recipe("mopoe", profile)[0]
    xs = next(iter(data.batches(stage.batch_size, generator=torch.Generator().manual_seed(0))))
    yield "PolyMNIST MoPoE (initial weights)", poly.build_model("mopoe", 0, p.latent_dim), stage, xs

    c = cub.settings(profile)
    data = cub.paper_data(profile)
    pairs = cub.training_pairs(profile, data)
    stage = cub.recipe("mmvae", profile)[0]
    xs = next(iter(pairs.batches(stage.batch_size, generator=torch.Generator().manual_seed(0))))
    yield "CUB MMVAE (initial weights)", cub.build_model("mmvae", 0, len(data.vocabulary), c.latent_dim), stage, xs


def _bound(model, stage, xs, precision_name: str, seed: int):
    import torch

    from mmvae_lib import precision

    with torch.no_grad(), precision.autocast(precision_name, "cpu"):
        return stage.estimator()(model, xs, stage.k, torch.Generator().manual_seed(seed)).bound.float()


def _step_seconds(model, stage, xs, precision_name: str, reps: int) -> float:
    import copy

    import torch

    from mmvae_lib import precision

    model = copy.deepcopy(model)
    optimiser = torch.optim.Adam(model.parameters(), lr=stage.lr, amsgrad=True)
    times = []
    for rep in range(reps + 1):
        start = time.perf_counter()
        with precision.autocast(precision_name, "cpu"):
            estimate = stage.estimator()(model, xs, stage.k, torch.Generator().manual_seed(rep))
        loss = -precision.widened(estimate.surrogate).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])                  # the first step warms up


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=8, help="sampling seeds for the bound's fp32 spread")
    parser.add_argument("--no-timing", action="store_true", help="the bounds only (e.g. while other work runs)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import pandas as pd
    import torch

    from mmvae_lib import numerics, precision
    from mmvae_lib.paper import cpu_name

    print(numerics.reproducible())
    hardware = "native" if precision.cpu_has_bf16() else "emulated (no AVX-512 BF16 / AMX)"
    rows = []
    for label, model, stage, xs in _cases(args.profile):
        model.train()
        fp32 = _bound(model, stage, xs, "fp32", 0)
        bf16 = _bound(model, stage, xs, "bf16", 0)
        spread = torch.stack([_bound(model, stage, xs, "fp32", seed).mean() for seed in range(args.seeds)]).std()
        row = {"case": label, "batch": len(fp32), "k": stage.k, "bound_fp32": fp32.mean().item(),
               "bound_bf16": bf16.mean().item(), "mean_difference": (bf16 - fp32).mean().item(),
               "max_abs_difference_per_point": (bf16 - fp32).abs().max().item(),
               "fp32_spread_over_seeds": spread.item()}
        if not args.no_timing:
            row.update(step_fp32_s=_step_seconds(model, stage, xs, "fp32", args.reps),
                       step_bf16_s=_step_seconds(model, stage, xs, "bf16", args.reps))
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    table = pd.DataFrame(rows)
    table["cpu"], table["bf16_arithmetic"] = cpu_name(), hardware
    print(table.drop(columns=["cpu"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
