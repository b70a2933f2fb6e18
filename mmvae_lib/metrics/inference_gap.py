"""The inference gap of a model with a joint encoder (JNF, Senellart & Allassonnière): how far each
unimodal posterior q_m(z | x_m) is from the joint posterior q(z | X) it is fitted to,

    KL(q(z | X) || q_m(z | x_m)) = E_{q(z|X)}[log q(z | X) − log q_m(z | x_m)]   (nats),

the quantity stage 2 of JNF minimises (its objective is this KL up to the joint's entropy). A diagonal
Gaussian q_m cannot follow a posterior that is not Gaussian; a flow can come closer.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmvae_lib.metrics.batching import batches, model_device


@torch.no_grad()
def joint_to_unimodal_kl(model, xs: Sequence[Tensor], k: int, generator: torch.Generator, *,
                         batch_size: int = 256) -> Tensor:
    """The mean over datapoints of KL(q(z | X) || q_m(z | x_m)) for each modality m, ``(M,)``, estimated
    with K samples z ~ q(z | X) per datapoint. ``model`` needs ``joint_posterior`` and
    ``unimodal_posteriors`` (:class:`mmvae_lib.models.JNF`); ``xs`` one tensor per modality ``(N, ...)``."""
    device = model_device(model)
    n = xs[0].shape[0]
    total = torch.zeros(model.n_modalities)
    for s in batches(n, batch_size):
        batch = [x[s].to(device) for x in xs]
        q = model.joint_posterior(batch)                                   # (B, D)
        z = q.rsample(k, generator)                                        # (K, B, D)
        log_q_m = model.unimodal_posteriors(batch).log_prob_each(z)        # (K, M, B)
        kl = q.log_prob(z).unsqueeze(1) - log_q_m                          # (K, M, B)
        total += kl.mean(0).sum(-1).cpu()
    return total / n
