"""JNF and JNF-Shared on MNIST-SVHN (notebook 12; Senellart & Allassonnière, the seed's MNIST-SVHN experiment
and Figure 3), on the same pairs and with the same networks, judges and likelihoods as the MMVAE experiment
(:mod:`mmvae_lib.experiments.mnist_svhn.experiment`), per the profile's ``jnf_mnist_svhn`` section.

The models (:func:`jnf_model`), as the authors' configurations build them:
- joint encoder: the paper's MNIST (MLP) and SVHN (CNN) encoders as embedders (their location heads, as
  MultiVae's ``MultipleHeadJointEncoder`` reads ``.embedding``), concatenated, MLP [512, 512];
- decoders: the paper's, Laplace likelihoods of scale 0.75, the MNIST likelihood scaled by 3072/784;
- JNF: unimodal encoders the paper's encoders, each followed by a MAF;
- JNF-Shared: projectors g_m the paper's encoders with an E-dimensional output (DCCA E = 9, contrastive
  E = 10), unimodal encoders MLPs E → 512 → 512 on g_m(x_m) (MultiVae's ``Encoder_VAE_MLP``), then a MAF.

Trained once per (profile, variant, seed) under ``outputs/<profile>/checkpoints/jnf_mnist_svhn``: the joint
models first (one per (β, seed): JNF and JNF-DCCA share theirs; the contrastive variant's is trained with
its own β), then the variants, in parallel one-thread workers.
"""
from __future__ import annotations

import torch

from mmvae_lib.experiments.mnist_svhn import experiment
from mmvae_lib.experiments.mnist_svhn.networks import (LIKELIHOOD_SCALE, MNIST, SVHN, MNISTDecoder, MNISTEncoder,
                                                       SVHNDecoder, SVHNEncoder, _MNIST_PIXELS)
from mmvae_lib.metrics import coherence
from mmvae_lib.metrics.inference_gap import joint_to_unimodal_kl
from mmvae_lib.models import JNF, JointEncoder, Likelihood, MLPEncoder
from mmvae_lib.models.flows import maf
from mmvae_lib.models.projectors import Projector
from mmvae_lib.profiles import JNFSettings, Profile, get_profile
from mmvae_lib.training import jnf as recipes

VARIANTS = ("jnf", "jnf_dcca", "jnf_contrastive")
LABELS = {"mmvae": "MMVAE", "mvae": "MVAE", "jnf": "JNF", "jnf_dcca": "JNF-DCCA", "jnf_contrastive": "JNF-CL"}
LLIK_SCALING = (3 * 32 * 32 / _MNIST_PIXELS, 1.0)   # as the MMVAE models (networks.MODALITIES)


def settings(profile: Profile | str) -> JNFSettings:
    """This experiment's section of the profile (the data come from the ``mnist_svhn`` section)."""
    return get_profile(profile).jnf_mnist_svhn


def jnf_model(variant: str, s: JNFSettings, seed: int) -> JNF:
    """The untrained ``variant`` (:data:`mmvae_lib.training.jnf.VARIANTS`), weights from ``seed`` (global RNG
    untouched; the joint encoder and decoders are drawn first, so the variants of one seed share them)."""
    flows, projector = recipes.check_variant(variant)
    d = s.latent_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        joint = JointEncoder([MNISTEncoder(d), SVHNEncoder(d)], [d, d], d, hidden=(512, 512))
        decoders = [MNISTDecoder(d), SVHNDecoder(d)]
        projectors = None
        if projector is None:
            encoders = [MNISTEncoder(d), SVHNEncoder(d)]
        else:
            e = s.dcca_dim if projector == "dcca" else s.contrastive_dim
            projectors = [Projector(MNISTEncoder(e)), Projector(SVHNEncoder(e))]
            encoders = [MLPEncoder(e, d), MLPEncoder(e, d)]
        flow_modules = [maf(d, s.flow_transforms, s.flow_hidden) for _ in range(2)] if flows else None
        return JNF(joint, encoders, decoders, [Likelihood("laplace", LIKELIHOOD_SCALE)] * 2, latent_dim=d,
                   flows=flow_modules, projectors=projectors, llik_scaling=LLIK_SCALING, modalities=(MNIST, SVHN),
                   hmc=s.hmc)


