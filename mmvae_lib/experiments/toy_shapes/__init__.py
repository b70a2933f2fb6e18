"""The JNF toy of the seed's Figure 2 (notebook 11): pairs of squares and circles that share only whether they
are filled (:mod:`data`, with exact judges), small MLP networks and the JNF variants on them (:mod:`networks`),
training and measurements per profile (:mod:`experiment`), the latent-space figure (:mod:`plots`)."""
