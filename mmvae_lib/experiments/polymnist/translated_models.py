"""The three baselines (MMVAE, MVAE, MoPoE) on Translated PolyMNIST (notebook 16): PolyMNIST's experiment
(:mod:`mmvae_lib.experiments.polymnist.experiment`) with ``dataset="translated"``, as one entry of the job grid."""
from __future__ import annotations

from mmvae_lib.experiments.polymnist import experiment
from mmvae_lib.profiles import Profile

DATASET = "translated"
MODEL_NAMES = experiment.MODEL_NAMES


def settings(profile: Profile | str):
    return experiment.settings(profile, DATASET)


def paper_data(profile: Profile | str, split: str, *, verbose: bool = False):
    return experiment.paper_data(profile, split, verbose=verbose, dataset=DATASET)


def runs(profile: Profile | str, **kw) -> list:
    return experiment.runs(profile, dataset=DATASET, **kw)


def trained_models(profile: Profile | str, **kw) -> dict:
    return experiment.trained_models(profile, dataset=DATASET, **kw)


def digit_classifiers(profile: Profile | str, train_data, **kw) -> list:
    return experiment.digit_classifiers(profile, train_data, dataset=DATASET, **kw)
