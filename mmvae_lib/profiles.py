"""The one knob that scales a run: ``smoke`` (CI, seconds), ``cpu`` (offline default, 2 CPU cores) and
``full`` (the paper's settings, for a GPU with the real data).

Every setting a notebook or script needs derives from a :class:`Profile`; nothing else in the project
hard-codes a run size. ``full`` follows ``../shared/reference/paper-facts.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    # data
    source: str                 # "auto", "real" or "standin" (see mmvae_lib.data)
    dm: int                     # pairing multiplicity: each kept image appears dm times
    max_per_class: int          # cap on instances per class and dataset (the paper: 10,000)
    # training (the MNIST-SVHN models)
    objective: str              # a key of mmvae_lib.estimators.OBJECTIVES
    k: int                      # importance samples per expert during training
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]      # one model is trained per seed; tables report mean ± std over them
    # evaluation
    classifier_epochs: int      # LeNet digit classifiers used by coherence, and the latent classifier
    llik_k: int                 # importance samples per datapoint for Table 3
    llik_points: int            # test datapoints scored for Table 3
    eval_points: int            # test pairs used by coherence and latent accuracy
    # coherence during training (see mmvae_lib.experiment.coherence_probe)
    curve_points: int           # test pairs (and prior samples) scored after every epoch of MMVAE and MVAE
    extended_epochs: int        # 0, or an extra MMVAE run (first seed) this long, to see where training leads


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", source="standin", dm=1, max_per_class=60,
        objective="moe_elbo", k=1, epochs=1, batch_size=64, seeds=(0,),
        classifier_epochs=1, llik_k=8, llik_points=32, eval_points=256,
        curve_points=128, extended_epochs=2,
    ),
    "cpu": Profile(
        name="cpu", source="standin", dm=5, max_per_class=10_000,
        objective="moe_elbo", k=1, epochs=10, batch_size=128, seeds=(0, 1),
        classifier_epochs=10, llik_k=100, llik_points=500, eval_points=2_000,
        curve_points=1_000, extended_epochs=30,
    ),
    "full": Profile(
        name="full", source="real", dm=20, max_per_class=10_000,
        objective="moe_dreg_looser", k=30, epochs=30, batch_size=128, seeds=(0, 1, 2, 3, 4),
        classifier_epochs=30, llik_k=1_000, llik_points=10_000, eval_points=10_000,
        curve_points=2_000, extended_epochs=0,
    ),
}


def get_profile(name: str | Profile, **overrides) -> Profile:
    """The profile called ``name`` (or ``name`` itself), with any field replaced by ``overrides``."""
    if isinstance(name, Profile):
        profile = name
    elif name in PROFILES:
        profile = PROFILES[name]
    else:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    return replace(profile, **overrides) if overrides else profile
