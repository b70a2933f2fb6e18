"""Objectives: the paper's bounds as reductions of one tensor of log importance weights (:mod:`bounds`), and
the gradient estimators that training differentiates (:mod:`estimators`)."""
from mmvae_lib.objectives.estimators import OBJECTIVES, Estimate

__all__ = ["OBJECTIVES", "Estimate"]
