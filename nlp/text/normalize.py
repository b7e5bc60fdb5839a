"""Canonical form of a chat message: what every model and every keyword list sees.

Chat text arrives in full-width digits, traditional characters, upper-case ``VX``, zero-width joiners
and ``哈哈哈哈哈哈哈``. One canonical form keeps the encoder's vocabulary hits high (m3e's vocabulary
is lower-case; ``VX`` is ``[UNK]``) and lets features and lexicons be written once. Steps, in order:

1. drop zero-width and invisible format characters, emoji variation selectors and keycap marks
   (and unpaired surrogates, which are not characters at all);
2. NFKC (full/half width, circled digits ①->1, compatibility ideographs) and case folding;
   dingbat digits (❶ ➀ ➊), which NFKC leaves alone, become ASCII digits too;
3. traditional -> simplified Chinese (OpenCC ``t2s``); then WeChat's emoji names (``[强]``,
   ``[捂脸]``) and QQ's (``/强``, ``/玫瑰``) become the Unicode emoji they stand for
   (:mod:`nlp.text.emoji_codes`);
4. whitespace: runs collapse to one space, spaces between two CJK characters are removed
   (``加 微 信`` -> ``加微信``), ends stripped;
5. squeeze runs of one repeated non-alphanumeric character to three (``哈哈哈哈哈`` -> ``哈哈哈``).
   Digits and letters are never squeezed: ``13800000000`` must survive.

Imports only numpy, :mod:`nlp.text.aligned`, :mod:`nlp.text.code_points`, :mod:`nlp.text.emoji_codes`
and OpenCC.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import numpy as np

from nlp.text.aligned import AlignedText
from nlp.text.code_points import BATCHED_FROM, CodePoints
from nlp.text.emoji_codes import EMOJI_CODE, QQ_FACE_CODE, to_emoji

# (and unpaired UTF-16 surrogates, half an emoji a caller's JSON cut in two: not characters, and no
# encoder or converter downstream can take them; the readers refuse them with an error)
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufe00-\ufe0f\u20e3\ud800-\udfff]"
)

_DINGBAT_DIGITS = {}
for _base in (0x2776, 0x2780, 0x278A):  # ❶..❿, ➀..➉, ➊..➓
    for _i in range(10):
        _DINGBAT_DIGITS[chr(_base + _i)] = str(_i + 1)
for _i, _cp in enumerate(range(0x24EB, 0x24F5)):  # ⓫..⓴
    _DINGBAT_DIGITS[chr(_cp)] = str(_i + 11)
_DINGBAT_DIGITS["⓿"] = "0"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WS_RUN = re.compile(r"\s+")
_ANY_SPACE = re.compile(r"\s")
_SPACED_OUT_CJK = re.compile(rf"(?<![{_CJK}])[{_CJK}](?: [{_CJK}]){{2,}}(?![{_CJK}])")
# What the two whitespace rewrites cannot change text without (a scan for these costs a third of
# the rewrite's; half of all chat messages have a space, a reply's ``3楼 `` or ``@name ``)
_OTHER_SPACE = re.compile(r"[^\S ]")
_SPACED_OUT_HINT = re.compile(rf"[{_CJK}] [{_CJK}] [{_CJK}]")
_REPEAT_RUN = re.compile(r"([^\da-z\s零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖])\1{3,}")

_opencc_lock = threading.Lock()


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified with OpenCC (phrase-aware, so 頭髮 -> 头发 and 發展 -> 发展)."""
    if text.isascii():
        return text
    converter = _t2s()
    with _opencc_lock:  # the C++ converter is not documented as thread-safe
        return converter.convert(text)


def to_simplified_many(texts: list[str]) -> list[str]:
    """:func:`to_simplified` of each text, in one OpenCC call for a batch: the per-call cost (the
    lock, the UTF-8 round trip, the binding) was two thirds of converting a chat message.

    Exact, not approximate: OpenCC's ``t2s`` cuts its input by greedy longest match against its
    dictionaries, and no dictionary key holds a line break, so a text after a ``\n`` is cut (and
    converted) just as it would be alone. Texts that hold a line break themselves are converted
    one by one."""
    out = list(texts)
    together = []
    for i, text in enumerate(texts):
        if text.isascii():
            continue
        if "\n" in text:
            out[i] = to_simplified(text)
        else:
            together.append(i)
    if together:
        converter = _t2s()
        with _opencc_lock:
            converted = converter.convert("\n".join([texts[i] for i in together])).split("\n")
        for i, text in zip(together, converted, strict=True):
            out[i] = text
    return out


