"""Undo the tricks advertisers use to slip contact details past keyword filters.

Runs on the *normalised* text (lower case, ASCII digits) and returns a view meant for ad detection
only: ``加薇❤: abc_123`` -> ``加微信: abc_123``, ``扣扣 一二三四五六七八`` -> ``qq 12345678``,
``1 3 8-0000-1111`` -> ``13800001111``. It is deliberately aggressive (``一二三四五`` in a counting
rhyme becomes ``12345`` too), which is harmless because only signal patterns and ad features read it;
the embedding and negativity features read the plain normalised text.

Imports only numpy, :mod:`nlp.text.aligned` and :mod:`nlp.text.code_points`.
"""

from __future__ import annotations

import re

import numpy as np

from nlp.text.aligned import AlignedText
from nlp.text.code_points import BATCHED_FROM, CodePoints, char_test

# Pictographs and symbols used as separators or decorations inside contact details.
EMOJI_CLASS = (
    "\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\U0001f000-\U0001faff"
)
_SEP_CLASS = rf"\s\-_.·•*~/|\\,、:;'\"{EMOJI_CLASS}"

_CN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0",
    "一": "1", "幺": "1", "壹": "1",
    "二": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7", "拐": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9", "勾": "9",
}  # fmt: skip
_CN_DIGIT_CLASS = "".join(k for k in _CN_DIGITS if k not in "洞拐勾")
# A run of digits written in Chinese numerals (optionally mixed with ASCII digits and separators).
# At least five digit characters and at least two Chinese ones, so 一三八 0000 1111 converts while
# 三五成群 or 一二 does not.
_CN_NUMBER_RUN = re.compile(rf"[{_CN_DIGIT_CLASS}\d](?:[{_SEP_CLASS}]{{0,2}}[{_CN_DIGIT_CLASS}\d]){{4,}}")

# Digits broken up by spaces, dashes, dots or emoji: join when the run has at least 7 digits
# (shorter runs are prices, times and dates, which must not merge into fake phone numbers).
_SPLIT_DIGITS = re.compile(rf"\d(?:[{_SEP_CLASS}]{{0,3}}\d)+")

_WECHAT_VARIANTS = [
    # explicit spellings: 微信 written with homophones, pinyin or a heart
    re.compile(
        r"(?:微|薇|威|徽|嶶|溦|(?<![a-z])[wv])[❤♥💗💕💖*·.\- ]{0,2}(?:信|芯(?!片)|x(?![a-z_])(?!\d{1,6}(?!\d)))"
    ),
    re.compile(r"wei ?xin|we ?chat"),
    re.compile(r"(?<![a-z])v[❤♥💗💕💖](?![a-z])"),
    # 加v / +v / ➕薇 / 加威 / 私v: a lone v/w or homophone after an invitation to add
    re.compile(r"(?:(?<=[加+➕十私找])|(?<=加我)|(?<=私我))[ ]?(?:v|w|薇|威|徽|嶶|溦)(?![a-z信芯])"),
    # 卫星 ("satellite") is a common stand-in for 微信 before an id
    re.compile(r"卫星(?=[^\w]{0,3}[a-z0-9][-_a-z0-9]{4,})"),
    # 薇: abc123 / 薇abc123 / v:abc123 / v abc_123 / v13800001111: a homophone or lone v before an id.
    # A bare v needs a separator before a letter-led id, so vip888888 or v2ex stay as they are.
    re.compile(r"(?:薇|徽|嶶|溦)(?=[ :]{0,2}[a-z0-9][-_a-z0-9]{4,})"),
    re.compile(r"(?<![a-z])v(?=[ :]{1,2}[a-z0-9][-_a-z0-9]{4,}|\d{5,})"),
]
_QQ_VARIANTS = [
    re.compile(r"扣扣|抠抠|蔻蔻|寇寇|企鹅|q ?q"),
    re.compile(r"(?<![a-z])q(?=[ :]{0,2}[1-9]\d{4,})"),
]
_GROUP_VARIANTS = re.compile(r"(?:裙|峮|君羊)(?=[号]?[ :]{0,2}\d{5,})")
_URL_DOT = re.compile(
    r"(?<=[a-z0-9])(?: ?(?:点|。|dot|\(\.\)|\[\.\]) ?)(?=(?:com|cn|net|org|top|xyz|vip|cc|me|io)(?![a-z]))"
)
_SEPARATORS_IN_CJK = ".·*_-~|/"
_SEP_BETWEEN_CJK = re.compile(rf"(?<=[\u4e00-\u9fff])[{re.escape(_SEPARATORS_IN_CJK)}](?=[\u4e00-\u9fff])")


