"""Short Chinese reasons an admin can act on, for every flagged label.

A score alone does not tell a moderator what to do. Reasons name the evidence: the contact detail
that fired (``含微信号 abc_123（已还原混淆写法）``), the terms that weighed most in the head's
decision with their position in the message as sent, or, for off-topic, how far the message is from
the group's purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from nlp.classify.memo import OwnerMemo
from nlp.classify.ngrams import TermCandidates, gram_column, stable_order
from nlp.text import Signal, TextAnalysis

_CONTACT_REASON = {
    "wechat": "含微信号 {value}",
    "qq": "含QQ号 {value}",
    "qq_group": "含QQ群号 {value}",
    "phone": "含电话号码 {value}",
    "url": "含链接 {value}",
    "contact_cue": "引流话术「{text}」",
    "money": "金额诱导「{text}」",
}
_TERM_REASON = {"ad": "广告用语", "negativity": "攻击性用语", "offtopic": "闲聊用语"}

# How the terms a reason quotes are found: ``grams``, the head's heaviest char 2-3-grams (batched,
# the cheapest); ``words``, content words weighed by the n-grams they touch (:mod:`nlp.classify.words`;
# a segmentation per flagged text); ``occlusion``, for negativity the words whose removal lowers the
# score most (:mod:`nlp.classify.occlusion`; a scoring per word of each flagged text; the other
# labels take words); ``auto``, words with a sentence encoder (where segmenting the flagged texts
# cost 1-4% of the benchmark archive's time) and grams without one (where it halved the fast mode's
# speed: half of that archive is flagged).
EXPLAIN_CHOICES = ("auto", "grams", "words", "occlusion")


def explain_mode(explain: str, has_encoder: bool) -> str:
    """``explain`` (one of :data:`EXPLAIN_CHOICES`) with ``auto`` resolved for a model with or
    without a sentence encoder."""
    if explain not in EXPLAIN_CHOICES:
        raise ValueError(f"explain {explain!r}: choose one of {', '.join(EXPLAIN_CHOICES)}")
    if explain == "auto":
        return "words" if has_encoder else "grams"
    return explain


# When a flagged message offers nothing to quote (``好``, ``🌹🌹``, the first messages of a group
# with no stated purpose): what the judgement rests on, so an admin is never shown a bare label.
_SHORT = 4
_NO_EVIDENCE_SHORT = {"offtopic": "内容过短，无实质信息"}
_NO_EVIDENCE = {
    "ad": "整体像广告（无单一关键词，请人工确认）",
    "negativity": "整体语气带攻击性（无单一关键词，请人工确认）",
    "offtopic": "整体像闲聊（无单一关键词，请人工确认）",
}


def _group_name(purpose: str, most: int = 12) -> str:
    """What a purpose calls the group: its head before a colon (``PPT设计学习群：排版…`` -> ``PPT设计学习群``)."""
    head = re.split(r"[：:，,（(]", purpose, maxsplit=1)[0].strip()
    return head if len(head) <= most else head[:most] + "…"


def _signal_reason(signal: Signal) -> str:
    reason = _CONTACT_REASON[signal.kind].format(value=signal.value, text=signal.text)
    return reason + ("（已还原混淆写法）" if signal.obfuscated else "")


_ALNUM_RUN = re.compile(r"[^\W_]{2,}")  # \w without "_" is exactly str.isalnum


def _words() -> Mapping[str, int]:
    """jieba's dictionary (loaded once per process, on the first flagged message)."""
    from nlp.text.segment import default_segmenter

    return default_segmenter().word_frequencies()


def _straddled(text: str, cut: int, words: Mapping[str, int], windows: dict[str, bool]) -> bool:
    """Whether a dictionary word of 2-3 characters straddles position ``cut``: a gram that begins or
    ends there cuts it (``午吃`` in ``中午吃啥``, ``人都`` in ``男人都这样``). The heads weigh character
    grams, and the heaviest often cross words; an admin reading ``攻击性用语「人逼」`` learns nothing.
    Three dictionary lookups instead of segmenting every flagged message; the answer depends only on
    the two characters either side, so ``windows`` (from ``_WINDOWS``) keeps it per 4-character
    window across messages: jieba's dictionary holds half a million entries, and three lookups in
    it that miss the CPU's caches cost ~1 µs, where chat repeats its windows."""
    if not 0 < cut < len(text):
        return False
    # a NUL before the text stands for "no character": no dictionary word holds one
    window = text[cut - 2 : cut + 2] if cut > 1 else "\x00" + text[: cut + 2]
    inside = windows.get(window)
    if inside is None:
        get = words.get
        inside = get(window[1:3], 0) > 0 or get(window[0:3], 0) > 0 or get(window[1:4], 0) > 0
        windows[window] = inside
    return inside


