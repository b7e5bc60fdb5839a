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
details), and chosen by a pipeline's ``explain="occlusion"``, not by default.

May import :mod:`nlp.text`, :mod:`nlp.classify.reasons` and :mod:`nlp.classify.words` (whose
candidate words it tries); the classifier only through the scoring function it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logit

from nlp.classify.reasons import placed
from nlp.classify.words import candidates, choose_apart
from nlp.text import TextAnalysis, default_segmenter

# Texts -> the head's probability for each (the caller's model, one batch).
Scorer = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Occlusion:
    """How the words a reason quotes are found by occlusion (a pipeline's ``explain="occlusion"``),
    and for which labels.

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


def without(text: str, word: str) -> str:
    """``text`` with the first occurrence of ``word`` left out."""
    return text.replace(word, "", 1)


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
    # clipped: a score of exactly 0 or 1 has no finite log-odds
    logits = logit(np.clip(np.asarray(score(batch), dtype=np.float64), 1e-6, 1 - 1e-6)) if batch else np.zeros(0)
    out: list[list[tuple[str, int]]] = []
    at = 0
    for analysis, tried in zip(analyses, words, strict=True):
        base, variants = logits[at], logits[at + 1 : at + 1 + len(tried)]
        at += 1 + len(tried)
        drops = (base - variants).tolist()
        out.append(placed(analysis, choose_apart(analysis.deobfuscated, tried, drops, rule.k, rule.min_drop)))
    return out
