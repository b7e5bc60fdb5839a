"""Structured evidence found in a message: contact details, links, money, mentions, emoji, repetition.

Signals feed the classifiers as features and the reasons an admin reads (``含微信号 abc_123
（已还原混淆写法）``), so each carries its span in the message *as sent* and whether it was only visible
after de-obfuscation. Contact patterns run on the de-obfuscated view; emoji on the plain
normalised text; mentions and repetition on the raw text (normalisation squeezes it away).

Imports only numpy, :mod:`nlp.text.aligned`, :mod:`nlp.text.code_points` and :mod:`nlp.text.deobfuscate`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from nlp.text.aligned import AlignedText
from nlp.text.code_points import BATCHED_FROM, CodePoints
from nlp.text.deobfuscate import EMOJI_CLASS, MASKED_MOBILE

SignalKind = Literal[
    "url", "phone", "wechat", "qq", "qq_group", "contact_cue", "money", "mention", "emoji", "repetition"
]
CONTACT_KINDS: frozenset[str] = frozenset({"url", "phone", "wechat", "qq", "qq_group"})


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence. ``start``/``end`` index the original message; ``text`` is that slice."""

    kind: SignalKind
    value: str
    start: int
    end: int
    text: str
    obfuscated: bool = False

    def __reduce__(self):
        return (Signal, (self.kind, self.value, self.start, self.end, self.text, self.obfuscated))  # see TextAnalysis

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "obfuscated": self.obfuscated,
        }


_ID_END = r"(?![-_a-z0-9])"
# Between a platform word and the id: 号/id, filler verbs, punctuation, spaces, hearts and other emoji.
_ASSIGN = r"(?:号|id)?(?:是|为|搜一搜|搜|加|[^\w]){0,5}"

# Top-level domains a bare link (typed without http://, so the app does not turn it into a link a
# platform can scan) is recognised by: the generic and Chinese ones in everyday use, and the cheap new
# ones that spam and gambling sites rotate through (top, xyz, vip, icu, cyou, sbs, ...). A short list
# rather than IANA's 1,500: `mr.bean`, `v.s` and `no.1` stay plain text.
_TLDS = (
    "com|cn|net|org|top|xyz|vip|cc|co|info|me|io|ai|app|tv|club|shop|site|link|ly|"
    "one|icu|fun|online|live|pro|store|work|ink|wang|ren|win|bet|biz|asia|cloud|life|plus|run|cyou|buzz|"
    "sbs|bond|tk|pw|so|hk|tw|xin|ltd|games|website|space|tech|host|mobi"
)

# (kind, pattern, group holding the value); run on the de-obfuscated view.
_CONTACT_PATTERNS: list[tuple[SignalKind, re.Pattern[str], int]] = [
    (
        "url",
        re.compile(
            r"(?:https?://|www\.)[^\s<>\"'，。！？、（）()]+"
            rf"|(?<![@a-z0-9_.\-])(?:[a-z0-9-]+\.)+(?:{_TLDS})"
            r"(?![a-z])(?:/[^\s<>\"'，。！？、]*)?"
        ),
        0,
    ),
    # a mobile number, also masked the way exports, screenshots and our own redaction write it:
    # 138****5678 / 138xxxx5678 (normalisation squeezes ``****`` to ``***``) and 138******11
    (
        "phone",
        re.compile(rf"(?<![\d*x])(?:\+?86)?(1[3-9]\d(?:\d{{4}}|x{{4}})\d{{4}}|{MASKED_MOBILE})(?![\d*x])"),
        1,
    ),
    ("wechat", re.compile(rf"微信{_ASSIGN}([a-z][-_a-z0-9]{{5,19}}|\d{{5,12}}){_ID_END}"), 1),
    ("wechat", re.compile(rf"(wxid_[a-z0-9]{{4,}}){_ID_END}"), 1),
    ("qq", re.compile(rf"qq{_ASSIGN}([1-9]\d{{4,11}})(?!\d)"), 1),
    ("qq_group", re.compile(rf"(?:qq)?群{_ASSIGN}([1-9]\d{{5,11}})(?!\d)"), 1),
    (
        "contact_cue",
        re.compile(
            r"(?:加|添加|\+)(?:我|一下)?(?:微信|qq|好友|群)|私(?:聊|信|我|戳|发)|扫码|扫一扫|进群|拉你进群"
            r"|点击链接|戳链接|链接在|(?:看|点|进|点我|看我)主页|主页有"
            # the terse forms of 黑产 and gambling posts: a bare 私 closing the offer (`有意私`, not
            # 自私/隐私/走私), 滴滴我 / dd我 (message me), 加我 not followed by a count (`算我一个`)
            r"|(?<![自隐无公走偏营徇藏])私(?=$|[^\w])|滴滴?我|dd我|加我(?![一两几们])"
            # an invitation to buy from the writer: 想要的联系我, 找我拿货 (not a bare 找我: 有事找我)
            r"|联系我|找我(?:拿货?|买|下单|报名|咨询|领取?|预约|订)"
        ),
        0,
    ),
    (
        "money",
        re.compile(
            r"(?:[¥$]|rmb|人民币) ?\d+(?:\.\d+)?(?:万|w|k|千)?"
            r"|\d+(?:\.\d+)? ?(?:万|w|k|千|百)?(?:元|块|rmb|美元|美金)"
            r"|(?:日|月|周|天|年)(?:入|赚|收入|结|薪|收益)(?:过|超|破|上)?"
            r" ?(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两几]+) ?(?:万|w|k|千|百|元|块)?\+?"
            r"|[一二三四五六七八九十百千万两几]+(?:元|块钱)"
            # a price per item, the way sellers write it without a unit of money: 八百一只, 199一节,
            # 30块每份 (a Chinese numeral must end in 百/千/万 or one digit after them: 五十一斤 is 51斤)
            r"|(?:\d+(?:\.\d+)?|[一二三四五六七八九十两几]*[百千万][一二三四五六七八九]?) ?(?:元|块钱?)? ?[一每]"
            r"(?:只|个|件|套|份|斤|盒|瓶|次|节|课时?|小时|晚|位|张|本|条|箱|袋)"
            # discounts and bundle offers: 七折, 3.8折, 买二送一, 满300减50, 第二件半价
            r"|(?<![\d.第])(?:\d(?:\.\d)?|[一二三四五六七八九](?:点[一二三四五六七八九])?)折(?![腾磨叠断])"
            r"|买[一二三四五\d]送[一二三\d]|满\d+减\d+|第二件半价"
        ),
        0,
    ),
]


