"""The command line an experiment offers for long runs (a GPU machine): train one model of one profile and
seed, with its progress bar, checkpoints every epoch and resume, then print its last epoch's record.

    python -m mmvae_lib.experiments.polymnist.experiment --model mopoe --profile full --seed 0
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence


def train_one_model(description: str, models: Sequence[str], fit: Callable, argv=None) -> list[dict]:
    """Parse ``--model`` (one of ``models``), ``--profile`` (default cpu), ``--seed`` and ``--device``; set the
    reproducible numerics; ``fit(profile, model, seed, device=..., progress=True)`` returns ``(model,
    history)``. Prints and returns the history's last record."""
    from mmvae_lib import numerics

    from mmvae_lib import arguments

    parser = arguments.parser(description)
    parser.add_argument("--model", required=True, choices=list(models))
    arguments.add_profile(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    print(numerics.reproducible())
    _, history = fit(args.profile, args.model, args.seed, device=args.device, progress=True)
    print(json.dumps(history[-1]))
    return history
