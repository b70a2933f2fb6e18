"""Training speed of the paper's MNIST-SVHN MMVAE: pairs per second, and the overhead of the objective.

For each objective (``moe_elbo`` with K=1, ``moe_dreg_looser`` with K=30), batch 128, latent 20:
- a full training step: zero_grad, the estimator (encode, sample, M² decodings in M calls, log weights,
  bound and surrogate), backward, Adam (amsgrad) step;
- the floor: the same networks' bare forward and backward on the same numbers of inputs and latents
  (encoders on the batch, each decoder on M·K·B latents, a trivial loss), with the same optimiser step.
The ratio step / floor is what the objective's own maths costs on top of the networks.

    python benchmarks/training_speed.py [--repeats N] [--threads T]

Prints one line per objective; the numbers depend on the machine, which is printed first.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.experiments.mnist_svhn.networks import MNIST_SHAPE, SVHN_SHAPE, mnist_svhn_model
from mmvae_lib.paper import device_description

BATCH, LATENT = 128, 20
CASES = (("moe_elbo", 1), ("moe_dreg_looser", 30))


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(objective: str, k: int, repeats: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    model = mnist_svhn_model("mmvae", LATENT).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    g = torch.Generator(device).manual_seed(0)
    xs = [torch.rand(BATCH, *MNIST_SHAPE, device=device), torch.rand(BATCH, *SVHN_SHAPE, device=device)]
    estimator = OBJECTIVES[objective]
    m = model.n_modalities
    z = torch.randn(m * k * BATCH, LATENT, device=device)

    def step():
        optimiser.zero_grad(set_to_none=True)
        loss = -estimator(model, xs, k, g).surrogate.mean()
        loss.backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    def floor():
        optimiser.zero_grad(set_to_none=True)
        total = sum(sum(enc(x)).sum() for enc, x in zip(model.encoders, xs))
        total = total + sum(dec(z).sum() for dec in model.decoders)
        total.backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    t_step, t_floor = _timed(step, repeats), _timed(floor, repeats)
    return {"objective": objective, "k": k, "step_s": t_step, "floor_s": t_floor,
            "pairs_per_s": BATCH / t_step, "ratio": t_step / t_floor}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {device_description()}; batch {BATCH}, latent {LATENT}, median of {args.repeats} steps")
    results = []
    for objective, k in CASES:
        r = measure(objective, k, args.repeats, device)
        results.append(r)
        print(f"{objective:>16s} K={k:<3d} step {r['step_s'] * 1e3:8.1f} ms  {r['pairs_per_s']:8.1f} pairs/s  "
              f"floor {r['floor_s'] * 1e3:8.1f} ms  step/floor {r['ratio']:.3f}", flush=True)
    return results


if __name__ == "__main__":
    main()
