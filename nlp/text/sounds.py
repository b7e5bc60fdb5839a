"""How a text sounds: each Chinese character replaced by one stand-in per toneless syllable.

Chat writes words with homophones, to slip past filters or for play: 沙币 / 傻逼, 薇信 / 微信, 木琴 /
母亲. A homophone shares no character n-gram with the word it stands for, so a head that learnt one
spelling is blind to the others, and no list of spellings keeps up with new ones. Their syllables
are the same: the char n-grams of the sound text (``sound_text("沙币") == sound_text("傻逼")``) give
every spelling of a word the features of the one in the training data. Letters, digits and
everything else stay as they are.

A character reads as its first reading in pypinyin's dictionary (its most common one), without
tone: a polyphone read another way is heard wrongly, but the same way every time. A syllable's
stand-in is one character of that reading, fixed in ``resources/syllables.txt``; the sound text is
only ever hashed into its own block of columns, so a stand-in meets no character of the text
itself. (Stand-ins beyond the BMP made the n-gram stage's per-batch code point table eight times
larger and the sound block a third slower to hash than the text's own.)
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

_SYLLABLES = Path(__file__).parent / "resources" / "syllables.txt"


def _toneless(reading: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", reading) if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _stand_ins() -> dict[str, str]:
    """Syllable -> the character that stands for it, as resources/syllables.txt fixes it."""
    stand_ins: dict[str, str] = {}
    for line in _SYLLABLES.read_text("utf-8").splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#"):
            stand_ins[fields[0]] = fields[1]
    return stand_ins


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """Code point -> its syllable's stand-in, for every character pypinyin knows (~42k); one whose
    syllable is not listed stays itself."""
    from pypinyin.pinyin_dict import pinyin_dict  # ~0.3 s: only when a model reads sounds

    stand_ins = _stand_ins()
    table: dict[int, str] = {}
    for point, readings in pinyin_dict.items():
        stand_in = stand_ins.get(_toneless(readings.split(",", 1)[0]))
        if stand_in is not None:
            table[point] = stand_in
    return table


def sound_text(text: str) -> str:
    """``text`` with each character pypinyin knows replaced by its syllable's stand-in."""
    return text.translate(_table())


def syllable_count() -> int:
    """How many distinct toneless syllables the stand-ins cover (for tests and docs)."""
    return len(set(_table().values()))
