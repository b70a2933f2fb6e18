"""mmvae_lib.metrics.sentence_embedding: SIF-weighted averages up to the end token, the principal component
removed, FastText fitted reproducibly."""
import numpy as np

from mmvae_lib.metrics.sentence_embedding import (SentenceEmbedding, average, fit_sentence_embedding,
                                                  principal_direction, remove_component)

EOS, PAD, UNK = 2, 1, 0


def test_average_stops_at_the_first_end_token_and_counts_it():
    """e = (1/n) Σ_{t <= first <eos>} w(t) v(t): tokens after the end token are ignored; the end token (zero
    vector) counts in n; without an end token all positions count."""
    vectors = np.array([[0, 0], [0, 0], [0, 0], [1.0, 0], [0, 2.0]])
    weights = np.array([1, 1, 0, 0.5, 1.0])
    ids = np.array([[3, 4, EOS, 3, 3], [4, 4, 4, 4, 4]])
    np.testing.assert_allclose(average(ids, vectors, weights, EOS), [[0.5 / 3, 2 / 3], [0, 2.0]])


def test_removing_the_principal_component():
    """The first principal direction of points spread along one axis is that axis; removing it leaves
    what is orthogonal to it."""
    rng = np.random.default_rng(0)
    e = np.c_[rng.standard_normal(500) * 10, rng.standard_normal(500) * 0.1]
    u = principal_direction(e)
    np.testing.assert_allclose(np.abs(u), [1, 0], atol=1e-3)
    np.testing.assert_allclose(remove_component(np.array([[3.0, 4.0]]), np.array([1.0, 0])), [[0, 4.0]])


def test_fitted_embedding_is_reproducible_and_weights_frequent_words_down():
    """The same seed gives identical vectors (one FastText worker); SIF gives a frequent word a smaller weight
    than a rare one; special ids have zero vectors; the result has the principal direction removed."""
    rng = np.random.default_rng(1)
    colours, parts = ["red", "blue", "white", "black"], ["wings", "crown", "belly"]
    sentences = [["a", str(rng.choice(colours)), str(rng.choice(parts)), "."] for _ in range(400)]
    words = ("<exc>", "<pad>", "<eos>", "a", ".", *colours, *parts)
    ids = np.array([[words.index(t) for t in s] + [EOS] + [PAD] * 3 for s in sentences])
    kwargs = dict(eos=EOS, unknown=UNK, special=(UNK, PAD, EOS), seed=3, vector_size=16, epochs=2, bucket=1000,
                  min_count=1)
    first = fit_sentence_embedding(sentences, words, ids, **kwargs)
    again = fit_sentence_embedding(sentences, words, ids, **kwargs)
    assert isinstance(first, SentenceEmbedding)
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert np.all(first.vectors[[UNK, PAD, EOS]] == 0)
    assert first.weights[words.index("a")] < first.weights[words.index("red")]
    out = first(ids[:10])
    assert out.shape == (10, 16)
    np.testing.assert_allclose(out @ first.principal, 0, atol=1e-9)