# A cheap proof that the whole chain below would leave a message as it is (most messages): every
# rewrite follows a match, so text that none of them can match comes out unchanged. Two rewrites
# need more than their pattern: a digit run is joined only with 7+ digits, and a run of Chinese
# numerals converts only with 2+ Chinese digits. The patterns are searched one group at a time,
# each only where a character it cannot match without is present: one regex of all of them cost
# 9 us per message, most of de-obfuscation's time.
_SEVEN_DIGIT_RUN = re.compile(rf"\d(?:[{_SEP_CLASS}]{{0,3}}\d){{6,}}")
_DIGIT = re.compile(r"\d")
_VARIANTS = re.compile("|".join(f"(?:{q.pattern})" for q in (*_WECHAT_VARIANTS, *_QQ_VARIANTS, _GROUP_VARIANTS)))
# Every match of a variant pattern above holds one of these characters: keep in step with them.
_VARIANT_CHARS = "微薇威徽嶶溦wv卫扣抠蔻寇企q裙峮君"
_VARIANT_CHAR = re.compile(f"[{re.escape(_VARIANT_CHARS)}]")
_URL_DOT_CHARS = "点。d(["  # 点 。 dot (.) [.]
_URL_DOT_CHAR = re.compile(f"[{re.escape(_URL_DOT_CHARS)}]")
_CN_DIGIT = re.compile(f"[{_CN_DIGIT_CLASS}]")


def _enough_cn_digits(text: str) -> bool:
    return len(_CN_DIGIT.findall(text)) >= 2  # a run of Chinese numerals converts with 2+ of them


def _enough_digits(text: str) -> bool:
    return len(_DIGIT.findall(text)) >= 7  # a digit run is joined with 7+ digits


def _may_rewrite(text: str) -> bool:
    return (
        _enough_cn_digits(text)
        or _SEP_BETWEEN_CJK.search(text) is not None
        or (_VARIANT_CHAR.search(text) is not None and _VARIANTS.search(text) is not None)
        or (_URL_DOT_CHAR.search(text) is not None and _URL_DOT.search(text) is not None)
        or (_enough_digits(text) and _SEVEN_DIGIT_RUN.search(text) is not None)
    )


def _cn_number(match: re.Match[str]) -> str:
    run = match.group(0)
    if sum(ch in _CN_DIGITS for ch in run) < 2:
        return run
    return "".join(_CN_DIGITS.get(ch, ch) for ch in run)


# A mobile number masked in the middle (138***5678 after normalisation squeezed ``****``; our own
# redaction writes 138******11): the stars are the mask, not separators to join across. The phone
# signal (nlp.text.signals) matches the same shape with this pattern.
MASKED_MOBILE = r"1[3-9]\d\*{3,}(?:\d{4}|\d{2})"
_MASKED_MOBILE = re.compile(MASKED_MOBILE)


def _join_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = "".join(ch for ch in run if ch.isdigit())
    return digits if len(digits) >= 7 and _MASKED_MOBILE.fullmatch(run) is None else run


def deobfuscate_aligned(normalized: AlignedText) -> AlignedText:
    """The ad-detection view of already normalised text, still aligned to the original message."""
    return _rewrite(normalized) if _may_rewrite(normalized.text) else normalized


def deobfuscate_aligned_many(normalized: list[AlignedText]) -> list[AlignedText]:
    """:func:`deobfuscate_aligned` of each text, :func:`_may_rewrite` answered for the whole batch
    at once (:func:`_may_rewrite_many`): its searches cost ~2 µs a message, and four in five
    messages need no rewrite. A few texts (a bot's message) are checked one by one."""
    if len(normalized) < BATCHED_FROM:
        return [deobfuscate_aligned(text) for text in normalized]
    flags = _may_rewrite_many([text.text for text in normalized])
    return [_rewrite(text) if rewrite else text for text, rewrite in zip(normalized, flags, strict=True)]


