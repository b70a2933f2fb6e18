"""Metrics of both papers: coherence (:mod:`coherence`), latent accuracy and the latent space's KLs
(:mod:`latents`), marginal likelihoods (:mod:`marginal`), and training the classifiers that judge them
(:mod:`classifiers`)."""
