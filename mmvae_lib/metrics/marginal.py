"""Marginal likelihoods (MMVAE paper, Table 3): log p(x_m, x_n) and log p(x_m | ·), importance-sampled with
the posterior given "·" as proposal (:func:`mmvae_lib.objectives.bounds.log_likelihood`)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from tqdm import tqdm

from mmvae_lib.metrics.batching import batches, model_device
from mmvae_lib.objectives.bounds import log_likelihood


# Table 3: name → (targets, proposal) relative to (m, n)
LIKELIHOOD_TERMS = {
    "log p(x_m, x_n)": (("m", "n"), ("m", "n")),
    "log p(x_m | x_m, x_n)": (("m",), ("m", "n")),
    "log p(x_m | x_m)": (("m",), ("m",)),
    "log p(x_m | x_n)": (("m",), ("n",)),
}


@torch.no_grad()
def likelihoods(model, xs: Sequence[Tensor], k: int, generator: torch.Generator, *, batch_size: int = 128,
                progress: bool = True, per_item: bool = False) -> dict[tuple[int, str], float | Tensor]:
    """Table 3: the mean over datapoints of each :data:`LIKELIHOOD_TERMS` entry for each modality m (and
    its partner n, two modalities), importance-sampled with K samples per expert of the proposal
    (:func:`mmvae_lib.objectives.bounds.log_likelihood`). Returns ``{(m, term): value}``; with ``per_item``,
    ``{(m, term): (N,) tensor}`` of each datapoint's estimate instead (their spread is the table's item noise)."""
    if model.n_modalities != 2:
        raise ValueError(f"Table 3 pairs two modalities; the model has {model.n_modalities}")
    device = model_device(model)
    n_points = xs[0].shape[0]
    parts: dict[tuple[int, str], list[Tensor]] = {}
    steps = list(batches(n_points, batch_size))
    for s in tqdm(steps, desc=f"likelihoods K={k}", disable=not progress, leave=False):
        batch = [x[s].to(device) for x in xs]
        for m in (0, 1):
            roles = {"m": m, "n": 1 - m}
            for term, (targets, proposal) in LIKELIHOOD_TERMS.items():
                value = log_likelihood(model, batch, k, generator, targets=[roles[r] for r in targets],
                                       proposal=[roles[r] for r in proposal])
                parts.setdefault((m, term), []).append(value.detach().cpu())
    if per_item:
        return {key: torch.cat(values) for key, values in parts.items()}
    return {key: sum(v.sum().item() for v in values) / n_points for key, values in parts.items()}


