"""Published MHD numbers to set beside ours: coherence (%) given one and given two observed modalities (the
held-out ones generated and judged), complete training data, the mean of 4 runs, from the MultiVae authors'
experiment logs (``AgatheSenellart/multivae_experiments``, ``plots/MAR_MHD/results/mar_mhd_all_results_2105.csv``,
commit a16b57f). They are **real-MHD numbers**: our offline runs train on the synthetic-speech stand-in at a
fraction of the budget, so they are not comparable in level, only in order. The logs hold no JNF rows.
"""
from __future__ import annotations

COHERENCE_GIVEN = {
    ("MMVAE", "|S| = 1"): 72.1, ("MMVAE", "|S| = 2"): 71.5,
    ("MoPoE", "|S| = 1"): 65.8, ("MoPoE", "|S| = 2"): 81.0,
    ("MVAE", "|S| = 1"): 40.9, ("MVAE", "|S| = 2"): 60.6,
}
