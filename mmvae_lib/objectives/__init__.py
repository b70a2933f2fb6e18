"""Objectives: the paper's bounds as reductions of one tensor of log importance weights (:mod:`bounds`), the
gradient estimators that training differentiates (:mod:`estimators`), and JNF's stage objectives
(:mod:`jnf`), registered here beside the others in one dict."""
from mmvae_lib.objectives import estimators, jnf
from mmvae_lib.objectives.estimators import Estimate

# every objective by name: the paper's bounds and estimators, then JNF's stage objectives
OBJECTIVES = {**estimators.OBJECTIVES, **jnf.OBJECTIVES}

__all__ = ["OBJECTIVES", "Estimate"]
