"""Text that remembers where each of its characters came from.

Normalisation and de-obfuscation rewrite a message many times (width, case, 繁->简, ``薇`` -> ``微信``,
``①③⑧`` -> ``138``). An admin still needs positions in the message *as it was sent*, so every rewrite
goes through :class:`AlignedText`, which carries for each output character the source span it came
from. Imports only the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

Replacement = str | Callable[[re.Match[str]], str]


def _identity(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Starts and ends of an unchanged text of length ``n``. Tuples, so every message of a chat-like
    length shares them (building them was a tenth of normalising a chat message); long texts are
    rare and would make the shared ones big."""
    return _shared_identity(n) if n <= 256 else (tuple(range(n)), tuple(range(1, n + 1)))


@cache  # at most 257 entries, ~1 MB in all
def _shared_identity(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(range(n)), tuple(range(1, n + 1))


@dataclass(frozen=True, slots=True)
class AlignedText:
    """``text`` plus, per character, the ``[starts[i], ends[i])`` span of the original it stands for."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> AlignedText:
        return cls(text, *_identity(len(text)))

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` back to a span of the original string."""
        if not self.text:
            return (0, 0)
        if start >= end:
            pos = self.starts[start] if start < len(self.starts) else self.ends[-1]
            return (pos, pos)
        return (self.starts[start], self.ends[end - 1])

    def map_chars(self, fn: Callable[[str], str]) -> AlignedText:
        """Replace every character by ``fn(char)`` (possibly empty or several characters)."""
        reps = [fn(ch) for ch in self.text]
        new_text = "".join(reps)
        if new_text == self.text:
            return self
        if len(new_text) == len(self.text) and all(len(rep) == 1 for rep in reps):  # 1:1 (case, width)
            return AlignedText(new_text, self.starts, self.ends)
        starts: list[int] = []
        ends: list[int] = []
        for rep, s, e in zip(reps, self.starts, self.ends, strict=True):
            starts.extend([s] * len(rep))
            ends.extend([e] * len(rep))
        return AlignedText(new_text, tuple(starts), tuple(ends))

    def sub(self, pattern: re.Pattern[str], repl: Replacement) -> AlignedText:
        """``re.sub`` that keeps alignment: replacement characters span the whole matched source.

        A string ``repl`` without a backslash is used as it is (``Match.expand`` parses the template
        on every match, which was most of the cost of de-obfuscating an ad)."""
        literal = repl if isinstance(repl, str) and "\\" not in repl else None
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        changed = False
        for m in pattern.finditer(self.text):
            a, b = m.span()
            if a == b:
                continue
            rep = literal if literal is not None else repl(m) if callable(repl) else m.expand(repl)
            if rep == m.group(0):
                continue
            changed = True
            out.append(self.text[last:a])
            starts.extend(self.starts[last:a])
            ends.extend(self.ends[last:a])
            out.append(rep)
            starts.extend([self.starts[a]] * len(rep))
            ends.extend([self.ends[b - 1]] * len(rep))
            last = b
        if not changed:
            return self
        out.append(self.text[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        return AlignedText("".join(out), tuple(starts), tuple(ends))

    def replace_all(self, new_text: str) -> AlignedText:
        """Swap in a same-length rewrite (e.g. a 1:1 character conversion done in one library call)."""
        if len(new_text) != len(self.text):
            raise ValueError("replace_all needs a rewrite of the same length")
        if new_text == self.text:
            return self
        return AlignedText(new_text, self.starts, self.ends)
