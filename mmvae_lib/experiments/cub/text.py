"""Captions as the sentence model sees them: tokens, a vocabulary from the training captions, and fixed-length
id sequences (MMVAE paper §4.3; the settings of the released code, iffsid/mmvae ``src/datasets.py``, ``CUBSentences``).

- **Tokens.** One caption per line. :func:`tokenize` lowercases it and splits it into words (letters and
  digits, with inner hyphens or apostrophes), the English clitics ``'s n't 're 've 'll 'd 'm`` as tokens of
  their own, and every other non-space character (``. , ( ) ;`` ...) as a token, so the closing "." of a caption
  is a token, as in the official pipeline (nltk's Punkt sentence splitter, then the Treebank word tokenizer).
  Differences from it, deliberate: we split on lines, not with Punkt (on CUB's captions Punkt finds exactly
  one sentence per line, so this changes nothing there); we lowercase (the official code does not, and 5 test
  captions out of 29,330 hold capitals); a "." inside a word ("beak.and") is split off, where Treebank keeps
  it.
- **Vocabulary.** Built from the training captions only: the special tokens ``<exc>`` = 0 (out of
  vocabulary), ``<pad>`` = 1, ``<eos>`` = 2, then every word seen **more than** ``min_count`` = 3 times, in
  order of first appearance (the official order and rule: ≈1,590 entries on real CUB).
- **Sequences.** The first ``max_length − 1`` = 31 tokens, then ``<eos>``, then ``<pad>`` up to 32.

Where this differs from the released code's model (and why): padding is **not** scored by the caption
likelihood (``Likelihood("categorical", ignore_index=PAD)``), while the OOV token ``<exc>`` **is**. The
official likelihood ignores index 0, which is ``<exc>``, not ``<pad>``: it scores the padding (the model
spends capacity predicting up to 31 ``<pad>`` per caption) and lets unknown words cost nothing. The
vocabulary is returned in memory and saved beside the data cache, so there is no file to look for at a
second path (the official code writes ``cub.vocab`` under ``oc:3_msl:32/`` and reads it from
``oc:3_sl:32_s:300_w:3/``).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

EXC, PAD, EOS = 0, 1, 2                       # ids of the special tokens
SPECIALS = ("<exc>", "<pad>", "<eos>")
MAX_LENGTH = 32                               # 31 tokens + <eos>, padded to 32
MIN_COUNT = 3                                 # a word enters the vocabulary if seen more than 3 times

_WORD_OR_MARK = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[^\sa-z0-9]")   # a word, or one other character
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")                # split off as Treebank does


def tokenize(caption: str) -> list[str]:
    """The tokens of one caption, lowercased: ``"This bird's beak.and wings"`` →
    ``["this", "bird", "'s", "beak", ".", "and", "wings"]``."""
    if not isinstance(caption, str):
        raise ValueError(f"caption must be a string, got {type(caption).__name__}")
    tokens = []
    for chunk in _WORD_OR_MARK.findall(caption.lower()):
        clitic = _CLITIC.match(chunk)
        tokens.extend(clitic.groups() if clitic else (chunk,))
    return tokens


@dataclass(frozen=True)
class Vocabulary:
    """Words by id: ``words[0:3]`` are the special tokens, then the training words kept."""

    words: tuple[str, ...]

    def __post_init__(self):
        if tuple(self.words[:3]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with the special tokens {SPECIALS}, got {tuple(self.words[:3])}")
        if len(set(self.words)) != len(self.words):
            raise ValueError("a vocabulary holds each word once")

    @classmethod
    def from_captions(cls, sentences: Iterable[Sequence[str]], min_count: int = MIN_COUNT) -> "Vocabulary":
        """The special tokens, then every word seen more than ``min_count`` times in ``sentences`` (lists of
        tokens: the *training* captions), in order of first appearance."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
            raise ValueError(f"min_count must be an integer >= 0, got {min_count!r}")
        counts = Counter()
        for tokens in sentences:
            counts.update(tokens)
        kept = [w for w, c in counts.items() if c > min_count and w not in SPECIALS]   # Counter keeps first-seen order
        return cls(SPECIALS + tuple(kept))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, sentences: Sequence[Sequence[str]], max_length: int = MAX_LENGTH) -> Tensor:
        """Token lists → ids ``(N, max_length)`` (int64): the first ``max_length − 1`` tokens (unknown words →
        ``<exc>``), ``<eos>``, then ``<pad>``."""
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2 (a token and <eos>), got {max_length}")
        index = self.index
        rows = []
        for tokens in sentences:
            ids = [index.get(t, EXC) for t in tokens[:max_length - 1]] + [EOS]
            rows.append(ids + [PAD] * (max_length - len(ids)))
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), max_length)

    def decode(self, ids: Tensor) -> list[str]:
        """Id sequences ``(N, L)`` → text, each cut at its first ``<eos>`` (as generated captions are read);
        ``<pad>`` is dropped and ``<exc>`` shown as such."""
        ids = torch.as_tensor(ids)
        if ids.dim() == 1:
            ids = ids[None]
        texts = []
        for row in ids.tolist():
            words = []
            for i in row:
                if i == EOS:
                    break
                if i != PAD:
                    words.append(self.words[i])
            texts.append(" ".join(words))
        return texts