def _contains(literal: str) -> Callable[[str], bool]:
    return lambda text: literal in text


_SIX_DIGITS = re.compile(r"[1-9]\d{5}")

# What a contact pattern cannot match without (a literal or a short pattern: far cheaper than the
# pattern's scan, and most messages have no contact details): keep in step with the patterns above.
# Each scan is (kind, needs, pattern, group), in a list: a dict keyed by the pattern would hash the
# compiled pattern's code on every lookup (0.9 µs for the money pattern; 3 µs per message in all).
_CONTACT_SCANS: list[tuple[SignalKind, Callable[[str], object], re.Pattern[str], int]] = [
    (kind, needs, pattern, group)
    for (kind, pattern, group), needs in zip(
        _CONTACT_PATTERNS,
        [
            lambda text: "." in text or "://" in text,  # url (two substring tests: a quarter of the regex's cost)
            # phone: every form is 1[3-9], a digit, then 4 digits, xxxx or a mask of 3+ stars (a bare
            # 1[3-9]\d let every third message through: 15号, 18元, 2018)
            re.compile(r"1[3-9]\d[\dx*]{3}").search,
            _contains("微信"),
            _contains("wxid_"),
            _contains("qq"),
            # qq_group: 群 and a number of 6+ digits (a bare 群 is in one message in ten)
            lambda text: "群" in text and _SIX_DIGITS.search(text) is not None,
            # contact_cue (a bare 群 or 主 is in every other message)
            re.compile(r"加|\+|私|扫|进群|链接|主页|滴|dd我|联系我|找我").search,
            # money: a currency sign or word, a unit (元 块 美元/美金), or an income word after a
            # period (日入 月赚 周结 年薪 天收入): the most expensive pattern, and most messages have none
            # of these (a bare 收 or 结 let every 收到 and 结果 in)
            # (or what a price per item, a discount or a bundle needs: 一只/每份, 折, 送, 满N, 半价)
            re.compile(
                r"¥|\$|rmb|人民币|元|块|美[元金]|[日月周天年][入赚收结薪]|折|送|满\d|半价"
                r"|[一每](?:[只个件套份斤盒瓶次节课晚位张本条箱袋]|小时)"
            ).search,
        ],
        strict=True,
    )
]
_MENTION = re.compile(r"@([^\s@,，:：!?。！？]{1,20})")
_EMOJI_RUN = re.compile(rf"[{EMOJI_CLASS}]+")
# A unit of 1-4 characters repeated: one character 4+ times, or a longer unit 3+ times.
_REPETITION = re.compile(r"(.)\1{3,}|(.{2,4}?)\2{2,}")
# What any repetition implies: a character four times in a row, or three times at a step of 2-4
# (a unit's first character): true for one message in thirty-five of the bench's archive (three in
# a row, as chat's 哈哈哈 has, let one in twelve through to the pattern above, which ran on every
# message before any pre-check).
_MAY_REPEAT = re.compile(r"(.)(?:\1\1\1|.\1.\1|..\1..\1|...\1...\1)", re.S)


