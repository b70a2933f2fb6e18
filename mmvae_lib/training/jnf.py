"""JNF's training recipes on the staged trainer (:func:`mmvae_lib.training.train`), for any dataset.

One joint model per (dataset, β, seed) is trained once (stage 1) and shared by the variants built on it,
each of which copies it and trains its own stages with the joint model frozen:

    joint:            [joint (β-ELBO: joint encoder, decoders)]
    gaussian, jnf:    [unimodal (encoders; the flows for jnf)]
    jnf_dcca:         [dcca (projectors only), unimodal (encoders, flows on g_m(x_m))]
    jnf_contrastive:  [contrastive (projectors only), unimodal (...)]

The authors pretrain the projectors before stage 1 (their joint encoder starts from copies of them);
here the projectors and the joint model do not depend on each other, so the order does not matter and
the joint model is shared. A variant's checkpoint is named after the joint checkpoint it starts from
(whose name fingerprints the joint recipe, data, architecture and seed), so a changed joint model never
loads a stale variant.

:func:`trained_variants` runs all of one experiment's models in parallel one-thread workers. The experiment
is named by its module (importable in a worker process), which defines ``settings(profile)``,
``jnf_model(variant, settings, seed)``, ``training_data(profile)`` and ``CHECKPOINTS``, its folder under the
profile's checkpoints (:mod:`mmvae_lib.experiments.toy_shapes.experiment`,
:mod:`mmvae_lib.experiments.mnist_svhn.jnf`, :mod:`mmvae_lib.experiments.polymnist.jnf`).
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from mmvae_lib.models.jnf import JNF, copy_joint_model
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import JNFSettings, Profile, get_profile
from mmvae_lib.training.trainer import (FixedOptions, Stage, checkpoint_path, continue_from_shorter, stage_steps,
                                       train)
from mmvae_lib.workers import Job, run_grid

# name → (with flows, the projector stage's objective or None)
VARIANTS: dict[str, tuple[bool, str | None]] = {
    "gaussian": (False, None),
    "jnf": (True, None),
    "jnf_dcca": (True, "dcca"),
    "jnf_contrastive": (True, "contrastive"),
}


def check_variant(variant: str) -> tuple[bool, str | None]:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    return VARIANTS[variant]


def beta_of(variant: str, s: JNFSettings) -> float:
    """The stage-1 KL weight the variant's joint model is trained with (the authors' differs for the
    contrastive variant)."""
    check_variant(variant)
    return s.beta_contrastive if variant == "jnf_contrastive" else s.beta


def joint_stages(s: JNFSettings, beta: float) -> list[Stage]:
    """Stage 1: the β-ELBO of the joint encoder and decoders."""
    return [Stage("joint", "jnf_joint_elbo", epochs=s.joint_epochs, batch_size=s.batch_size, lr=s.lr,
                  update=JNF.JOINT_PARTS, options=FixedOptions(beta=beta), precision=s.precision)]


def variant_stages(variant: str, model: JNF, s: JNFSettings) -> list[Stage]:
    """The variant's own stages, after the joint model: its projector stage if any, then stage 2."""
    _, projector = check_variant(variant)
    stages = []
    if projector == "dcca":
        stages.append(Stage("dcca", "dcca", epochs=s.dcca_epochs, batch_size=s.projector_batch_size,
                            lr=s.projector_lr, update=JNF.PROJECTOR_PARTS, precision=s.precision))
    elif projector == "contrastive":
        stages.append(Stage("contrastive", "contrastive", epochs=s.contrastive_epochs,
                            batch_size=s.projector_batch_size, lr=s.projector_lr, update=JNF.PROJECTOR_PARTS,
                            options=FixedOptions(temperature=s.temperature), precision=s.precision))
    stages.append(Stage("unimodal", "jnf_unimodal", epochs=s.unimodal_epochs, batch_size=s.batch_size, lr=s.lr,
                        update=model.unimodal_parts, precision=s.precision))
    return stages


def train_joint(build: Callable[[str], JNF], beta: float, s: JNFSettings, data, checkpoints: str | os.PathLike, *,
                seed: int, device: str | None = None, progress: bool = False, on_epoch_end=None, evaluate=None,
                continue_from_epochs: int | None = None) -> tuple[JNF, list[dict], Path]:
    """Train (or resume, or load) the joint model ``build("jnf")`` with :func:`joint_stages` at ``beta``:
    ``(model, history, checkpoint path)``, the checkpoint ``<checkpoints>/joint_b<β>_s<seed>_<fingerprint>.pt``.
    ``continue_from_epochs``: start from the finished joint model of ``continue_from_epochs`` epochs where there
    is one (:func:`mmvae_lib.training.trainer.continue_from_shorter`); ``evaluate`` runs after each epoch."""
    name = Path(checkpoints) / f"joint_b{beta:g}_s{seed}"
    model, stages = build("jnf"), joint_stages(s, beta)
    path = checkpoint_path(model, stages, data, name, seed)                # named from the untrained model
    if continue_from_epochs is not None:
        continue_from_shorter(model, stages, data, name, seed, continue_from_epochs)
    history = train(model, stages, data, name, seed=seed, device=device, progress=progress,
                    on_epoch_end=on_epoch_end, evaluate=evaluate)
    return model, history, path


