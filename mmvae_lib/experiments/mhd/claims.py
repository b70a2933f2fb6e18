"""The JNF paper's claim on MHD (notebook 15), with its words and the test that decides it
(:mod:`mmvae_lib.reporting.claims` states the noise rule).

The paper (seed 002) gives its MHD results in a figure; its words are the abstract's and the summary's: JNF and
JNF-Shared reach "state-of-the-art coherence" on its benchmarks, MHD among them. Checked here as: JNF (and the better
of JNF-DCCA and JNF-CL) more coherent than every aggregation-based model (MMVAE, MVAE, MoPoE), given one and given
two observed modalities. MHD's profiles probe no coherence during training, so the verdicts are the end values'.
"""
from __future__ import annotations

from mmvae_lib.experiments.mhd.results import column
from mmvae_lib.reporting.claims import Check, Claim, model_above

SOURCE = "JNF paper, abstract and summary (MHD results: its Figure 4 layout)"
WORDS = ("The methods achieve state-of-the-art coherence and competitive diversity on benchmarks such as MNIST-SVHN, "
         "PolyMNIST, Translated PolyMNIST, and MHD")
BASELINES = ("MMVAE", "MVAE", "MoPoE")


def _given(n: int) -> str:
    return f"given {n} modalit{'y' if n == 1 else 'ies'}"


SHARED = ("JNF-DCCA", "JNF-CL")
# each claim: the model(s) claimed better (the best of several, per column) and the number of observed modalities
CHECKED = {Claim(f"{who} more coherent than MMVAE, MVAE and MoPoE {_given(n)}", SOURCE, WORDS): (better, n)
           for n in (1, 2) for who, better in (("JNF", ("JNF",)), ("JNF-Shared (DCCA or CL)", SHARED))}
CLAIMS = tuple(CHECKED)


def checks(coherence: dict, n_items: int) -> list[Check]:
    """Every claim of :data:`CLAIMS` on a coherence table ``{(model, column): [% per seed]}`` measured on
    ``n_items`` test items (:func:`mmvae_lib.experiments.mhd.results.coherence_results`)."""
    return [model_above(claim, coherence, better, BASELINES, (column(n),), n_items=n_items)
            for claim, (better, n) in CHECKED.items()]
