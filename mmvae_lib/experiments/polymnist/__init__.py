"""PolyMNIST (Sutter et al. 2021), the benchmark of the JNF paper ("Bridging the inference gap in Multimodal VAEs")
where five image modalities share only the digit (notebooks 09 and 10): the data, from the published archive
or built offline (:mod:`data`), the paper-standard networks (:mod:`networks`), the digit classifiers
(:mod:`classifiers`), models and training recipes per profile (:mod:`experiment`), coherence against the
number of observed modalities and Fréchet distances (:mod:`results`) and the published numbers
(:mod:`paper_numbers`)."""