def lengths(ids: Tensor) -> Tensor:
    """Tokens per sequence ``(N,)`` counting the ``<eos>`` (the official ``length``): the position of the first
    ``<eos>`` plus one, or the full length where there is none."""
    is_eos = ids == EOS
    first = torch.where(is_eos.any(1), is_eos.float().argmax(1), torch.full((ids.shape[0],), ids.shape[1] - 1))
    return first + 1


# Real CUB's captions as the released code reads them (Reed et al.'s captions in the released cub.zip),
# tokenised with nltk 3.10's Punkt and Treebank tokenisers: the 29,330 test captions (2,933 images × 10) for
# lengths and types; the vocabulary size is the one the released models hard-code (training captions).
REAL_CUB_CAPTIONS = {
    "captions (test)": 29_330, "tokens per caption, mean": 17.05, "words per caption, mean": 15.17,
    "tokens per caption, median": 16, "tokens per caption, max": 72, "captions longer than 31 tokens (%)": 2.2,
    "vocabulary (training, count > 3, with specials)": 1_590, "token types (test)": 2_392,
    "token types seen more than 3 times (test)": 993,
}


def caption_statistics(train: Sequence[Sequence[str]], test: Sequence[Sequence[str]], vocabulary: Vocabulary,
                       max_length: int = MAX_LENGTH) -> dict[str, float]:
    """What :data:`REAL_CUB_CAPTIONS` measures, for token lists ``train`` and ``test`` (a word is a token with
    a letter or digit), and the share of test tokens outside the vocabulary."""
    lengths_ = torch.tensor([len(s) for s in test], dtype=torch.float64)
    words = torch.tensor([sum(any(ch.isalnum() for ch in t) for t in s) for s in test], dtype=torch.float64)
    counts = Counter(t for s in test for t in s)
    index = vocabulary.index
    unknown = sum(c for t, c in counts.items() if t not in index)
    return {
        "captions (test)": len(test), "tokens per caption, mean": round(lengths_.mean().item(), 2),
        "words per caption, mean": round(words.mean().item(), 2),
        "tokens per caption, median": int(lengths_.median().item()), "tokens per caption, max": int(lengths_.max().item()),
        "captions longer than 31 tokens (%)": round(100 * (lengths_ > max_length - 1).double().mean().item(), 1),
        "vocabulary (training, count > 3, with specials)": len(vocabulary), "token types (test)": len(counts),
        "token types seen more than 3 times (test)": sum(c > MIN_COUNT for c in counts.values()),
        "test tokens outside the vocabulary (%)": round(100 * unknown / sum(counts.values()), 2),
    }
