"""The numbers the MMVAE paper publishes for MNIST-SVHN, one constant per table, keyed ``(row, column)`` as in
the paper (Table 4, CUB, is in :mod:`mmvae_lib.experiments.cub.paper_numbers`).

Values are as printed (accuracies and coherences in %). The extracted paper text lost Table 3's
log p(x_m, x_n) column, so those entries are absent (reported as empty).
"""

# Table 1: digit accuracy (%) of a linear classifier on one posterior sample per input.
TABLE1_LATENT_ACCURACY = {
    ("MNIST", "MMVAE"): 91.3, ("MNIST", "MVAE (single)"): 95.7, ("MNIST", "MVAE (both)"): 94.9,
    ("MNIST", "single-VAE"): 85.3,
    ("SVHN", "MMVAE"): 68.0, ("SVHN", "MVAE (single)"): 9.1, ("SVHN", "MVAE (both)"): 90.1,
    ("SVHN", "single-VAE"): 20.7,
}

# Table 2: coherence (%) of joint generation and of cross-generation.
TABLE2_COHERENCE = {
    ("MMVAE", "Joint"): 42.1, ("MMVAE", "Cross M→S"): 86.4, ("MMVAE", "Cross S→M"): 69.1,
    ("MVAE", "Joint"): 12.7, ("MVAE", "Cross M→S"): 9.5, ("MVAE", "Cross S→M"): 9.3,
}

# Table 3: log-likelihoods, 1000-sample importance-sampled estimates; rows "m=<m>, n=<n> <model>".
TABLE3_LIKELIHOODS = {
    ("m=MNIST, n=SVHN MMVAE", "log p(x_m | x_m, x_n)"): 868.76,
    ("m=MNIST, n=SVHN MMVAE", "log p(x_m | x_m)"): 868.37,
    ("m=MNIST, n=SVHN MMVAE", "log p(x_m | x_n)"): 628.31,
    ("m=MNIST, n=SVHN MVAE", "log p(x_m | x_m, x_n)"): -176.68,
    ("m=MNIST, n=SVHN MVAE", "log p(x_m | x_m)"): -107.46,
    ("m=MNIST, n=SVHN MVAE", "log p(x_m | x_n)"): -778.20,
    ("m=SVHN, n=MNIST MMVAE", "log p(x_m | x_m, x_n)"): 3441.01,
    ("m=SVHN, n=MNIST MMVAE", "log p(x_m | x_m)"): 3441.01,
    ("m=SVHN, n=MNIST MMVAE", "log p(x_m | x_n)"): 2337.56,
    ("m=SVHN, n=MNIST MVAE", "log p(x_m | x_m, x_n)"): 3395.12,
    ("m=SVHN, n=MNIST MVAE", "log p(x_m | x_m)"): 3536.86,
    ("m=SVHN, n=MNIST MVAE", "log p(x_m | x_n)"): -12747.50,
}
