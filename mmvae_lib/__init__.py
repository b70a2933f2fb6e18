"""mmvae_lib: a small, tested library for "Variational Mixture-of-Experts Autoencoders for Multi-Modal
Deep Generative Models" (Shi, Siddharth, Paige & Torr, NeurIPS 2019).

Data flow: data → model (:mod:`models`, built from :mod:`networks`) → log importance weights
(:func:`bounds.log_weights`) → a bound (:mod:`bounds`) or an estimator with its gradient surrogate
(:mod:`estimators`) → training → metrics.

One axis order everywhere: ``(M, K, B, D)`` = (modality or expert, sample, batch, latent). Experts are
``(M, B, D)``, log weights ``(M, K, B)``, bounds per datapoint ``(B,)``.

Numbers are reproducible: the same seed gives the same numbers in any process on the same machine, once
:func:`numerics.reproducible` has run (see :mod:`mmvae_lib.numerics` for what is and is not guaranteed).
"""
from . import numerics, speed

numerics.pin_mkl()        # before anything multiplies matrices: MKL reads its mode once (mmvae_lib.numerics)
speed.tune_allocator()    # reuse freed memory instead of faulting it in again (mmvae_lib.speed)

from .distributions import Factorised, Mixture, Prior, moe_log_prob, poe
from .likelihoods import Likelihood
from .models import MMVAE, MODELS, MVAE, VAE

__all__ = ["Factorised", "Mixture", "Prior", "moe_log_prob", "poe", "Likelihood", "MMVAE", "MVAE", "VAE",
           "MODELS"]
