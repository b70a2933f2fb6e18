"""Training: a recipe of :class:`Stage` run by :func:`train` on any model and data, resumably."""
from mmvae_lib.training.trainer import KLAnnealing, FixedOptions, Stage, TrainingDiverged, checkpoint_path, train

__all__ = ["KLAnnealing", "FixedOptions", "Stage", "TrainingDiverged", "checkpoint_path", "train"]
