"""Which words a flagged message's score rests on, found by leaving each one out (occlusion).

The negativity head decides mostly through its MLP over the sentence embedding and through many
small n-gram weights, so the heaviest n-grams of a message are often not what made it hostile:
``说的就是你，天天在群里捧臭脚`` quoted ``就是`` and ``天天``, ``你算老几，轮得到你说话？`` quoted
``说话``. An admin wants the word to point at. So for each content word of the message (jieba, the
project's stopwords left out) and each pair of adjacent content words (``人/肉``, ``穷/逼``), the
message is scored again without it; the words whose removal lowers the head's log-odds most are
the evidence (``臭脚``, ``老几``). The log-odds, not the probability: a message the head is sure of
(0.99) barely moves in probability whatever is removed.

On the team's dev messages with marked evidence (``data/labelled/negativity_evidence_dev.jsonl``,
``scripts/evaluate_reasons.py``) the first quoted term named the evidence in about half of the
flagged messages by weights and in about nine of ten by occlusion (full model; encoder-free about
half -> four in five; docs/eval-reasons.md has the current numbers). The cost is one
more scoring per candidate word of each flagged text (cached per text by the pipeline), so it is
kept to the labels where weights explain badly (negativity; an ad's reasons are mostly its contact
details).

May import :mod:`nlp.text` and :mod:`nlp.classify.reasons`; the classifier only through the
scoring function it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nlp.classify.reasons import overlaps, placed
from nlp.text import Segmenter, TextAnalysis, default_segmenter

# Texts -> the head's probability for each (the caller's model, one batch).
Scorer = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Occlusion:
    """How reasons are found by occlusion, and for which labels.

    ``min_drop``: the least fall in log-odds that makes a word evidence (0.25: the odds fall by a
    fifth; chosen on the dev evidence, where 0 to 0.25 gave the same first terms and 0.25 the
    fewest wrong second ones); a message where no word reaches it gets the "no single word" reason.
    ``max_candidates``: words tried per message, single words first in text order, then pairs
    (a long rant costs no more than a short one; chat messages rarely have more)."""

    labels: tuple[str, ...] = ("negativity",)
    min_drop: float = 0.25
    max_candidates: int = 16
    k: int = 2


DEFAULT_OCCLUSION = Occlusion()
EXPLAIN_CHOICES = ("weights", "occlusion")


def explain_setting(explain: str) -> Occlusion | None:
    """A pipeline's ``occlusion`` from the name the CLI and the server take: ``weights`` (None: the
    heads' heaviest n-grams) or ``occlusion``."""
    if explain not in EXPLAIN_CHOICES:
        raise ValueError(f"explain {explain!r}: choose {' or '.join(EXPLAIN_CHOICES)}")
    return DEFAULT_OCCLUSION if explain == "occlusion" else None


def candidates(text: str, segmenter: Segmenter | None = None, most: int = 16) -> list[str]:
    """Content words of ``text`` (no stopword, no punctuation), then adjacent pairs of them, distinct,
    at most ``most``."""
    segmenter = segmenter or default_segmenter()
    tokens = segmenter.cut(text)
    content = [tok not in segmenter.stopwords and any(ch.isalnum() for ch in tok) for tok in tokens]
    words = [tok for tok, keep in zip(tokens, content, strict=True) if keep]
    pairs = [a + b for a, b, ka, kb in zip(tokens, tokens[1:], content, content[1:], strict=False) if ka and kb]
    return list(dict.fromkeys(words + pairs))[:most]


def without(text: str, word: str) -> str:
    """``text`` with the first occurrence of ``word`` left out."""
    return text.replace(word, "", 1)


def _log_odds(proba: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def choose(words: Sequence[str], drops: np.ndarray, k: int = 2, min_drop: float = 0.25) -> list[str]:
    """Up to ``k`` words by the fall their removal causes, largest first (ties in the given order),
    none inside another, each falling by at least ``min_drop``."""
    chosen: list[str] = []
    for i in np.argsort(-np.asarray(drops), kind="stable").tolist():
        if drops[i] < min_drop or len(chosen) == k:
            break
        if not overlaps(words[i], chosen):
            chosen.append(words[i])
    return chosen


def occlusion_terms(
    analyses: Sequence[TextAnalysis], score: Scorer, rule: Occlusion = DEFAULT_OCCLUSION
) -> list[list[tuple[str, int]]]:
    """For each analysed text, its evidence words with 1-based positions in the text as sent (as
    :func:`~nlp.classify.reasons.top_terms` gives them), from one call of ``score`` over every
    text and every variant of the batch. Texts are read in their de-obfuscated form, the form the
    heads' n-grams and the weight-based terms come from."""
    segmenter = default_segmenter()
    texts = [a.deobfuscated for a in analyses]
    words = [candidates(text, segmenter, rule.max_candidates) for text in texts]
    batch: list[str] = []
    for text, tried in zip(texts, words, strict=True):
        batch.append(text)
        batch += [without(text, word) for word in tried]
    logits = _log_odds(score(batch)) if batch else np.zeros(0)
    out: list[list[tuple[str, int]]] = []
    at = 0
    for analysis, tried in zip(analyses, words, strict=True):
        base, variants = logits[at], logits[at + 1 : at + 1 + len(tried)]
        at += 1 + len(tried)
        out.append(placed(analysis, choose(tried, base - variants, rule.k, rule.min_drop)))
    return out
