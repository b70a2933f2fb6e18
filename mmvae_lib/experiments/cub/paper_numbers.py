"""The numbers the MMVAE paper publishes for CUB, keyed ``(row, column)`` as in the paper.

Table 4 (Shi et al., NeurIPS 2019, §4.3): the correlation of image (I) – sentence (S) pairs, the cosine of
their CCA projections (eq. 4), for joint generation (1,000 prior samples), cross-generation over the test
set, and the test data themselves ("Ground truth", one number for both models: shown in the MMVAE row);
averaged over 5 independently trained models.
"""

TABLE4_CUB_CORRELATION = {
    ("MMVAE", "Joint"): 0.263, ("MMVAE", "Cross I→S"): 0.104, ("MMVAE", "Cross S→I"): 0.135,
    ("MMVAE", "Ground truth"): 0.273,
    ("MVAE", "Joint"): -0.095, ("MVAE", "Cross I→S"): 0.011, ("MVAE", "Cross S→I"): -0.013,
}
