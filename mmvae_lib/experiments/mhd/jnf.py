"""JNF and JNF-Shared on MHD, on the same items, networks, likelihoods and judges as the baselines of
:mod:`mmvae_lib.experiments.mhd.experiment`, per the profile's ``jnf_mhd`` section (the data from its ``mhd``
section).

The models (:func:`jnf_model`), as the authors' MHD runs build them (``comparison_on_MHD/{jnf,jnfd}.py`` in
``AgatheSenellart/nips_experiments``, on MultiVae):
- joint encoder: the three MHD encoders as embedders (their location heads), concatenated, an MLP [512, 512];
- decoders: the MHD decoders, Normal likelihoods of scale 1 with the authors' rescaling;
- JNF: unimodal encoders the MHD encoders, each followed by a MAF;
- JNF-DCCA and JNF-CL: projectors g_m the MHD encoders with an E-dimensional output, trained with the DCCA loss
  or the contrastive (InfoNCE) loss over the pairs of modalities; unimodal encoders MLPs E → 512 → 512 on
  g_m(x_m), then a MAF.
"""
from __future__ import annotations

import torch

from mmvae_lib.experiments.mhd import experiment
from mmvae_lib.experiments.mhd.networks import (LIKELIHOOD_RESCALING, MODALITIES, decoders, encoders, likelihoods)
from mmvae_lib.models import JNF, JointEncoder, MLPEncoder
from mmvae_lib.models.flows import maf
from mmvae_lib.models.projectors import Projector
from mmvae_lib.profiles import MHDJNFSettings, Profile, get_profile
from mmvae_lib.training import jnf as recipes

VARIANTS = ("jnf", "jnf_dcca", "jnf_contrastive")
CHECKPOINTS = "jnf_mhd"      # under outputs/<profile>/checkpoints


def settings(profile: Profile | str) -> MHDJNFSettings:
    """This experiment's section of the profile (the data come from the ``mhd`` section)."""
    return get_profile(profile).jnf_mhd


def jnf_model(variant: str, s: MHDJNFSettings, seed: int, *, divide_prior: str = "exact") -> JNF:
    """The untrained ``variant``, weights from ``seed`` (global RNG untouched; the joint encoder and decoders are
    drawn first, so the variants of one seed share them)."""
    flows, projector = recipes.check_variant(variant)
    d, m = s.latent_dim, len(MODALITIES)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        joint = JointEncoder(encoders(d, s.image_channels), [d] * m, d, hidden=(512, 512))
        decs = decoders(d, s.image_channels)
        projectors = None
        if projector is None:
            uni = encoders(d, s.image_channels)
        else:
            e = s.dcca_dim if projector == "dcca" else s.contrastive_dim
            projectors = [Projector(net) for net in encoders(e, s.image_channels)]
            uni = [MLPEncoder(e, d) for _ in range(m)]
        flow_modules = [maf(d, s.flow_transforms, s.flow_hidden) for _ in range(m)] if flows else None
        return JNF(joint, uni, decs, likelihoods(), latent_dim=d, flows=flow_modules, projectors=projectors,
                   modalities=MODALITIES, llik_scaling=LIKELIHOOD_RESCALING, divide_prior=divide_prior, hmc=s.hmc)


def training_data(profile: Profile | str):
    """The MHD training items of the profile (the baselines')."""
    return experiment.paper_data(profile, "train").data


def training_size(profile: Profile | str) -> int:
    return experiment.training_size(profile)


def runs(profile: Profile | str, variants=VARIANTS) -> list:
    """The training runs of the profile (:func:`mmvae_lib.training.jnf.runs`): joint models, then variants."""
    return recipes.runs(__name__, profile, variants)


def trained_variants(profile: Profile | str, variants=VARIANTS, *, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Every variant for every seed of the profile: ``{(variant, seed): (model, history)}``."""
    return recipes.trained_variants(__name__, profile, variants, workers=workers, progress=progress)
