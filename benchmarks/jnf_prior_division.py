"""JNF's subset posteriors on PolyMNIST with the prior divided |S| − 1 times, once, or not at all: where HMC's
chains go and what coherence each gives, on notebook 13's trained models (issue 14). Not part of `make paper`.

Dividing the product of the unimodal flow posteriors by the prior can leave no density at all (experts broader
than the prior: ``tests/test_jnf.py``); notebook 13's chain table shows the adapting chains running far out on
the trained models. This sets the three targets side by side on the first seed's JNF and JNF-DCCA: for each
target, :func:`mmvae_lib.experiments.polymnist.jnf.chain_table` (the first subset of each size, the profile's
HMC schedule, ``--chains`` scored tuples, every digit in its proportion) and the coherence against |S| of notebook 13's table (every
subset, every scored tuple). The models are loaded from notebook 13's checkpoints (trained first if missing).

    python benchmarks/jnf_prior_division.py --profile cpu --json prior_division.json
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

import mmvae_lib  # noqa: F401  (MKL's mode first: mmvae_lib.numerics)
from mmvae_lib import arguments, numerics
from mmvae_lib.datasets import stratified_subset
from mmvae_lib.experiments.polymnist import experiment, jnf
from mmvae_lib.experiments.polymnist.results import observed_subsets
from mmvae_lib.metrics import coherence
from mmvae_lib.models.jnf import DIVIDE_PRIOR


def main(argv=None) -> list[dict]:
    p = arguments.parser(__doc__.splitlines()[0])
    arguments.add_profile(p)
    p.add_argument("--targets", nargs="*", default=list(DIVIDE_PRIOR), choices=list(DIVIDE_PRIOR))
    p.add_argument("--chains", type=int, default=200, help="scored tuples for the chain table")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    numerics.reproducible()
    s = jnf.settings(args.profile)
    train, test = experiment.paper_data(args.profile, "train"), experiment.paper_data(args.profile, "test")
    scored = test.take(s.eval_points, seed=experiment.DATA_SEED)          # notebook 13's scored tuples
    xs, labels = scored.get(torch.arange(len(scored)))
    judges = experiment.digit_classifiers(args.profile, train, require_cached=True)
    seed = s.seeds[0]
    models = {key: run[0] for key, run in jnf.trained_variants(args.profile, progress=False).items() if key[1] == seed}
    chained = stratified_subset(labels, min(args.chains, len(labels)), seed=seed)   # the tuples are sorted by digit
    rows = []
    for target in args.targets:
        for model in models.values():
            model.divide_prior = target
        chains = jnf.chain_table(models, [x[chained] for x in xs], labels[chained], judges,
                                 {"adapting (the profile's)": next(iter(models.values())).hmc}, generator_seed=seed)
        for (name, _), model in models.items():
            scores = coherence.subset_coherence(model, xs, labels, judges, observed_subsets(model.n_modalities),
                                                torch.Generator().manual_seed(seed))
            by_size = {str(size): 100 * v for size, v in coherence.coherence_by_size(scores).items()}
            chain_rows = [r for r in chains if r["model"] == experiment.DISPLAY_NAMES[name]]
            rows.append({"target": target, "model": experiment.DISPLAY_NAMES[name], "seed": seed,
                         "coherence (%) by |S|": by_size, "chains": chain_rows})
            print(f"{target:>5} {experiment.DISPLAY_NAMES[name]:>8}: coherence by |S| "
                  + " / ".join(f"{v:.1f}" for v in by_size.values()) + "; chains |z| "
                  + " / ".join(f"{r['|z|']:.1f}" for r in chain_rows)
                  + f" (q(z | X): {chain_rows[0]['|z| under q(z | X)']:.1f}), acceptance "
                  + " / ".join(f"{r['acceptance (%)']:.0f}" for r in chain_rows) + " %", flush=True)
    for model in models.values():
        model.divide_prior = "exact"
    if args.json:
        args.json.write_text(json.dumps({"profile": args.profile, "rows": rows}, indent=1, ensure_ascii=False))
    return rows


if __name__ == "__main__":
    main()
