"""mmvae_lib: a small, tested library for "Variational Mixture-of-Experts Autoencoders for Multi-Modal
Deep Generative Models" (Shi, Siddharth, Paige & Torr, NeurIPS 2019) and "Bridging the inference gap in
Multimodal VAEs" (Senellart & Allassonnière).

The pipeline, one package per step, shared by every experiment:

    datasets → models (distributions, likelihoods, modalities, MMVAE / MVAE / MoPoE / VAE, JNF with flows and HMC)
             → objectives (log importance weights → bounds; estimators with their gradient surrogates)
             → training (a recipe of stages, resumable) → metrics → reporting (tables, figures)

Around it: ``experiments/`` (MNIST-SVHN, the JNF toy, ...: each its data, networks, judges, paper numbers and
notebook functions), ``theory/`` (closed forms: notebook 02's linear-Gaussian model, JNF's Gaussian subset
posterior), and the run's plumbing: :mod:`profiles` (the
one knob), :mod:`paths`, :mod:`numerics` (reproducibility), :mod:`speed` (fast paths), :mod:`workers`
(parallel jobs), :mod:`paper` (the papermill run), :mod:`regression` (checks of trained numbers).

One axis order everywhere: ``(M, K, B, D)`` = (modality or expert, sample, batch, latent). Experts are
``(M, B, D)``, log weights ``(M, K, B)``, bounds per datapoint ``(B,)``.

Numbers are reproducible: the same seed gives the same numbers in any process on the same machine, once
:func:`numerics.reproducible` has run (see :mod:`mmvae_lib.numerics` for what is and is not guaranteed).
"""
from mmvae_lib import numerics, speed

numerics.pin_mkl()        # before anything multiplies matrices: MKL reads its mode once (mmvae_lib.numerics)
speed.tune_allocator()    # reuse freed memory instead of faulting it in again (mmvae_lib.speed)

from mmvae_lib.models import (MMVAE, MODELS, MVAE, VAE, Factorised, Likelihood, Mixture, Modality,  # noqa: E402
                              MoPoE, Prior, moe_log_prob, poe)
from mmvae_lib.training import Stage, train  # noqa: E402

__all__ = ["Factorised", "Mixture", "Prior", "moe_log_prob", "poe", "Likelihood", "Modality", "MMVAE", "MVAE",
           "MoPoE", "VAE", "MODELS", "Stage", "train"]
