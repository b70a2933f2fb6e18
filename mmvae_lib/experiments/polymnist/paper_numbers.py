"""Published PolyMNIST numbers, one constant per figure, keyed ``(model, column)`` as our tables are.

Seed 002 ("Bridging the inference gap in Multimodal VAEs") plots coherence and FID against the number of
observed modalities in its Figure 4, one point per seed; its body could not be read here (only the abstract
and figure list, ``../shared/seeds/002_c2e8e52a16067760.txt``). The closest published numbers are those of
the same authors' PolyMNIST benchmark in MultiVae (latent 512, the MoPoE networks, complete data, mean over
seeds 0-3; ``AgatheSenellart/MultiVae``, ``examples/case_studies/benchmarking_on_partial_polymnist/
coherence.png`` and ``fids.png``, η = 1.0), **read off the plots**, so approximate, as gathered in
``../shared/reference/paper-facts.md`` (Seed 002, "Published PolyMNIST numbers") and the project's research
notes on PolyMNIST (§B5). Their coherence is MultiVae's: held-out targets only, one sample per item, a
**class-balanced** accuracy per target (torchmetrics ``MulticlassAccuracy(average=None).mean()``), then means
over targets and over subsets of each size. Their FID is of modality m0 generated from the subsets of the
other four, InceptionV3 pool3 features on the test set.

Coherences are in percent, FIDs as printed.
"""

SIZES = (1, 2, 3, 4)


def _column(size: int) -> str:
    return f"|S| = {size}"


# Conditional coherence (%) against the number |S| of observed modalities. MMVAE "≈0.80, flat"; MVAE
# "≈0.21 rising to ≈0.51" (only its ends are stated); MoPoE 0.614/0.748/0.803/0.830; the seed's own models,
# JNF and JNF-DCCA, for the next issue.
COHERENCE_VS_SUBSET_SIZE = {
    **{("MMVAE", _column(n)): 80.0 for n in SIZES},
    ("MVAE", _column(1)): 21.0, ("MVAE", _column(4)): 51.0,
    **{("MoPoE", _column(n)): v for n, v in zip(SIZES, (61.4, 74.8, 80.3, 83.0))},
    **{("JNF", _column(n)): v for n, v in zip(SIZES, (67.5, 84.8, 90.3, 91.7))},
    **{("JNF-DCCA", _column(n)): v for n, v in zip(SIZES, (75.5, 89.0, 93.5, 94.6))},
}

# FID of m0 generated from |S| of the other modalities (fids.png): MMVAE ≈190 whatever |S|; JNF 102 → 122 and
# JNF-DCCA 104 → 120 from one to four (their middle points are not stated); MoPoE between 205 and 216
# (which end is which is not stated, so it has no entry).
FID_M0_VS_SUBSET_SIZE = {
    **{("MMVAE", _column(n)): 190.0 for n in SIZES},
    ("JNF", _column(1)): 102.0, ("JNF", _column(4)): 122.0,
    ("JNF-DCCA", _column(1)): 104.0, ("JNF-DCCA", _column(4)): 120.0,
}
MOPOE_FID_M0_RANGE = (205.0, 216.0)

# MoPoE's own paper (Sutter et al. 2021) on PolyMNIST, as MultiVae's README quotes it beside its reproduction
# (67/79/84/85): coherence (%) given 1-4 observed modalities.
MOPOE_PAPER_COHERENCE = {("MoPoE", _column(n)): v for n, v in zip(SIZES, (66.0, 77.0, 81.0, 83.0))}

# The dataset's published size (Sutter et al. 2021; the archive's files): tuples per split.
DATASET_SIZES = {"train": 60_000, "test": 10_000}