# Window -> whether a dictionary word straddles its middle (:func:`_straddled`), per dictionary.
_WINDOWS: OwnerMemo[bool] = OwnerMemo(most=100_000)


def _choose(
    grams: Iterable[tuple[str, int, int]], text: str, k: int, words: Mapping[str, int] | None = None
) -> list[str]:
    """Up to ``k`` grams ``(gram, start, end)``, given heaviest first, none inside another, keeping
    to those that do not cut a word (``words``: jieba's dictionary, see :func:`_straddled`); only
    when every one of them does, the heaviest as before. Lazy: most messages have their ``k``
    after a few candidates."""
    words = _words() if words is None else words
    windows = _WINDOWS.answers_for(words)
    chosen: list[str] = []
    cutting: list[str] = []
    for gram, start, end in grams:
        if _overlaps(gram, chosen):
            continue
        if _straddled(text, start, words, windows) or _straddled(text, end, words, windows):
            if len(cutting) < k:
                cutting.append(gram)
            continue
        chosen.append(gram)
        if len(chosen) == k:
            break
    if chosen:
        return chosen
    out: list[str] = []
    for gram in cutting:
        if not _overlaps(gram, out):
            out.append(gram)
    return out


def _overlaps(gram: str, chosen: list[str]) -> bool:
    """Whether ``gram`` lies inside a chosen one or holds one (a reason quotes each piece once)."""
    return any(gram in other or other in gram for other in chosen)


def top_terms(analysis: TextAnalysis, weights: np.ndarray, k: int = 2) -> list[tuple[str, int]]:
    """The ``k`` char 2-3-grams of the message with the largest positive head weight, each with its
    1-based position in the message as sent (0 when only the normalised form contains it). Found
    from the text itself; a batch's texts go through :func:`top_terms_of_batch`."""
    runs = _ALNUM_RUN.findall(analysis.deobfuscated)  # no punctuation or spaces inside a quoted term
    # candidates in first-occurrence order (bigrams, then trigrams), which breaks ties in weight
    grams = list(dict.fromkeys([run[i : i + n] for n in (2, 3) for run in runs for i in range(len(run) - n + 1)]))
    if not grams:
        return []
    gram_weights = weights[np.fromiter(map(gram_column, grams), dtype=np.int64, count=len(grams))]
    positive = np.flatnonzero(gram_weights > 0)
    text = analysis.deobfuscated
    order = positive[np.argsort(-gram_weights[positive], kind="stable")].tolist()
    return placed(analysis, _choose(_spans(text, (grams[i] for i in order)), text, k))


def _spans(text: str, grams: Iterable[str]) -> Iterator[tuple[str, int, int]]:
    """Each gram with the span of its first occurrence in ``text``."""
    for gram in grams:
        start = text.find(gram)
        yield gram, start, start + len(gram)


def weight_ranks(weights: np.ndarray) -> np.ndarray:
    """Each column's place among a head's n-gram weights, heaviest first, equal weights alike: what
    :func:`top_terms_of_batch` sorts by, computed once per head (a sort of 131k weights)."""
    return np.unique(-weights, return_inverse=True)[1]