CHECKPOINTS = "jnf_mnist_svhn"     # under outputs/<profile>/checkpoints


def training_data(profile: Profile | str):
    """The MNIST-SVHN training pairs of the profile (the MMVAE experiment's)."""
    return experiment.paper_data(profile, "train")


def training_size(profile: Profile | str) -> int:
    """How many training pairs (:func:`mmvae_lib.experiments.mnist_svhn.experiment.training_size`)."""
    return experiment.training_size(profile)


def runs(profile: Profile | str, variants=VARIANTS) -> list:
    """The training runs of the profile (:func:`mmvae_lib.training.jnf.runs`): joint models, then variants."""
    return recipes.runs(__name__, profile, variants)


def trained_variants(profile: Profile | str, variants=VARIANTS, *, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Every variant for every seed of the profile (:func:`mmvae_lib.training.jnf.trained_variants`):
    ``{(variant, seed): (model, history)}``."""
    return recipes.trained_variants(__name__, profile, variants, workers=workers, progress=progress)


# --- the tables -------------------------------------------------------------------------------------

def coherence_table(models: dict, test_pairs, judges, n_prior: int) -> dict:
    """Cross coherence both ways and joint coherence (micro, %, as the MMVAE paper's Table 2) for every
    ``models[(name, seed)]``: ``{(label, column): [value per seed]}``. Each model is scored with a
    generator seeded by its seed; joint coherence on ``n_prior`` prior samples."""
    *xs, labels = test_pairs
    out: dict = {}
    for (name, seed), model in models.items():
        g = torch.Generator().manual_seed(seed)
        cross = coherence.cross_coherence(model, xs, labels, judges, g)
        label = LABELS.get(name, name)
        out.setdefault((label, "Cross M→S"), []).append(100 * cross[(0, 1)][0])
        out.setdefault((label, "Cross S→M"), []).append(100 * cross[(1, 0)][0])
        out.setdefault((label, "Joint"), []).append(100 * coherence.joint_coherence(model, n_prior, judges, g))
    return out


def gap_table(models: dict, test_pairs, k: int = 8) -> dict:
    """KL(q(z | X) || q_m(z | x_m)) in nats for each JNF variant and modality (K samples per pair):
    ``{(label, "KL gap MNIST" | "KL gap SVHN"): [value per seed]}``."""
    *xs, _ = test_pairs
    out: dict = {}
    for (name, seed), model in models.items():
        kl = joint_to_unimodal_kl(model, xs, k, torch.Generator().manual_seed(seed))
        for m, modality in enumerate(("MNIST", "SVHN")):
            out.setdefault((LABELS.get(name, name), f"KL gap {modality}"), []).append(kl[m].item())
    return out


@torch.no_grad()
def reconstruction_table(models: dict, test_pairs, judges) -> dict:
    """Figure 3's third row measured: SVHN decoded from z ~ q(z | x_SVHN) (the likelihood mean), per model:
    the % whose digit the SVHN judge reads as the input's, and the mean absolute pixel error against the
    input (what is lost besides the digit: background, colours). ``{(label, column): [value per seed]}``."""
    _, svhn, labels = test_pairs
    out: dict = {}
    for (name, seed), model in models.items():
        g = torch.Generator().manual_seed(seed)
        digits, errors = [], []
        for start in range(0, len(labels), 256):
            x = svhn[start:start + 256]
            xs = [None, x] if model.n_modalities == 2 else [x]
            z = model.posterior(xs, [model.n_modalities - 1]).rsample(1, g)[0, 0]      # (B, D)
            recon = model.likelihoods[-1].mean(model.decode(z, model.n_modalities - 1))
            digits.append(judges[1](recon).argmax(-1))
            errors.append((recon - x).abs().flatten(1).mean(1))
        label = LABELS.get(name, name)
        out.setdefault((label, "S→S digit kept (%)"), []).append(
            100 * (torch.cat(digits) == labels).double().mean().item())
        out.setdefault((label, "S→S pixel error"), []).append(torch.cat(errors).mean().item())
    return out
