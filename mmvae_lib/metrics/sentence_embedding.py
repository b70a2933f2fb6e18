"""Sentence vectors for the CCA correlation (MMVAE paper §4.3, Table 4): FastText word vectors averaged with
SIF weights, minus the first principal component (Arora et al. 2017, as the released code).

- **Word vectors**: gensim's FastText (Bojanowski et al. 2017) trained on the *training* captions only, with
  the released settings: 300 dimensions, window 3, min count 3, 10 epochs, CBOW, gensim's other defaults;
  ``workers=1`` and a ``seed``, so one seed gives one set of vectors (the released code trained with 3
  threads, which is not reproducible; the variance across seeds is measured instead). ``bucket`` (the
  hashed character n-grams, 2,000,000 by default, 2.4 GB of vectors) may be lowered to save memory.
- **SIF weights**: w(t) = a / (a + p(t)), a = 1e-3, p the frequency of the token among all training tokens
  (punctuation included).
- **A sentence** is its tokens up to and including the first end token (all of them where there is none):
  e = (1/n) Σ_t w(t) v(t) over those n tokens. Special tokens (padding, end, out-of-vocabulary) have the
  zero vector: they count in n but add nothing. (The released code gives the end token +1s and the
  out-of-vocabulary token −1s, with weight 0 for the end token, so only the latter differs: an arbitrary
  direction of norm √300 given to every unknown word; here unknown words carry no direction.)
- **First principal component**: u, the first right-singular vector of the centred training sentence
  vectors; every sentence vector becomes e − u uᵀ e (the projection removed from the uncentred e).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SIF_A = 1e-3


@dataclass(frozen=True)
class SentenceEmbedding:
    """Word vectors by token id ``(V, d)`` (zero rows for the special ids), SIF weights ``(V,)``, the end
    token's id and the principal direction ``(d,)`` removed from every sentence vector."""

    vectors: np.ndarray
    weights: np.ndarray
    eos: int
    principal: np.ndarray

    def __call__(self, ids, chunk: int = 4096) -> np.ndarray:
        """Sentence vectors of token id sequences ``(N, L)`` → ``(N, d)``."""
        return remove_component(average(ids, self.vectors, self.weights, self.eos, chunk), self.principal)


def average(ids, vectors: np.ndarray, weights: np.ndarray, eos: int, chunk: int = 4096) -> np.ndarray:
    """e = (1/n) Σ_{t ≤ first end token} w(t) v(t) for each row of ``ids`` ``(N, L)`` → ``(N, d)``."""
    ids = np.asarray(ids.cpu() if hasattr(ids, "cpu") else ids, dtype=np.int64)
    if ids.ndim != 2:
        raise ValueError(f"ids must be token id sequences (N, L), got shape {ids.shape}")
    is_eos = ids == eos
    first = np.where(is_eos.any(1), is_eos.argmax(1), ids.shape[1] - 1)
    keep = np.arange(ids.shape[1])[None] <= first[:, None]                       # (N, L)
    scaled = (weights[:, None] * vectors).astype(np.float32)                     # (V, d)
    out = np.empty((ids.shape[0], vectors.shape[1]))
    for start in range(0, ids.shape[0], chunk):
        rows = slice(start, start + chunk)
        out[rows] = np.einsum("nl,nld->nd", keep[rows].astype(np.float32), scaled[ids[rows]])
    return out / (first + 1)[:, None]


def principal_direction(e: np.ndarray) -> np.ndarray:
    """The first right-singular vector of the centred rows of ``e`` ``(N, d)``."""
    centred = e - e.mean(0)
    return np.linalg.svd(centred, full_matrices=False)[2][0]


def remove_component(e: np.ndarray, u: np.ndarray) -> np.ndarray:
    return e - np.outer(e @ u, u)


def train_fasttext(sentences: Sequence[Sequence[str]], *, seed: int, vector_size: int = 300, window: int = 3,
                   min_count: int = 3, epochs: int = 10, bucket: int = 2_000_000):
    """gensim FastText word vectors trained on ``sentences`` (token lists) with one worker and ``seed``."""
    from gensim.models import FastText

    model = FastText(vector_size=vector_size, window=window, min_count=min_count, workers=1, seed=seed,
                     bucket=bucket)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=epochs)
    return model.wv


def fit_sentence_embedding(sentences: Sequence[Sequence[str]], words: Sequence[str], train_ids, *, eos: int,
                           unknown: int, special: Sequence[int], seed: int, a: float = SIF_A, **fasttext) -> SentenceEmbedding:
    """Fit word vectors on ``sentences`` (the training captions as token lists), SIF weights from their token
    counts, and the principal direction from the training sequences ``train_ids`` ``(N, L)``.

    ``words[i]`` is the word of id i; words outside ``words`` count as ``unknown``; the ids in ``special``
    get zero vectors. ``fasttext``: options of :func:`train_fasttext`.
    """
    if not sentences:
        raise ValueError("sentences must hold the training captions as token lists; got none")
    index = {w: i for i, w in enumerate(words)}
    counts = Counter(index.get(t, unknown) for s in sentences for t in s)
    total = sum(counts.values())
    frequency = np.array([counts.get(i, 0) / total for i in range(len(words))])
    weights = a / (a + frequency)
    wv = train_fasttext(sentences, seed=seed, **fasttext)
    vectors = np.zeros((len(words), wv.vector_size))
    special = set(special)
    for i, w in enumerate(words):
        if i not in special:
            vectors[i] = wv[w]
    principal = principal_direction(average(train_ids, vectors, weights, eos))
    return SentenceEmbedding(vectors, weights, eos, principal)
