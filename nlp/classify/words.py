"""Words a reason may quote, and how much of a head's linear decision rests on each.

A message's heaviest char 2-3-grams are often not a word an admin would point at: the heads spread
weight over everyday grams (``就是``, ``天天``) and over pieces of two words (``得到你``),
and a one-character insult (``滚``, ``狗``, ``逼``) is no 2-3-gram at all. So the candidates here are
the message's content words (jieba, the project's stopwords and punctuation left out) and each pair
of adjacent content words (``人/肉``, ``穷/逼``), and a word's weight is what leaving it out would take
from the head's n-gram decision: the summed weight of every char 1-3-gram (letters and digits only)
that touches it. No rescoring, so it costs a segmentation per flagged text.

On the team's marked dev messages (``scripts/evaluate_reasons.py``) the first quoted term of a
flagged negativity message named the hostile words in 0.49 of them by the heaviest 2-3-grams and
0.81 by words weighed this way (full model; encoder-free 0.47 -> 0.80); 2-3-grams alone, without
the one-character grams, reached 0.66 / 0.73. For ads without a contact detail or a price, whose
reasons rest on their terms, 0.49 -> 0.70 (encoder-free 0.49 -> 0.76); for chatter, whose
heaviest grams were mostly function words (``了吗``, ``今天``), 0.09 -> 0.48 (0.09 -> 0.57). Scoring a hostile message
again without each word (:mod:`nlp.classify.occlusion`) does better on the full model's dev
messages (0.89), whose MLP the n-gram weights do not see, at the price of a scoring per word.

May import :mod:`nlp.text` and :mod:`nlp.classify.ngrams`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlp.classify.memo import OwnerMemo
from nlp.classify.ngrams import gram_column
from nlp.text import Segmenter, TextAnalysis, default_segmenter
from nlp.text.sounds import sound_text

# Labels whose reasons quote words weighed here rather than the heaviest 2-3-grams (each measured on
# marked dev messages: scripts/evaluate_reasons.py).
WORD_LABELS = ("ad", "negativity", "offtopic")


# Gram -> its weight in one head's weight vector: chat repeats its grams, and hashing each one
# (murmurhash, then a numpy lookup) was most of :func:`word_weights`.
_GRAM_WEIGHTS: OwnerMemo[float] = OwnerMemo(most=200_000)
# the same for the weights of how a gram sounds (a head that reads sounds: nlp.text.sounds)
_SOUND_WEIGHTS: OwnerMemo[float] = OwnerMemo(most=200_000)


def candidates(text: str, segmenter: Segmenter | None = None, most: int = 16) -> list[str]:
    """Content words of ``text`` (no stopword, no punctuation), then adjacent pairs of them, distinct,
    at most ``most``."""
    segmenter = segmenter or default_segmenter()
    tokens = segmenter.cut(text)
    content = [segmenter.is_content(tok) for tok in tokens]
    words = [tok for tok, keep in zip(tokens, content, strict=True) if keep]
    pairs = [a + b for a, b, ka, kb in zip(tokens, tokens[1:], content, content[1:], strict=False) if ka and kb]
    return list(dict.fromkeys(words + pairs))[:most]


def word_weights(text: str, words: Sequence[str], weights: np.ndarray, sounds: np.ndarray | None = None) -> list[float]:
    """Per word (its first occurrence in ``text``), the summed ``weights`` of the char 1-3-grams of
    letters and digits that overlap it, and with ``sounds`` (the head's weights of how grams sound)
    the weight of how each of those grams sounds: a head that reads sounds splits a word's evidence
    between the two. Plain Python: a flagged message has a few dozen grams, too few for numpy's
    per-call cost."""
    known = _GRAM_WEIGHTS.answers_for(weights)
    heard = _SOUND_WEIGHTS.answers_for(sounds) if sounds is not None else None
    length = len(text)
    alnum = [ch.isalnum() for ch in text]
    # per gram length n: running[n][j] = summed weight of the grams of length n starting before j
    running: list[list[float]] = []
    for n in (1, 2, 3):
        sums = [0.0]
        total = 0.0
        for i in range(max(length - n + 1, 0)):
            if alnum[i] and (n == 1 or (alnum[i + 1] and (n == 2 or alnum[i + 2]))):
                gram = text[i : i + n]
                weight = known.get(gram)
                if weight is None:
                    weight = known[gram] = float(weights[gram_column(gram)])
                total += weight
                if heard is not None:
                    sound = heard.get(gram)
                    if sound is None:
                        sound = heard[gram] = float(sounds[gram_column(sound_text(gram))])
                    total += sound
            sums.append(total)
        running.append(sums)
    out = []
    for word in words:
        a = text.find(word)
        weight = 0.0
        if a >= 0:
            b = a + len(word)
            for n, sums in enumerate(running, 1):
                first, last = max(a - n + 1, 0), min(b, len(sums) - 1)  # grams starting in [first, last)
                if last > first:
                    weight += sums[last] - sums[first]
        out.append(weight)
    return out


def top_words(
    analysis: TextAnalysis,
    weights: np.ndarray,
    k: int = 2,
    segmenter: Segmenter | None = None,
    sounds: np.ndarray | None = None,
) -> list[str]:
    """Up to ``k`` candidate words of the message (its de-obfuscated form, the one the n-grams come
    from) by :func:`word_weights` (``sounds``: see there), heaviest first, each weighing more than
    0, no two sharing a character (:func:`choose_apart`)."""
    text = analysis.deobfuscated
    words = candidates(text, segmenter)
    if not words:
        return []
    return choose_apart(text, words, word_weights(text, words, weights, sounds), k, minimum=1e-9)  # weighing anything


def choose_apart(text: str, words: Sequence[str], weights: Sequence[float], k: int, minimum: float) -> list[str]:
    """Up to ``k`` of ``words`` by weight, heaviest first (ties in the given order), each weighing at
    least ``minimum``, none sharing a character of ``text`` with one chosen before (their first
    occurrences): ``一帮舔`` after ``舔狗`` would quote 舔 twice."""
    chosen: list[str] = []
    taken: list[tuple[int, int]] = []
    for i in sorted(range(len(words)), key=lambda i: -weights[i]):  # sorted is stable
        if weights[i] < minimum or len(chosen) == k:
            break
        start = text.find(words[i])
        end = start + len(words[i])
        if start < 0 or any(start < b and a < end for a, b in taken):
            continue
        chosen.append(words[i])
        taken.append((start, end))
    return chosen
