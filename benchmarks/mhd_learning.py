"""How many steps the MHD models need before they learn the digits: a learning curve on the profile's MHD (the
offline stand-in in `cpu`), for choosing the `cpu` budget (issue 26). Not part of `make paper`: it runs for as long
as it is told.

One model (MMVAE, MVAE or MoPoE) trains on the profile's training items with the profile's recipe (objective,
batch, learning rate, latent size, image widths), one thread, for ``--minutes``; every ``--every`` steps it prints
the coherence given one and given two modalities (notebook 15's definition) and the judges' reading of each
modality's own reconstruction, on ``--test`` seeded test items; ``--json`` writes the readings.

    python benchmarks/mhd_learning.py --model mopoe --minutes 20 --every 500
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from mmvae_lib import arguments
from mmvae_lib.experiments.mhd import experiment, results
from mmvae_lib.metrics.coherence import coherence_by_size, subset_coherence
from mmvae_lib.objectives import OBJECTIVES


@torch.no_grad()
def readings(model, xs, labels, judges) -> tuple[dict[int, float], float]:
    """({|S|: coherence} for one and two observed modalities, mean judged accuracy of the own reconstructions)."""
    model.eval()
    grid = model.cross_generate(xs, torch.Generator().manual_seed(6))
    own = sum((judges[m](grid[m][m]).argmax(-1) == labels).float().mean().item() for m in range(len(xs))) / len(xs)
    scores = subset_coherence(model, xs, labels, judges, results.observed_subsets(len(xs), results.SIZES),
                              torch.Generator().manual_seed(5))
    model.train()
    return coherence_by_size(scores), own


def main(argv=None) -> list[dict]:
    p = arguments.parser(__doc__.splitlines()[0])
    p.add_argument("--model", choices=experiment.MODEL_NAMES, required=True)
    arguments.add_profile(p)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=int, default=500, help="steps between readings")
    p.add_argument("--test", type=int, default=500, help="seeded test items scored")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the readings here (after each one)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    train = experiment.paper_data(args.profile, "train")
    test = experiment.paper_data(args.profile, "test").take(args.test, seed=experiment.DATA_SEED)
    judges = experiment.digit_classifiers(args.profile, train)
    model = experiment.build_model(args.model, args.seed, experiment.settings(args.profile))
    (stage,) = experiment.recipe(args.model, args.profile)
    options = stage.options(0) if stage.options is not None else {}
    optimiser = torch.optim.Adam(model.parameters(), lr=stage.lr, amsgrad=True)
    data_gen, sample_gen = torch.Generator().manual_seed(args.seed), torch.Generator().manual_seed(args.seed + 1)
    xs_test, labels = list(test.data.modalities), test.labels
    print(f"{args.model}: {stage.objective} {options}, K {stage.k}, batch {stage.batch_size}, lr {stage.lr:g}, "
          f"{train.description}", flush=True)
    log, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < 60 * args.minutes:
        for xs in train.data.batches(stage.batch_size, generator=data_gen, drop_last=True):
            optimiser.zero_grad(set_to_none=True)
            estimate = OBJECTIVES[stage.objective](model, xs, stage.k, sample_gen, **options)
            (-estimate.surrogate.mean()).backward()
            optimiser.step()
            step += 1
            if step % args.every == 0:
                by_size, own = readings(model, xs_test, labels, judges)
                log.append(dict(step=step, seconds=round(time.perf_counter() - start),
                                coherence={str(k): v for k, v in by_size.items()}, own=own))
                print(f"step {step:6d}  {log[-1]['seconds']:5d} s  coherence given 1, 2: "
                      + " ".join(f"{v:.3f}" for v in by_size.values()) + f"  own reconstructions {own:.3f}",
                      flush=True)
                if args.json is not None:
                    args.json.write_text(json.dumps(dict(model=args.model, profile=args.profile, lr=stage.lr,
                                                         batch_size=stage.batch_size, data=train.description,
                                                         readings=log), indent=1))
            if time.perf_counter() - start >= 60 * args.minutes:
                break
    return log


if __name__ == "__main__":
    main()
