"""The toy's networks (notebook 11): small MLPs on the 32×32 binary images, a 2-D latent, Bernoulli
likelihoods. The authors' toy networks are not published in readable form (only compiled files), so
these are ours: encoders 1024 → 256 → 256 → (loc, raw scale), decoders 2 → 256 → 256 → 1024 (sigmoid),
the joint encoder's embedders 1024 → 256, projectors 1024 → 256 → E.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmvae_lib.experiments.toy_shapes.data import NAMES, SIZE
from mmvae_lib.models import JNF, JointEncoder, Likelihood, MLPEncoder, Modality
from mmvae_lib.models.flows import maf
from mmvae_lib.models.projectors import Projector
from mmvae_lib.profiles import JNFSettings
from mmvae_lib.training.jnf import check_variant

PIXELS = SIZE * SIZE
HIDDEN = 256
MODALITIES = tuple(Modality(name, (1, SIZE, SIZE), value_range=(0.0, 1.0)) for name in NAMES)


class ImageDecoder(nn.Module):
    """z ``(N, D)`` → Bernoulli means ``(N, 1, 32, 32)`` in (0, 1)."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, PIXELS))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).sigmoid().view(-1, 1, SIZE, SIZE)


def _embedder() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, HIDDEN), nn.ReLU())


def _projector(dim: int) -> Projector:
    return Projector(nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, dim)))


def toy_model(variant: str, s: JNFSettings, seed: int) -> JNF:
    """The untrained JNF ``variant`` (:data:`mmvae_lib.training.jnf.VARIANTS`) for the toy, weights from
    ``seed`` (global RNG untouched). The joint encoder and decoders are built first, so every variant of
    one seed starts from the same joint model."""
    flows, projector = check_variant(variant)
    d = s.latent_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        joint = JointEncoder([_embedder() for _ in NAMES], [HIDDEN] * len(NAMES), d, hidden=(HIDDEN, HIDDEN))
        decoders = [ImageDecoder(d) for _ in NAMES]
        projectors = None
        if projector is not None:
            dim = s.dcca_dim if projector == "dcca" else s.contrastive_dim
            projectors = [_projector(dim) for _ in NAMES]
            encoders = [MLPEncoder(dim, d, hidden=(64, 64)) for _ in NAMES]
        else:
            encoders = [MLPEncoder(PIXELS, d, hidden=(HIDDEN, HIDDEN)) for _ in NAMES]
        flow_modules = [maf(d, s.flow_transforms, s.flow_hidden) for _ in NAMES] if flows else None
        return JNF(joint, encoders, decoders, [Likelihood("bernoulli")] * len(NAMES), latent_dim=d,
                   flows=flow_modules, projectors=projectors, modalities=MODALITIES)
