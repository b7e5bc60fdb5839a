"""Feature blocks the classifier heads read, computed once per distinct text: hashed char n-grams
(:mod:`nlp.classify.ngrams`) and hand-built signal features.

Signal features turn :mod:`nlp.text` evidence into numbers (contact details, obfuscation, money
bait, second-person address, reporting cues), the part of an operator's judgement that a few
hundred examples cannot teach a linear model on their own. :func:`text_block` is the whole text
stage for a batch.

May import :mod:`nlp.text` and :mod:`nlp.classify.ngrams`; nothing above them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nlp.classify.ngrams import TermCandidates, hash_ngrams, hash_ngrams_with_terms
from nlp.text import CONTACT_KINDS, TextAnalysis, analyze_many
from nlp.text.code_points import BATCHED_FROM, CodePoints, char_test
from nlp.text.sounds import sound_text

# Cues, written by the team from moderation experience (not from any evaluation set).
_SECOND_PERSON = re.compile(r"你|您|尔|汝|你们|你妈|你家")
_REPORTING = re.compile(r"有人骂|骂我|说我|被人骂|被骂|举报|管理员管|群主管|截图了|处理一下")
_QUOTE = re.compile(r"[“\"「『].+?[”\"」』]")
# An acknowledgement is made only of agreement, thanks, praise and "noted" (``好的记下了``, ``懂了``,
# ``谢谢老师，学到了``, ``厉害厉害``), optionally to someone (a title, or a ``小X`` name), or of doing what
# was asked or trying the advice (``好的，马上去``, ``嗯嗯我今晚试试``): the forms group members answer a
# helpful reply with. Anything more (``好的，那周末去吃火锅``) is a message of its own.
_ACK_WORD = (  # a longer word before its prefix (好的 before 好): each step below is atomic
    r"收到|好的|好滴|好哒|好嘞|好吧|好|嗯|哦|噢|okay|ok|可以|行|没问题|对的|对|是的|同意|支持|有道理|"
    r"明白了?|了解了?|知道了|懂了|记下了|记住了|学到了|学习了|受教了|get了?|mark|码住|收藏了|"
    r"(?:谢谢|感谢|多谢)(?:了|分享|指点|解答|提醒|帮忙)?|谢啦|谢了|辛苦了?|\+1|1|我也是|确实|"
    # praise of the answer, saying it worked (成功了！谢谢), and doing what was asked (好的，马上去)
    r"厉害|太棒了|真棒|棒|赞|牛|666|优秀|(?:成功|解决|搞定|弄好|装好|修好)了|"
    r"(?:那我|我)?(?:马上|这就|立刻|一定|稍后)(?:去|办|处理|发|改|看看?)?|稍等"
)
_ACK_TO = r"(?:[\u4e00-\u9fff]{0,2}(?:老师|群主|管理员?|姐妹?们?|哥|大佬|亲|宝妈们?|大家|各位)|小[\u4e00-\u9fff])"
_ACK_TRY = r"(?:那|我|回头|今晚|今天|明天|晚上|马上|周末){0,3}(?:去|就)?试试(?:看)?"
# Atomic steps, as for check-ins below: ``好的大家`` is 好的 + 大家 or 好 + 的大家.
_ACK = re.compile(rf"^(?>(?:{_ACK_WORD}|{_ACK_TRY}){_ACK_TO}?[,，.。!！~、]*)+[🙏👍👌😊🌹❤]*$")
# Greetings and check-ins with no content: the 早安打卡 noise group rules call 过度闲聊.
# Each step is an atomic group, longer words first (早安 before 早): where a message can be cut into
# words more than one way (早安打卡 as one word or two, as this list once had it), a long one that
# fails at its end was tried every way, in exponential time (早安打卡 x 25 + one more character:
# seconds, x 30: minutes); a moderation tool reads text written by the people it moderates.
_GREETING = re.compile(r"^(?>早上好|早安|早|午安|晚安|晚上好|大家好|大家|打卡|签到|各位)+[!.~。！☀🌞🌙]*$")


def is_acknowledgement(normalized: str) -> bool:
    """``收到``, ``好的谢谢``, ``+1``, ``懂了``: the issue's examples of what is *not* chatter inside a discussion."""
    return bool(_ACK.match(normalized.replace(" ", "")))


def is_greeting(normalized: str) -> bool:
    """``早安打卡``, ``晚安各位``: a check-in with nothing else in it (chatter wherever it is posted)."""
    return bool(_GREETING.match(normalized.replace(" ", "")))