def train_variant(build: Callable[[str], JNF], variant: str, s: JNFSettings, data, checkpoints: str | os.PathLike,
                  *, seed: int, device: str | None = None, progress: bool = False, on_epoch_end=None,
                  evaluate=None) -> tuple[JNF, list[dict]]:
    """Train (or resume, or load) ``variant`` of ``build(variant)``: its joint model (:func:`train_joint`;
    trained here unless already), then the variant given the joint weights (:func:`variant_stages`).
    Returns the trained variant and the two histories joined (stage 1's records first, the variant's
    epochs numbered after them). ``evaluate`` runs after each epoch of the variant's stages."""
    joint, joint_history, joint_path = train_joint(build, beta_of(variant, s), s, data, checkpoints, seed=seed,
                                                   device=device, progress=progress, on_epoch_end=on_epoch_end)
    model = copy_joint_model(build(variant), joint.cpu())
    history = train(model, variant_stages(variant, model, s), data,
                    Path(checkpoints) / f"{variant}_s{seed}_from_{joint_path.stem}", seed=seed, device=device,
                    progress=progress, on_epoch_end=on_epoch_end, evaluate=evaluate)
    offset = len(joint_history)
    return model, joint_history + [{**h, "epoch": h["epoch"] + offset} for h in history]


# --- one experiment's runs ----------------------------------------------------------------------------

def _experiment(experiment: str, profile: Profile | str, seed: int):
    """The experiment module, its settings, the model builder of ``seed`` and its checkpoint folder."""
    module = importlib.import_module(experiment)
    s = module.settings(profile)
    checkpoints = output_dir(get_profile(profile).name, "checkpoints") / module.CHECKPOINTS
    return module, s, (lambda variant: module.jnf_model(variant, s, seed)), checkpoints


def joint_job(experiment: str, profile: Profile | str, beta: float, seed: int, *, on_epoch_end=None) -> list[dict]:
    """Stage 1 of ``experiment`` at ``beta`` for ``seed`` (a :class:`mmvae_lib.workers.Job`): its history."""
    module, s, build, checkpoints = _experiment(experiment, profile, seed)
    return train_joint(build, beta, s, module.training_data(profile), checkpoints, seed=seed,
                       on_epoch_end=on_epoch_end)[1]


def trained_variant(experiment: str, profile: Profile | str, variant: str, seed: int, *, device: str | None = None,
                    on_epoch_end=None) -> tuple[JNF, list[dict]]:
    """Train (or load) one variant of ``experiment`` on its joint model: ``(model, history)``."""
    module, s, build, checkpoints = _experiment(experiment, profile, seed)
    return train_variant(build, variant, s, module.training_data(profile), checkpoints, seed=seed, device=device,
                         on_epoch_end=on_epoch_end)


def variant_job(experiment: str, profile: Profile | str, variant: str, seed: int, *, on_epoch_end=None) -> list[dict]:
    """:func:`trained_variant` as a :class:`mmvae_lib.workers.Job`: the history."""
    return trained_variant(experiment, profile, variant, seed, on_epoch_end=on_epoch_end)[1]


def runs(experiment: str, profile: Profile | str, variants) -> list[Job]:
    """The training runs of ``experiment`` (its module, as for :func:`trained_variants`) for :mod:`mmvae_lib.jobs`,
    keyed ``<its CHECKPOINTS>/...`` (``jnf_polymnist/jnf/s0``): the joint models (one per (β, seed)), then every variant in ``variants`` for every seed,
    each after its joint model. The module's ``training_size(profile)`` gives the steps' estimate."""
    module = importlib.import_module(experiment)
    s = module.settings(profile)
    name = get_profile(profile).name
    n, key = module.training_size(profile), module.CHECKPOINTS
    joints = sorted({(beta_of(v, s), seed) for v in variants for seed in s.seeds}, key=lambda j: (j[1], j[0]))
    jobs = [Job(f"joint beta {beta:g} seed {seed}", joint_job,
                dict(experiment=experiment, profile=name, beta=beta, seed=seed), s.joint_epochs,
                key=f"{key}/joint_b{beta:g}/s{seed}", stages=stage_steps(joint_stages(s, beta), n),
                checkpoint=f"{module.CHECKPOINTS}/joint_b{beta:g}_s{seed}") for beta, seed in joints]
    before = {"gaussian": 0, "jnf": 0, "jnf_dcca": s.dcca_epochs, "jnf_contrastive": s.contrastive_epochs}
    no_model = SimpleNamespace(unimodal_parts=())      # the stages' lengths do not depend on the model
    jobs += [Job(f"{v} seed {seed}", variant_job, dict(experiment=experiment, profile=name, variant=v, seed=seed),
                 before[v] + s.unimodal_epochs, key=f"{key}/{v}/s{seed}", after=(f"{key}/joint_b{beta_of(v, s):g}/s{seed}",),
                 stages=stage_steps(variant_stages(v, no_model, s), n), checkpoint=f"{module.CHECKPOINTS}/{v}_s{seed}")
             for seed in s.seeds for v in variants]
    return jobs


def trained_variants(experiment: str, profile: Profile | str, variants, *, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Every variant in ``variants`` for every seed of the experiment's settings: the joint models first (one
    per (β, seed)), then the variants, each in parallel one-thread workers (:func:`runs`). ``{(variant, seed):
    (model, history)}``, loaded from the checkpoints."""
    module = importlib.import_module(experiment)
    s = module.settings(profile)
    name = get_profile(profile).name
    module.training_data(profile)                  # built and cached before the workers read it
    run_grid(runs(experiment, profile, variants), workers=workers, progress=progress,
             description=f"JNF ({name})")
    return {(v, seed): trained_variant(experiment, profile, v, seed) for seed in s.seeds for v in variants}
