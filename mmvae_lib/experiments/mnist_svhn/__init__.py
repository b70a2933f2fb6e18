"""The MMVAE paper's MNIST-SVHN experiment (§4.1; notebooks 01 and 03-06): the paired data
(:mod:`data`, :mod:`standin`, :mod:`svhn_reference`), the paper's networks (:mod:`networks`), the LeNet
judges (:mod:`classifiers`), models and training recipes per profile (:mod:`experiment`), Tables 1-3
(:mod:`results`) and the paper's numbers (:mod:`paper_numbers`); JNF and JNF-Shared on the same pairs
(:mod:`jnf`, notebook 12)."""
