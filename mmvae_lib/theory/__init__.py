"""Notebook 02: the MMVAE paper's theory (§3, Appendices B-D) measured on a multimodal linear-Gaussian model
whose log-likelihood and posteriors are closed-form (:mod:`linear_gaussian`, :mod:`measurements`,
:mod:`plots`). The toy model also serves the tests' exact-value checks."""
