"""Objectives: the paper's bounds as reductions of one tensor of log importance weights (:mod:`bounds`), the
gradient estimators that training differentiates (:mod:`estimators`), and JNF's stage objectives
(:mod:`jnf`), registered here beside the others in one dict."""
from mmvae_lib.objectives import jnf
from mmvae_lib.objectives.estimators import OBJECTIVES, Estimate

OBJECTIVES.update(jnf.OBJECTIVES)

__all__ = ["OBJECTIVES", "Estimate"]