SIGNAL_FEATURE_NAMES = (
    "has_contact",
    "n_contacts",
    "contact_obfuscated",
    "has_wechat",
    "has_qq",
    "has_phone",
    "has_url",
    "has_contact_cue",
    "has_money",
    "n_mentions",
    "emoji_ratio",
    "has_repetition",
    "log_length",
    "digit_ratio",
    "second_person",
    "reporting_cue",
    "has_quote",
    "is_acknowledgement",
    "is_greeting",
)


def _signal_row(analysis: TextAnalysis) -> list[float]:
    """One row of :data:`SIGNAL_FEATURE_NAMES` for one message (roughly unit scale), but for the
    digit ratio, which :func:`signal_matrix` counts for the whole batch at once. Flags stay
    ``bool`` (the matrix makes them 0.0 / 1.0): a ``float()`` call per feature was a third of the row."""
    signals = analysis.signals
    kinds = {s.kind for s in signals}
    contacts = [s for s in signals if s.kind in CONTACT_KINDS]
    mentions = sum(s.kind == "mention" for s in signals) if "mention" in kinds else 0
    text = analysis.normalized
    length = max(len(text), 1)
    return [
        bool(contacts),
        min(len(contacts), 3) / 3,
        any(s.obfuscated for s in contacts),
        "wechat" in kinds,
        "qq" in kinds or "qq_group" in kinds,
        "phone" in kinds,
        "url" in kinds,
        "contact_cue" in kinds,
        "money" in kinds,
        min(mentions, 3) / 3,
        min(analysis.emoji_count / length, 1.0) if "emoji" in kinds else 0.0,
        "repetition" in kinds,
        math.log1p(length) / 5,
        0.0,  # digit_ratio: see signal_matrix
        _SECOND_PERSON.search(text) is not None,
        _REPORTING.search(text) is not None,
        _QUOTE.search(analysis.raw) is not None,
        is_acknowledgement(text),
        is_greeting(text),
    ]


def signal_matrix(analyses: list[TextAnalysis]) -> np.ndarray:
    """One row of :data:`SIGNAL_FEATURE_NAMES` per message, built as one array (an array per row
    cost as much again)."""
    rows = [_signal_row(a) for a in analyses]
    out = np.array(rows, dtype=np.float32).reshape(len(rows), len(SIGNAL_FEATURE_NAMES))
    out[:, _DIGIT_RATIO] = _digit_ratios([a.deobfuscated for a in analyses])
    return out


_DIGIT_RATIO = SIGNAL_FEATURE_NAMES.index("digit_ratio")


def _digit_ratios(texts: list[str]) -> np.ndarray:
    """Per text, the share of its characters that are digits (``str.isdigit``: ①, ², full-width
    digits too), counted over the batch's code points in numpy: counting per character in Python
    cost a quarter of a signal row. A few texts (a bot's message) are counted in Python: numpy's
    fixed cost would be most of the work."""
    if len(texts) < BATCHED_FROM:
        return np.array([sum(map(str.isdigit, text)) / max(len(text), 1) for text in texts], dtype=np.float64)
    batch = CodePoints(texts)
    return batch.count(char_test(batch.points, "isdigit")) / np.maximum(batch.lengths, 1)


@dataclass(frozen=True)
class TextBlock:
    """The text stage's output for a list of distinct texts: what the heads and reasons read
    besides vectors.

    A pure function of the texts (:func:`text_block`), small enough to pickle, so it can be
    computed in another process while this one runs the model. ``terms`` is None for a few texts
    (a bot's message), whose reasons are found from the text."""

    analyses: list[TextAnalysis]
    ngrams: sp.csr_matrix
    signals: np.ndarray
    terms: TermCandidates | None = None
    sounds: sp.csr_matrix | None = None  # char n-grams of how each text sounds, where asked for


def sound_ngrams(analyses: list[TextAnalysis]) -> sp.csr_matrix:
    """Char n-grams of how each text sounds (:mod:`nlp.text.sounds`), hashed as the text's own are."""
    return hash_ngrams([sound_text(a.deobfuscated) for a in analyses])


def text_block(texts: list[str], sounds: bool = False) -> TextBlock:
    """The text stage for ``texts``; ``sounds``: with :func:`sound_ngrams` (for a model whose heads
    read them)."""
    analyses = analyze_many(texts)
    deobfuscated = [a.deobfuscated for a in analyses]
    heard = sound_ngrams(analyses) if sounds else None
    if len(texts) < BATCHED_FROM:
        return TextBlock(analyses, hash_ngrams(deobfuscated), signal_matrix(analyses), sounds=heard)
    ngrams, terms = hash_ngrams_with_terms(deobfuscated)
    return TextBlock(analyses, ngrams, signal_matrix(analyses), terms, heard)
