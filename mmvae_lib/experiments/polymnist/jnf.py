"""JNF and JNF-Shared on PolyMNIST (notebook 13; the seed's Figure 4 models), on the same tuples, networks,
judges and likelihoods as the baselines of :mod:`mmvae_lib.experiments.polymnist.experiment`, per the
profile's ``jnf_polymnist`` section (the data from its ``polymnist`` section).

The models (:func:`jnf_model`), as the authors' PolyMNIST benchmark builds them
(``comparison_on_mmnist/{jnf,jnfd}.py`` in ``AgatheSenellart/nips_experiments``, on MultiVae):
- joint encoder: the five paper-standard PolyMNIST encoders as embedders (their location heads), concatenated,
  an MLP [512, 512];
- decoders: the paper-standard PolyMNIST decoders, Laplace likelihoods of scale 0.75, no likelihood scaling;
- JNF: unimodal encoders the PolyMNIST encoders, each followed by a MAF;
- JNF-DCCA: projectors g_m the PolyMNIST encoders with an E-dimensional output, trained with the DCCA loss
  summed over the ten pairs of modalities; unimodal encoders MLPs E → 512 → 512 on g_m(x_m), then a MAF.

Subset posteriors (1 < |S| < 5) are sampled by HMC with the prior divided |S| − 1 times (the exact product of
the posteriors) unless the model's ``divide_prior`` says ``"once"`` (the authors' code);
:func:`prior_division_table` sets them side by side with the plain product (``"none"``), and
:func:`chain_table` shows where the sampler's chains go.
"""
from __future__ import annotations

import torch

from mmvae_lib.experiments.polymnist import experiment
from mmvae_lib.experiments.polymnist.networks import (LIKELIHOOD_SCALE, MODALITIES, N_MODALITIES, PolyMNISTDecoder,
                                                      PolyMNISTEncoder)
from mmvae_lib.experiments.polymnist.results import column, observed_subsets
from mmvae_lib.metrics import coherence
from mmvae_lib.metrics.batching import batches
from mmvae_lib.models import JNF, JointEncoder, Likelihood, MLPEncoder
from mmvae_lib.models.flows import maf
from mmvae_lib.models.projectors import Projector
from mmvae_lib.profiles import JNFSettings, Profile, get_profile
from mmvae_lib.training import jnf as recipes

# the variants of the seed's PolyMNIST figure (the contrastive one is in VARIANTS of the recipes as well)
VARIANTS = ("jnf", "jnf_dcca")


def settings(profile: Profile | str) -> JNFSettings:
    """This experiment's section of the profile (the data come from the ``polymnist`` section)."""
    return get_profile(profile).jnf_polymnist


def jnf_model(variant: str, s: JNFSettings, seed: int, *, divide_prior: str = "exact") -> JNF:
    """The untrained ``variant`` (:data:`mmvae_lib.training.jnf.VARIANTS`), weights from ``seed`` (global RNG
    untouched; the joint encoder and decoders are drawn first, so the variants of one seed share them)."""
    flows, projector = recipes.check_variant(variant)
    d = s.latent_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        joint = JointEncoder([PolyMNISTEncoder(d) for _ in range(N_MODALITIES)], [d] * N_MODALITIES, d,
                             hidden=(512, 512))
        decoders = [PolyMNISTDecoder(d) for _ in range(N_MODALITIES)]
        projectors = None
        if projector is None:
            encoders = [PolyMNISTEncoder(d) for _ in range(N_MODALITIES)]
        else:
            e = s.dcca_dim if projector == "dcca" else s.contrastive_dim
            projectors = [Projector(PolyMNISTEncoder(e)) for _ in range(N_MODALITIES)]
            encoders = [MLPEncoder(e, d) for _ in range(N_MODALITIES)]
        flow_modules = [maf(d, s.flow_transforms, s.flow_hidden) for _ in range(N_MODALITIES)] if flows else None
        return JNF(joint, encoders, decoders, [Likelihood("laplace", LIKELIHOOD_SCALE)] * N_MODALITIES,
                   latent_dim=d, flows=flow_modules, projectors=projectors, modalities=MODALITIES,
                   divide_prior=divide_prior, hmc=s.hmc)


CHECKPOINTS = "jnf_polymnist"      # under outputs/<profile>/checkpoints


def training_data(profile: Profile | str):
    """The PolyMNIST training tuples of the profile (the baselines')."""
    return experiment.paper_data(profile, "train")


def training_size(profile: Profile | str) -> int:
    """How many training tuples (:func:`mmvae_lib.experiments.polymnist.experiment.training_size`)."""
    return experiment.training_size(profile)


def runs(profile: Profile | str, variants=VARIANTS) -> list:
    """The training runs of the profile (:func:`mmvae_lib.training.jnf.runs`): joint models, then variants."""
    return recipes.runs(__name__, profile, variants)


