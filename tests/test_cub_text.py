"""mmvae_lib.experiments.cub.text: tokens, the training-only vocabulary, fixed-length id sequences."""
import pytest
import torch

from mmvae_lib.experiments.cub.text import (EOS, EXC, MAX_LENGTH, PAD, SPECIALS, Vocabulary, caption_statistics,
                                            lengths, tokenize)


def test_tokenize_splits_words_punctuation_and_clitics():
    """Lowercase words (inner hyphens kept), every other mark a token, Treebank's clitics split off."""
    assert tokenize("This bird's wings are BLACK-and-white, short.") == \
        ["this", "bird", "'s", "wings", "are", "black-and-white", ",", "short", "."]
    assert tokenize("it doesn't have a crest (really).") == ["it", "does", "n't", "have", "a", "crest", "(", "really", ")", "."]
    assert tokenize("beak.and  wings") == ["beak", ".", "and", "wings"]
    assert tokenize("") == []
    with pytest.raises(ValueError, match="caption must be a string"):
        tokenize(None)


def test_vocabulary_keeps_words_seen_more_than_three_times_in_first_seen_order():
    """Specials first (<exc>=0, <pad>=1, <eos>=2), then words with count > 3 (not >= 3) in order of first
    appearance; only the sentences given (the training captions) count."""
    sentences = [["b", "a"]] * 4 + [["c"]] * 3 + [["a", "d"]] * 5
    vocabulary = Vocabulary.from_captions(sentences)
    assert vocabulary.words == SPECIALS + ("b", "a", "d")
    assert (EXC, PAD, EOS) == (0, 1, 2)
    assert Vocabulary.from_captions(sentences, min_count=2).words == SPECIALS + ("b", "a", "c", "d")


def test_encode_truncates_to_31_tokens_then_end_then_padding():
    """A caption becomes its first 31 ids (unknown words → <exc>), <eos>, then <pad> up to 32."""
    vocabulary = Vocabulary(SPECIALS + ("red", "bird", "."))
    ids = vocabulary.encode([["red", "bird", "zebra", "."], ["bird"] * 40])
    assert ids.shape == (2, MAX_LENGTH) and ids.dtype == torch.long
    assert ids[0].tolist() == [3, 4, EXC, 5, EOS] + [PAD] * 27
    assert ids[1, :31].tolist() == [4] * 31 and ids[1, 31] == EOS
    assert lengths(ids).tolist() == [5, 32]
    assert vocabulary.decode(ids)[0] == "red bird <exc> ."


def test_decode_cuts_at_the_first_end_token():
    """Generated ids are read up to their first <eos>; padding is dropped; no <eos>: all 32 positions."""
    vocabulary = Vocabulary(SPECIALS + ("a", "b"))
    ids = torch.tensor([[3, PAD, 4, EOS, 3, 3], [4, 4, 4, 4, 4, 4]])
    assert vocabulary.decode(ids) == ["a b", "b b b b b b"]
    assert lengths(ids).tolist() == [4, 6]


def test_bad_vocabularies_are_refused():
    """A vocabulary must start with the specials and hold each word once; encode needs room for <eos>."""
    with pytest.raises(ValueError, match="starts with the special tokens"):
        Vocabulary(("a", "b", "c"))
    with pytest.raises(ValueError, match="each word once"):
        Vocabulary(SPECIALS + ("a", "a"))
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.from_captions([["a"]], min_count=-1)
    with pytest.raises(ValueError, match="max_length"):
        Vocabulary(SPECIALS).encode([["a"]], max_length=1)


def test_caption_statistics():
    """Lengths count tokens (and words: tokens with a letter or digit); the unknown share counts test tokens."""
    vocabulary = Vocabulary(SPECIALS + ("a", "."))
    stats = caption_statistics([["a"]], [["a", "b", "."], ["a", "."]], vocabulary)
    assert stats["tokens per caption, mean"] == 2.5 and stats["words per caption, mean"] == 1.5
    assert stats["test tokens outside the vocabulary (%)"] == 20.0
    assert stats["token types (test)"] == 3 and stats["vocabulary (training, count > 3, with specials)"] == 5
