"""Whether CUB models start to translate with more training: Table 4's correlations along training, for choosing
the `cpu` budget (issue 15). Not part of `make paper`: it runs for as long as it is told.

One model (MMVAE or MVAE) trains on the profile's training pairs with the profile's recipe (objective, K, batch;
the MVAE's KL annealing spread over the steps that ``--minutes`` allows at ``--step-seconds``), one thread;
every ``--every`` steps it prints the eq. (4) correlation of joint generation and of both cross-generations on
``--test`` test pairs (notebook 08's fixed order), with the judge of seed 0 (cached by notebook 08: run it
first in the profile), and how many different captions image → sentence generated for them.

    python benchmarks/cub_learning.py --model mmvae --minutes 25 --every 350
"""
from __future__ import annotations

import time

import torch

from mmvae_lib import arguments
from mmvae_lib.experiments.cub import experiment, results
from mmvae_lib.experiments.cub.correlation import cached_judge
from mmvae_lib.objectives import OBJECTIVES
from mmvae_lib.paths import output_dir


def main(argv=None) -> list[dict]:
    p = arguments.parser(__doc__.splitlines()[0])
    p.add_argument("--model", choices=experiment.MODEL_NAMES, required=True)
    arguments.add_profile(p)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=int, default=350, help="steps between readings")
    p.add_argument("--test", type=int, default=500, help="test pairs scored")
    p.add_argument("--step-seconds", type=float, default=0.5, help="expected seconds per step (MVAE annealing)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    s = experiment.settings(args.profile)
    data = experiment.paper_data(args.profile)
    pairs = experiment.training_pairs(args.profile, data)
    judge = cached_judge(data, experiment.judge_settings(args.profile, 0), output_dir(args.profile, "cache"))
    planned_steps = max(1, int(60 * args.minutes / args.step_seconds))
    stage = experiment.recipe(args.model, args.profile, steps_per_epoch=max(1, planned_steps // s.epochs))[0]
    model = experiment.build_model(args.model, args.seed, len(data.vocabulary), s.latent_dim)
    optimiser = torch.optim.Adam(model.parameters(), lr=stage.lr, amsgrad=True)
    data_gen, sample_gen = torch.Generator().manual_seed(args.seed), torch.Generator().manual_seed(args.seed + 1)
    index = experiment.evaluation_order(data.test, args.test)
    truth = float(judge.score(*data.test.get(index)).mean())
    print(f"{args.model}: {stage.objective} K={stage.k}, batch {stage.batch_size}, {experiment.data_label(data)}; "
          f"ground truth {truth:.3f}", flush=True)
    log, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < 60 * args.minutes:
        for xs in pairs.batches(stage.batch_size, generator=data_gen):
            options = stage.options(step) if stage.options is not None else {}
            optimiser.zero_grad(set_to_none=True)
            estimate = OBJECTIVES[stage.objective](model, xs, stage.k, sample_gen, **options)
            (-estimate.surrogate.mean()).backward()
            optimiser.step()
            step += 1
            if step % args.every == 0:
                model.eval()
                generated = results.generate_for_table4(model, data.test, index, args.test,
                                                        torch.Generator().manual_seed(args.seed))
                model.train()
                scores = {column: float(judge.score(*pair).mean()) for column, pair in generated.items()}
                distinct = len(torch.unique(generated["Cross I→S"][1], dim=0))     # different captions generated
                log.append(dict(step=step, seconds=round(time.perf_counter() - start), **scores,
                                distinct_captions=distinct))
                print(f"step {step:6d}  {log[-1]['seconds']:5d} s  " + "  ".join(
                    f"{column} {value:+.3f}" for column, value in scores.items())
                    + f"  distinct I→S captions {distinct}/{len(index)}", flush=True)
            if time.perf_counter() - start >= 60 * args.minutes:
                break
    return log


if __name__ == "__main__":
    main()