def may_repeat_many(texts: list[str]) -> list[bool]:
    """Whether :data:`_MAY_REPEAT` finds anything in each text, for a batch at once: a character
    equal to the ``times - 1`` ones at each ``step`` after it (4 times at a step of 1, 3 at 2-4, all
    in the same text), compared over the batch's code points in numpy. The pattern's backtracking
    search cost ~1.3 µs a message; this, ~0.2. A few texts (a bot's message) take the pattern:
    numpy's fixed cost (~50 µs) would be most of the work."""
    if len(texts) < BATCHED_FROM:
        return [_MAY_REPEAT.search(text) is not None for text in texts]
    batch = CodePoints(texts)
    points = batch.points
    hit = np.zeros(len(points), dtype=bool)
    for step, times in ((1, 4), (2, 3), (3, 3), (4, 3)):
        span = step * (times - 1)  # from the first to the last of them
        n = len(points) - span
        if n <= 0:
            continue
        same = batch.same_text(span)
        for k in range(step, span + 1, step):
            same &= points[:n] == points[k : k + n]
        hit[:n] |= same
    return batch.any(hit)


_LAYOUT = re.compile(r"[\s\-]")


def _squash(text: str) -> str:
    """Drop spaces and hyphens: ``138-0000-1111`` is ordinary layout, not an evasion."""
    return _LAYOUT.sub("", text)


# Full-width punctuation (：，＠) as NFKC writes it; full-width letters and digits stay as they are
_FULL_WIDTH_PUNCTUATION = {
    point: unicodedata.normalize("NFKC", chr(point)) for point in range(0xFF01, 0xFF5F) if not chr(point).isalnum()
}


def _plain(raw: str) -> str:
    """How the span reads to a keyword filter that only folds case and Chinese punctuation (：，)."""
    return _squash(raw.translate(_FULL_WIDTH_PUNCTUATION).casefold())


# Characters that stand in for hidden ones (王xx, 138****5678, an archive's digits masked as x): a run
# of them is a placeholder, not a flood.
_MASK_CHARS = frozenset("xX*×＊")


def _is_layout_noise(unit: str) -> bool:
    return all(ch in _MASK_CHARS for ch in unit) or any(
        ch.isdigit() or ch.isspace() or unicodedata.category(ch)[0] in "MC" for ch in unit
    )


def _inside_phone(found: list[Signal], start: int, end: int) -> bool:
    """A phone's own digits are no flood: 零零零零 in 壹叁捌 零零零零 壹壹壹壹 (the mask of a masked
    number is caught earlier, by :data:`_MASK_CHARS`)."""
    return any(s.kind == "phone" and s.start <= start and end <= s.end for s in found)


def _span_signal(kind: SignalKind, value: str, view: AlignedText, start: int, end: int, original: str) -> Signal:
    src_start, src_end = view.source_span(start, end)
    raw = original[src_start:src_end]
    if kind == "url":  # link paths are case-sensitive (t.cn/A6xYz): report them as sent
        value = raw
    elif kind == "phone" and not value.isdigit():  # masked (138****5678): as sent; a mask is no evasion
        value = _plain(raw)
        return Signal(kind, value, src_start, src_end, raw, False)
    obfuscated = _plain(raw) != _squash(view.text[start:end])
    return Signal(kind, value, src_start, src_end, raw, obfuscated)


def extract_signals(
    original: str, normalized: AlignedText, deobfuscated: AlignedText, may_repeat: bool | None = None
) -> tuple[Signal, ...]:
    """All signals of one message, ordered by position in ``original``. ``may_repeat``: what
    :func:`may_repeat_many` said of ``original``, where a batch was checked at once."""
    found: list[Signal] = []
    seen: set[tuple[str, int, int]] = set()
    deob = deobfuscated.text
    for kind, needs, pattern, group in _CONTACT_SCANS:
        if not needs(deob):
            continue
        for m in pattern.finditer(deob):
            signal = _span_signal(kind, m.group(group), deobfuscated, m.start(), m.end(), original)
            key = (kind, signal.start, signal.end)
            if key not in seen:
                seen.add(key)
                found.append(signal)
    # raw text: QQ/WeChat end a mention with a (special) space
    for m in _MENTION.finditer(original) if "@" in original else ():
        found.append(Signal("mention", m.group(1), m.start(), m.end(), m.group(0)))
    # (a search before the iterator: one message in thirty has an emoji, and the iterator costs more)
    for m in _EMOJI_RUN.finditer(normalized.text) if _EMOJI_RUN.search(normalized.text) else ():
        found.append(_span_signal("emoji", m.group(0), normalized, m.start(), m.end(), original))
    if may_repeat is None:
        may_repeat = _MAY_REPEAT.search(original) is not None
    for m in _REPETITION.finditer(original) if may_repeat else ():
        unit = m.group(1) or m.group(2)
        if _is_layout_noise(unit) or _inside_phone(found, m.start(), m.end()):
            continue
        found.append(Signal("repetition", unit, m.start(), m.end(), m.group(0)))
    found.sort(key=lambda s: (s.start, s.end, s.kind))
    return tuple(found)