def trained_variants(profile: Profile | str, variants=VARIANTS, *, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Every variant for every seed of the profile (:func:`mmvae_lib.training.jnf.trained_variants`):
    ``{(variant, seed): (model, history)}``."""
    return recipes.trained_variants(__name__, profile, variants, workers=workers, progress=progress)


# --- the prior division and the sampler ----------------------------------------------------------------

DIVISION_LABELS = {"exact": "prior divided |S| − 1 times", "once": "prior divided once", "none": "prior not divided"}


def prior_division_table(model: JNF, xs, labels, judges, generator_seed: int, sizes=(2, 3, 4)) -> dict:
    """Conditional coherence (%, micro, as :func:`mmvae_lib.experiments.polymnist.results.coherence_results`)
    given |S| in ``sizes`` observed modalities, with the prior divided |S| − 1 times (``exact``), once
    (``once``, the authors' code) and not at all (``none``, the experts' plain product), the same model and
    samples' seed: ``{(label, "|S| = n"): [value]}`` with the labels of :data:`DIVISION_LABELS`."""
    out: dict = {}
    subsets = observed_subsets(model.n_modalities, sizes)
    for divide, label in DIVISION_LABELS.items():
        previous, model.divide_prior = model.divide_prior, divide
        try:
            scores = coherence.subset_coherence(model, xs, labels, judges, subsets,
                                                torch.Generator().manual_seed(generator_seed))
        finally:
            model.divide_prior = previous
        for size, value in coherence.coherence_by_size(scores).items():
            out.setdefault((label, column(size)), []).append(100 * value)
    return out


@torch.no_grad()
def acceptance_table(models: dict, xs, generator_seed: int = 0, k: int = 1, batch_size: int = 256,
                     sizes=(2, 3, 4)) -> dict:
    """The HMC sampler's mean acceptance rate (%) per model and |S|: for each size, the first subset of
    that size (m0..m_{|S|−1}) on every test tuple. ``{(label, "|S| = n"): [value per seed]}``."""
    out: dict = {}
    for (name, _seed), model in models.items():
        g = torch.Generator().manual_seed(generator_seed)
        for size in sizes:
            subset = tuple(range(size))
            rates = []
            for s in batches(len(xs[0]), batch_size):
                part = [x[s] if m in subset else None for m, x in enumerate(xs)]
                rates.append(model.posterior(part, subset).posterior.sample(k, g).acceptance.flatten())
            out.setdefault((experiment.DISPLAY_NAMES[name], column(size)), []).append(
                100 * torch.cat(rates).double().mean().item())
    return out


@torch.no_grad()
def chain_table(models: dict, xs, labels, judges, schedules: dict, generator_seed: int = 0, sizes=(2, 3, 4),
                batch_size: int = 256) -> list[dict]:
    """Where the HMC chains of the subset posteriors end, per model, |S| and HMC schedule (``schedules``:
    name → :class:`mmvae_lib.models.hmc.HMCSettings`): for each size the first subset (m0..m_{|S|−1}) on every
    tuple of ``xs``, one chain each. One row per (model, seed, size, schedule): the mean norm |z| of the
    chains' last states against that of samples of the joint posterior q(z | X) (the region the decoders
    were trained on); the mean acceptance; the mean unnormalised log target Σ_s log q_s(z | x_s) − n log p(z)
    at the chains' states minus its mean at the q(z | X) samples (positive: the chains found more mass
    elsewhere); and the coherence (%) of the held-out modalities decoded from the chains' states."""
    rows = []
    for (name, seed), model in models.items():
        for size in sizes:
            subset, targets = tuple(range(size)), range(size, model.n_modalities)
            for label, schedule in schedules.items():
                g = torch.Generator().manual_seed(generator_seed)
                z, z_joint, acceptance, gap = [], [], [], []
                for s in batches(len(labels), batch_size):
                    part = [x[s] for x in xs]
                    joint = model.posterior(part).rsample(1, g)[0]                       # (1, B, D)
                    target = model.posterior(part, subset, hmc=schedule).posterior
                    result = target.sample(1, g)                                         # z (1, B, D)
                    gap.append(target.log_density(result.z)[0] - target.log_density(joint)[0])
                    z.append(result.z[0])
                    z_joint.append(joint[0])
                    acceptance.append(result.acceptance[0])
                z, z_joint = torch.cat(z), torch.cat(z_joint)
                correct = [(judges[n](model.likelihoods[n].mean(model.decode(z, n))).argmax(-1) == labels).double()
                           for n in targets]
                rows.append({"model": experiment.DISPLAY_NAMES[name], "seed": seed, "|S|": size, "HMC": label,
                             "|z|": z.norm(dim=-1).mean().item(), "|z| under q(z | X)": z_joint.norm(dim=-1).mean().item(),
                             "acceptance (%)": 100 * torch.cat(acceptance).double().mean().item(),
                             "log target above q(z | X)'s": torch.cat(gap).mean().item(),
                             "coherence (%)": 100 * torch.stack(correct).mean().item()})
    return rows