def top_terms_of_batch(
    analyses: Sequence[TextAnalysis],
    weights: np.ndarray,
    candidates: TermCandidates,
    texts: Sequence[int],
    k: int = 2,
    *,
    ranks: np.ndarray,
) -> list[list[tuple[str, int]]]:
    """:func:`top_terms` of many texts of one batch at once (the same terms, in the same order):
    ``texts`` are their rows in ``candidates`` and ``analyses``. An archive flags thousands of
    messages; ranking each one's grams with its own numpy calls cost more than scoring it. Here
    sorting once for the batch ranks all of them (by text, then weight, then first occurrence)
    and only the walk past overlapping grams is per text. ``ranks``: :func:`weight_ranks` of
    ``weights``, which the caller keeps (a sort of the whole weight vector)."""
    found: dict[int, list[tuple[str, int]]] = {t: [] for t in texts}
    exact = []
    for t, is_exact in zip(found, candidates.exact[list(found)].tolist(), strict=True):
        if is_exact:
            exact.append(t)
        else:  # positions would not match: from the text itself
            found[t] = top_terms(analyses[t], weights, k)
    rows = np.asarray(exact, dtype=np.intp)
    first, sizes = candidates.indptr[rows], candidates.indptr[rows + 1] - candidates.indptr[rows]
    owner = np.repeat(np.arange(len(exact)), sizes)  # per candidate: which of ``exact`` it belongs to
    # ... and its index in ``candidates``: its text's first candidate plus its place among them
    entry = np.repeat(first - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
    positive = weights[candidates.columns[entry]] > 0
    owner, entry = owner[positive], entry[positive]
    # by text, then weight, then first occurrence: candidates come by text and occurrence, so one
    # stable (radix) sort by text and weight rank
    order = stable_order(owner * (len(weights) + 1) + ranks[candidates.columns[entry]])
    owner, entry = owner[order], entry[order]
    if not len(owner):
        return [found[t] for t in texts]
    bounds = [*np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]).tolist(), len(owner)]  # one run per text
    gram_starts = candidates.starts[entry]
    gram_ends = (gram_starts + candidates.sizes[entry]).tolist()
    gram_starts = gram_starts.tolist()
    words = _words()
    for g, who in enumerate(owner[bounds[:-1]].tolist()):
        text = analyses[exact[who]].deobfuscated
        ranked = (
            (text[gram_starts[e] : gram_ends[e]], gram_starts[e], gram_ends[e]) for e in range(bounds[g], bounds[g + 1])
        )
        found[exact[who]] = placed(analyses[exact[who]], _choose(ranked, text, k, words))
    return [found[t] for t in texts]


def placed(analysis: TextAnalysis, grams: list[str]) -> list[tuple[str, int]]:
    """Each term with its 1-based position in the message as sent (0 when only the normalised or
    de-obfuscated form holds it)."""
    return [(gram, analysis.raw.find(gram) + 1) for gram in grams]


def placed_in(terms: list[tuple[str, int]], whole: str, part: str) -> list[tuple[str, int]]:
    """Terms found in ``part``, the end of ``whole`` after its preamble (:mod:`nlp.text.preamble`:
    the rest of the text, stripped), with positions counted in ``whole`` as an admin reads it."""
    offset = len(whole.rstrip()) - len(part)
    return [(gram, position + offset if position > 0 else position) for gram, position in terms]


def reasons_for(
    label: str,
    analysis: TextAnalysis,
    weights: np.ndarray,
    relatedness: np.ndarray | None = None,
    terms: list[tuple[str, int]] | None = None,
    purpose: str = "",
) -> list[str]:
    """Reasons for one flagged label. ``terms`` are what the caller found to quote (see
    :data:`EXPLAIN_CHOICES`), cached (they depend only on the text and the label: a forwarded ad
    needs them once); without them, :func:`top_terms`;
    ``purpose`` is the group's stated purpose, named in an off-topic reason."""
    reasons: list[str] = []
    if label == "ad":
        reasons += [_signal_reason(s) for s in analysis.signals if s.kind in _CONTACT_REASON]
    if label == "offtopic" and relatedness is not None:
        if relatedness[2] > 0:
            name = f"「{_group_name(purpose)}」" if purpose else ""
            reasons.append(f"与群主题{name}关系不大（相似度 {max(relatedness[0], relatedness[1]):.2f}）")
        elif relatedness[4] > 0:
            reasons.append(f"与本群近期话题关系不大（相似度 {relatedness[3]:.2f}）")
    for gram, position in top_terms(analysis, weights) if terms is None else terms:
        where = f"，第{position}字" if position > 0 else ""
        reasons.append(f"{_TERM_REASON[label]}「{gram}」{where}")
    if not reasons:  # no signal, no quotable term, no group to compare with: say so, never nothing
        short = len(analysis.normalized) <= _SHORT
        reasons.append(_NO_EVIDENCE_SHORT[label] if short and label in _NO_EVIDENCE_SHORT else _NO_EVIDENCE[label])
    return reasons[:4]
