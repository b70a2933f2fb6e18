"""How many steps PolyMNIST models need before they learn the digits: a learning curve on the `cpu` profile's
offline tuples, for choosing a budget (issue 13). Not part of `make paper`: it runs for as long as it is told.

One model (MMVAE, MVAE, MoPoE, or a single-modality VAE on modality m0 for comparison) trains on the profile's
training tuples with the profile's recipe settings (objective, batch, learning rate, latent size), one thread,
for ``--minutes``; every ``--every`` steps it prints the conditional coherence for 1 to 4 observed modalities
(seed 002's Figure 4 average, notebook 10's definition) and the judges' reading of each modality's own
reconstruction, on ``--test`` seeded test tuples, judged by notebook 09's cached classifiers (run notebook 09
of the profile first); ``--json`` writes the readings.

    python benchmarks/polymnist_learning.py --model mopoe --minutes 28 --every 1000
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from mmvae_lib import arguments
from mmvae_lib.experiments.polymnist import experiment, results
from mmvae_lib.experiments.polymnist.networks import LIKELIHOOD_SCALE, PolyMNISTDecoder, PolyMNISTEncoder
from mmvae_lib.metrics.coherence import coherence_by_size, subset_coherence
from mmvae_lib.models import VAE, Likelihood, Prior
from mmvae_lib.objectives import OBJECTIVES

MODELS = ("mmvae", "mvae", "mopoe", "vae")


def build(name: str, profile: str, seed: int):
    """The model and how it trains: (model, objective, options, batch size, learning rate)."""
    s = experiment.settings(profile)
    if name == "vae":     # modality m0 alone, Laplace posterior with the MMVAE paper's softmax scale
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = VAE(PolyMNISTEncoder(s.latent_dim), PolyMNISTDecoder(s.latent_dim),
                        Likelihood("laplace", LIKELIHOOD_SCALE), latent_dim=s.latent_dim, posterior="laplace",
                        prior=Prior(s.latent_dim, "laplace"))
        return model, "moe_elbo", {}, s.mmvae_batch_size, s.mmvae_lr
    stage = experiment.recipe(name, profile)[0]
    options = stage.options(0) if stage.options is not None else {}
    return (experiment.build_model(name, seed, s.latent_dim), stage.objective, options, stage.batch_size,
            stage.lr)


@torch.no_grad()
def readings(model, xs, labels, classifiers) -> tuple[dict[int, float], float]:
    """({|S|: conditional coherence} for 1..M-1 observed modalities, mean judged accuracy of the own
    reconstructions); the first is empty for a single-modality VAE."""
    model.eval()
    grid = model.cross_generate(xs, torch.Generator().manual_seed(6))
    own = sum((classifiers[m](grid[m][m]).argmax(-1) == labels).float().mean().item()
              for m in range(len(xs))) / len(xs)
    by_size = {}
    if len(xs) > 1:
        scores = subset_coherence(model, xs, labels, classifiers, results.observed_subsets(len(xs)),
                                  torch.Generator().manual_seed(5))
        by_size = coherence_by_size(scores)
    model.train()
    return by_size, own


def main(argv=None) -> list[dict]:
    p = arguments.parser(__doc__.splitlines()[0])
    p.add_argument("--model", choices=MODELS, required=True)
    arguments.add_profile(p)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--every", type=int, default=1000, help="steps between readings")
    p.add_argument("--test", type=int, default=300, help="seeded test tuples scored")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="learning rate instead of the profile's")
    p.add_argument("--json", type=Path, default=None, help="write the readings here (after each one)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    train = experiment.paper_data(args.profile, "train")
    test = experiment.paper_data(args.profile, "test").take(args.test, seed=experiment.DATA_SEED)
    classifiers = experiment.digit_classifiers(args.profile, train, require_cached=True)
    model, objective, options, batch_size, lr = build(args.model, args.profile, args.seed)
    lr = lr if args.lr is None else args.lr
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, amsgrad=True)
    data_gen, sample_gen = torch.Generator().manual_seed(args.seed), torch.Generator().manual_seed(args.seed + 1)
    xs_test, labels = test.get(torch.arange(len(test)))
    if args.model == "vae":
        xs_test, classifiers = xs_test[:1], classifiers[:1]
    print(f"{args.model}: {objective} {options}, batch {batch_size}, lr {lr:g}, {train.description}", flush=True)
    log, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < 60 * args.minutes:
        for xs in train.batches(batch_size, generator=data_gen, drop_last=True):
            xs = xs[:1] if args.model == "vae" else xs
            optimiser.zero_grad(set_to_none=True)
            estimate = OBJECTIVES[objective](model, xs, 1, sample_gen, **options)
            (-estimate.surrogate.mean()).backward()
            optimiser.step()
            step += 1
            if step % args.every == 0:
                by_size, own = readings(model, xs_test, labels, classifiers)
                log.append(dict(step=step, seconds=round(time.perf_counter() - start),
                                coherence={str(k): v for k, v in by_size.items()}, own=own))
                print(f"step {step:6d}  {log[-1]['seconds']:5d} s  coherence by |S| "
                      + " ".join(f"{v:.3f}" for v in by_size.values()) + f"  own reconstructions {own:.3f}",
                      flush=True)
                if args.json is not None:
                    args.json.write_text(json.dumps(dict(model=args.model, profile=args.profile, lr=lr,
                                                         batch_size=batch_size, data=train.description,
                                                         readings=log), indent=1))
            if time.perf_counter() - start >= 60 * args.minutes:
                break
    return log


if __name__ == "__main__":
    main()
