"""Closed forms to measure against. Notebook 02: the MMVAE paper's theory (§3, Appendices B-D) measured on a
multimodal linear-Gaussian model whose log-likelihood and posteriors are closed-form (:mod:`linear_gaussian`,
:mod:`measurements`, :mod:`plots`); the toy model also serves the tests' exact-value checks. Notebook 11:
JNF's subset posterior with Gaussian experts against HMC (:mod:`subset_posterior`)."""
