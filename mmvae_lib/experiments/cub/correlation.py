"""The judge of Table 4: how strongly an image and a caption go together, by CCA (MMVAE eq. 4).

A :class:`CorrelationJudge` is fitted once per seed on the *training* split and then scores any (image
features, caption) pairs, real or generated:

1. FastText word vectors trained on the training captions, SIF-weighted averages of them per caption, the
   first principal component removed (:mod:`mmvae_lib.metrics.sentence_embedding`);
2. CCA with 40 components between the 2048-d image features and those 300-d sentence vectors, over all
   training pairs (each image with its ten captions; :mod:`mmvae_lib.metrics.cca`);
3. the score of a pair: the cosine of its centred projections, eq. (4).

The released analysis retrains FastText with three threads each time it runs, so its numbers move from
run to run; here each judge has a seed (one worker: the same seed gives the same judge), and Table 4 is
scored by several judges so that this variance, which the paper does not report, is measured.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from mmvae_lib.experiments.cub.data import CUBData
from mmvae_lib.experiments.cub.text import EOS, EXC, PAD
from mmvae_lib.metrics.cca import CCA, fit_cca
from mmvae_lib.metrics.sentence_embedding import SentenceEmbedding, fit_sentence_embedding

RIDGE = 1e-3    # × each view's mean variance, added to its covariance (mmvae_lib.metrics.cca)


@dataclass(frozen=True)
class JudgeSettings:
    seed: int
    fasttext_epochs: int = 10
    fasttext_bucket: int = 2_000_000
    components: int = 40
    ridge: float = RIDGE


@dataclass(frozen=True)
class CorrelationJudge:
    """Sentence vectors and the CCA between image features and them; scores pairs by eq. (4)."""

    embedding: SentenceEmbedding
    cca: CCA
    settings: JudgeSettings

    def score(self, features, tokens) -> np.ndarray:
        """Eq. (4) for each pair of image features ``(N, 2048)`` and caption ids ``(N, 32)`` → ``(N,)``."""
        with threadpool_limits(1):
            return self.cca.correlation(features, self.embedding(tokens))


def fit_judge(data: CUBData, settings: JudgeSettings) -> CorrelationJudge:
    """Fit FastText, SIF weights, the principal direction and the CCA on ``data``'s training split (numpy's
    BLAS on one thread, like every computation here: the same seed gives the same judge in any process)."""
    with threadpool_limits(1):
        embedding = fit_sentence_embedding(
            data.sentences, data.vocabulary.words, data.train.tokens, eos=EOS, unknown=EXC, special=(EXC, PAD, EOS),
            seed=settings.seed, epochs=settings.fasttext_epochs, bucket=settings.fasttext_bucket)
        image_of = data.train.image_of(torch.arange(len(data.train)))
        cca = fit_cca(data.train.features, embedding(data.train.tokens), settings.components, ridge=settings.ridge,
                      x_index=image_of)
    return CorrelationJudge(embedding, cca, settings)


def judge_path(cache: Path, data: CUBData, settings: JudgeSettings) -> Path:
    fingerprint = json.dumps([data.train.key, list(data.vocabulary.words[:50]), len(data.vocabulary),
                              asdict(settings)], sort_keys=True)
    return Path(cache) / f"cub_judge_s{settings.seed}_{hashlib.sha1(fingerprint.encode()).hexdigest()[:10]}.npz"


def save_judge(judge: CorrelationJudge, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    e, c = judge.embedding, judge.cca
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, vectors=e.vectors, weights=e.weights, eos=e.eos, principal=e.principal, mean_x=c.mean_x,
             mean_y=c.mean_y, w_x=c.w_x, w_y=c.w_y, correlations=c.correlations,
             settings=json.dumps(asdict(judge.settings)))
    tmp.replace(path)


def load_judge(path: Path) -> CorrelationJudge:
    z = np.load(path)
    return CorrelationJudge(SentenceEmbedding(z["vectors"], z["weights"], int(z["eos"]), z["principal"]),
                            CCA(z["mean_x"], z["mean_y"], z["w_x"], z["w_y"], z["correlations"]),
                            JudgeSettings(**json.loads(str(z["settings"]))))


def cached_judge(data: CUBData, settings: JudgeSettings, cache: Path) -> CorrelationJudge:
    """:func:`fit_judge`, loaded from or saved to ``cache`` (named by the data, vocabulary and settings)."""
    path = judge_path(cache, data, settings)
    if path.exists():
        return load_judge(path)
    judge = fit_judge(data, settings)
    save_judge(judge, path)
    return judge
