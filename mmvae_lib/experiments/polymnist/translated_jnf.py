"""JNF and JNF-DCCA on Translated PolyMNIST (notebook 16): PolyMNIST's JNF models
(:func:`mmvae_lib.experiments.polymnist.jnf.jnf_model`) per the profile's ``jnf_translated_polymnist`` section, on
the Translated PolyMNIST tuples, their checkpoints apart."""
from __future__ import annotations

from mmvae_lib.experiments.polymnist import experiment, jnf
from mmvae_lib.experiments.polymnist.translated_models import DATASET
from mmvae_lib.profiles import JNFSettings, Profile, get_profile
from mmvae_lib.training import jnf as recipes

VARIANTS = jnf.VARIANTS
CHECKPOINTS = "jnf_translated_polymnist"      # under outputs/<profile>/checkpoints
jnf_model = jnf.jnf_model


def settings(profile: Profile | str) -> JNFSettings:
    return get_profile(profile).jnf_translated_polymnist


def training_data(profile: Profile | str):
    return experiment.paper_data(profile, "train", dataset=DATASET)


def training_size(profile: Profile | str) -> int:
    return experiment.training_size(profile, DATASET)


def runs(profile: Profile | str, variants=VARIANTS) -> list:
    return recipes.runs(__name__, profile, variants)


def trained_variants(profile: Profile | str, variants=VARIANTS, *, workers: int | None = None,
                     progress: bool = True) -> dict:
    return recipes.trained_variants(__name__, profile, variants, workers=workers, progress=progress)