@lru_cache(maxsize=65536)  # chat reuses a few thousand characters; this runs once per character
def _fold_char(ch: str) -> str:
    if ch in _DINGBAT_DIGITS:
        return _DINGBAT_DIGITS[ch]
    if ch.isascii():
        return ch.lower()
    return unicodedata.normalize("NFKC", ch).casefold()


class _FoldTable(dict):
    """``str.translate`` table for :func:`_fold_char`, filled as characters are met, so folding a
    message is one C-level pass. Characters that fold to other than exactly one character (rare:
    ligatures, invisible marks) are remembered; a message without them keeps its alignment as is."""

    def __init__(self) -> None:
        super().__init__()
        self.not_one_to_one: set[str] = set()

    def __missing__(self, ordinal: int) -> str:
        ch = chr(ordinal)
        folded = self[ordinal] = _fold_char(ch)
        if len(folded) != 1:
            self.not_one_to_one.add(ch)
        return folded


_FOLD = _FoldTable()


# Characters that NFKC and case folding treat alike alone and in any neighbourhood: no combining
# mark, nothing that decomposes to start with one or with a character that composes onto the one
# before (Hangul jamo), no dingbat digit (checked over every code point of these ranges by
# tests/test_normalize.py). Almost every chat message is made of them.
_FOLDS_ALONE = re.compile(
    "[\x00-\u02ff\u2000-\u20cf\u2100-\u24ea\u24f5-\u24fe\u2500-\u2775\u2794-\u2bff\u3000-\u3029"
    "\u3030-\u3098\u309b-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uff9d\uffe0-\uffef\U0001f000-\U0001faff]*"
)


def _fold_aligned(text: AlignedText) -> AlignedText:
    if _FOLDS_ALONE.fullmatch(text.text) and unicodedata.is_normalized("NFKC", text.text):
        # characters NFKC leaves as they are, alone and together: folding is case folding, one call
        folded = text.text.casefold()
        if folded == text.text:
            return text
        return text.replace_all(folded) if len(folded) == len(text.text) else text.map_chars(_fold_char)
    # the per-character table (where NFKC would change the text, as a full-width ，！？ makes it in
    # most Chinese messages, twice as fast as NFKC over the whole text)
    folded = text.text.translate(_FOLD)
    if folded == text.text:
        return text
    if len(folded) == len(text.text) and _FOLD.not_one_to_one.isdisjoint(text.text):
        return text.replace_all(folded)
    return text.map_chars(_fold_char)


def _simplified_aligned(text: AlignedText, converted: str) -> AlignedText:
    """``text`` with its :func:`to_simplified` conversion ``converted`` swapped in."""
    if len(converted) == len(text.text):
        return text.replace_all(converted)
    # A phrase mapping changed the length (rare for t2s): fall back to per-character conversion,
    # which always keeps alignment and is right for almost every character.
    return text.map_chars(to_simplified)


def normalize_aligned(text: str) -> AlignedText:
    """The canonical form with alignment to ``text`` (see module docstring for the steps)."""
    folded = _fold_step(text)
    return _after_simplified(_simplified_aligned(folded, to_simplified(folded.text)))


def normalize_aligned_many(texts: list[str]) -> list[AlignedText]:
    """:func:`normalize_aligned` of each text, folding (:func:`_fold_many`) and the traditional ->
    simplified step (:func:`to_simplified_many`) taken for all of them at once: the text stage's
    batches."""
    if len(texts) < BATCHED_FROM:
        folded = [_fold_step(text) for text in texts]
    else:
        folded = _fold_many([_visible(text) for text in texts])
    converted = to_simplified_many([aligned.text for aligned in folded])
    return [
        _after_simplified(_simplified_aligned(aligned, simplified))
        for aligned, simplified in zip(folded, converted, strict=True)
    ]