# What a character can be to the pre-check, one bit each
_CN, _SEP, _CJK, _VARIANT, _URL_DOT_BIT, _DECIMAL = 1, 2, 4, 8, 16, 32
_KINDS: np.ndarray | None = None


def _kinds() -> np.ndarray:
    """The pre-check's character classes for every BMP code point, built once per process from the
    same strings the patterns are made of (and ``str.isdecimal``, which is what ``\\d`` matches)."""
    global _KINDS
    if _KINDS is None:
        kinds = np.zeros(0x10000, dtype=np.uint8)
        for chars, bit in (
            (_CN_DIGIT_CLASS, _CN),
            (_SEPARATORS_IN_CJK, _SEP),
            (_VARIANT_CHARS, _VARIANT),
            (_URL_DOT_CHARS, _URL_DOT_BIT),
        ):
            kinds[[ord(ch) for ch in chars]] |= bit
        kinds[0x4E00:0xA000] |= _CJK
        kinds[char_test(np.arange(0x10000, dtype=np.uint32), "isdecimal")] |= _DECIMAL
        _KINDS = kinds
    return _KINDS


def _may_rewrite_many(texts: list[str]) -> list[bool]:
    """:func:`_may_rewrite` of each text: its character tests (2+ Chinese numerals, 7+ digits, a
    separator between two CJK characters, a variant or URL-dot character) over the batch's code
    points in numpy; the pattern searches they guard run only where those pass."""
    batch = CodePoints(texts)
    points = batch.points
    kinds = _kinds()[np.minimum(points, 0xFFFF)]
    astral = np.flatnonzero(points > 0xFFFF)  # none of the classes but decimal digits reaches here
    kinds[astral] = np.where(char_test(points[astral], "isdecimal"), _DECIMAL, 0)

    def count(bit: int) -> np.ndarray:
        return batch.count((kinds & bit) != 0)

    between = np.zeros(len(points), dtype=bool)  # at i: CJK, separator, CJK, all in one text
    if len(points) >= 3:
        between[1:-1] = (
            ((kinds[1:-1] & _SEP) != 0) & ((kinds[:-2] & _CJK) != 0) & ((kinds[2:] & _CJK) != 0) & batch.same_text(2)
        )
    separated = batch.any(between)
    cn, digits = (count(_CN) >= 2).tolist(), (count(_DECIMAL) >= 7).tolist()
    variant, url_dot = (count(_VARIANT) > 0).tolist(), (count(_URL_DOT_BIT) > 0).tolist()
    return [
        cn[i]
        or separated[i]
        or (variant[i] and _VARIANTS.search(text) is not None)
        or (url_dot[i] and _URL_DOT.search(text) is not None)
        or (digits[i] and _SEVEN_DIGIT_RUN.search(text) is not None)
        for i, text in enumerate(texts)
    ]


def _rewrite(text: AlignedText) -> AlignedText:
    """The chain, in order; a step runs only where the text as it is by then holds what its
    patterns cannot match without (the checks of :func:`_may_rewrite`): most messages that get
    here have Chinese numerals, not contact spellings, and ten variant patterns found nothing."""
    text = text.sub(_SEP_BETWEEN_CJK, "")
    if _enough_cn_digits(text.text):
        text = text.sub(_CN_NUMBER_RUN, _cn_number)
    if _enough_digits(text.text):
        text = text.sub(_SPLIT_DIGITS, _join_digits)
    if _VARIANT_CHAR.search(text.text) is not None:  # rewriting to 微信/qq/群 adds none of the others' characters
        for pattern in _WECHAT_VARIANTS:
            text = text.sub(pattern, "微信")
        for pattern in _QQ_VARIANTS:
            text = text.sub(pattern, "qq")
        text = text.sub(_GROUP_VARIANTS, "群")
    return text.sub(_URL_DOT, ".") if _URL_DOT_CHAR.search(text.text) is not None else text