_NOT_ONE = np.uint32(0xFFFFFFFF)  # in the fold table: a character that folds to other than one character
_FOLD_TABLE: np.ndarray | None = None


def _fold_table() -> np.ndarray:
    """:func:`_fold_char` of every Basic Multilingual Plane character as one code point (or
    :data:`_NOT_ONE`), built once per process from this Python's Unicode data (~30 ms)."""
    global _FOLD_TABLE
    if _FOLD_TABLE is None:
        fold = _fold_char.__wrapped__  # (not the cache: it would fill with 65,536 characters)
        table = np.full(0x10000, _NOT_ONE, dtype=np.uint32)
        for point in range(0x10000):
            folded = fold(chr(point))
            if len(folded) == 1:
                table[point] = ord(folded)
        _FOLD_TABLE = table
    return _FOLD_TABLE


def _fold_many(texts: list[AlignedText]) -> list[AlignedText]:
    """:func:`_fold_aligned` of each text, looked up for the whole batch in a code-point table: the
    same per-character fold (tests/test_normalize.py holds the two to it), where a call per message
    cost ~4 µs. Texts with a character that folds to more or less than one character, or beyond
    the BMP (emoji, a few in a hundred), take :func:`_fold_aligned`."""
    batch = CodePoints([aligned.text for aligned in texts])
    points = batch.points
    mapped = _fold_table()[np.minimum(points, 0xFFFF)]
    mapped[points > 0xFFFF] = _NOT_ONE
    special = batch.any(mapped == _NOT_ONE)
    changed = batch.any(mapped != points)
    joined = np.where(mapped == _NOT_ONE, points, mapped).tobytes().decode("utf-32-le", "surrogatepass")
    starts, ends = batch.starts.tolist(), batch.ends.tolist()
    out = []
    for aligned, start, end, odd, differs in zip(texts, starts, ends, special, changed, strict=True):
        if odd:
            out.append(_fold_aligned(aligned))
        elif differs:
            out.append(aligned.replace_all(joined[start:end]))
        else:
            out.append(aligned)
    return out


# Each rewrite below runs only where its pattern can match: a ``sub`` that finds nothing still
# costs a Python call and a scan, and most messages need none of them.
def _visible(text: str) -> AlignedText:
    """Step 1."""
    aligned = AlignedText.of(text)
    return aligned.sub(_INVISIBLE, "") if _INVISIBLE.search(text) else aligned


def _fold_step(text: str) -> AlignedText:
    """Steps 1 and 2."""
    aligned = _visible(text)
    if not (aligned.text.isascii() and aligned.text.islower()):
        aligned = _fold_aligned(aligned)
    return aligned


def _after_simplified(aligned: AlignedText) -> AlignedText:
    """The rest of step 3, then steps 4 and 5."""
    if "[" in aligned.text:
        aligned = aligned.sub(EMOJI_CODE, to_emoji)
    if "/" in aligned.text:
        aligned = aligned.sub(QQ_FACE_CODE, to_emoji)
    if _ANY_SPACE.search(aligned.text):  # step 4 only rewrites whitespace
        if "  " in aligned.text or _OTHER_SPACE.search(aligned.text):  # else every run is one space already
            aligned = aligned.sub(_WS_RUN, " ")
        if _SPACED_OUT_HINT.search(aligned.text):
            aligned = aligned.sub(_SPACED_OUT_CJK, lambda m: m.group(0).replace(" ", ""))
        aligned = _strip(aligned)
    if _REPEAT_RUN.search(aligned.text):
        aligned = aligned.sub(_REPEAT_RUN, lambda m: m.group(1) * 3)
    return aligned


def normalize(text: str) -> str:
    """The canonical form of ``text`` as a plain string."""
    return normalize_aligned(text).text


def _strip(aligned: AlignedText) -> AlignedText:
    text = aligned.text
    left = len(text) - len(text.lstrip())
    right = len(text.rstrip())
    if left == 0 and right == len(text):
        return aligned
    return AlignedText(text[left:right], aligned.starts[left:right], aligned.ends[left:right])
