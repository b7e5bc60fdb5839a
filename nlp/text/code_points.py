"""A batch of texts as one array of code points, for the text stage's per-character questions.

Which characters a message holds, how many digits, whether a character comes back at a step: asked
message by message, each question cost a Python call and a regex scan (~0.3-2 µs). The text stage
asks them of batches of a thousand distinct texts, and numpy answers them for the whole batch at
once over the joined code points, which are exactly what Python indexes a ``str`` by (an unpaired
surrogate a caller passed included). Every user keeps a per-text path below :data:`BATCHED_FROM`
texts, where numpy's fixed cost would be most of the work (a bot's single message).

Imports only numpy.
"""

from __future__ import annotations

import numpy as np

BATCHED_FROM = 32  # texts from which answering for the batch in numpy pays off over a plain loop


class CodePoints:
    """``points``: the texts' code points end to end; text ``i`` is ``points[starts[i]:ends[i]]``."""

    __slots__ = ("_text_of", "ends", "lengths", "points", "starts")

    def __init__(self, texts: list[str]) -> None:
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.ends = np.cumsum(self.lengths)
        self.starts = self.ends - self.lengths
        self._text_of: np.ndarray | None = None

    def count(self, flags: np.ndarray) -> np.ndarray:
        """Per text, how many of its positions are flagged (``flags``: one per code point)."""
        seen = np.zeros(len(self.points) + 1, dtype=np.int64)
        np.cumsum(flags, out=seen[1:])
        return seen[self.ends] - seen[self.starts]

    def any(self, flags: np.ndarray) -> list[bool]:
        """Per text, whether any of its positions is flagged."""
        return (self.count(flags) > 0).tolist()

    def same_text(self, step: int) -> np.ndarray:
        """For each position ``i`` below ``len(points) - step``: whether ``i`` and ``i + step`` lie in
        the same text (a pattern's neighbours must not come from the text beside it)."""
        if self._text_of is None:
            self._text_of = np.repeat(np.arange(len(self.lengths)), self.lengths)
        n = max(len(self.points) - step, 0)
        return self._text_of[:n] == self._text_of[step : step + n]


_BMP_TABLES: dict[str, np.ndarray] = {}


def char_test(points: np.ndarray, method: str) -> np.ndarray:
    """``getattr(str, method)`` (``"isalnum"``, ``"isdigit"``, ``"isdecimal"``) of each code point:
    a table for the Basic Multilingual Plane (built once per method, from this Python's own Unicode
    data), a direct call for the rare code points beyond it (CJK extension B, emoji)."""
    test = getattr(str, method)
    table = _BMP_TABLES.get(method)
    if table is None:
        table = _BMP_TABLES[method] = np.fromiter((test(chr(c)) for c in range(0x10000)), dtype=bool, count=0x10000)
    out = table[np.minimum(points, 0xFFFF).astype(np.intp)]
    astral = np.flatnonzero(points > 0xFFFF)
    if len(astral):
        out[astral] = [test(chr(c)) for c in points[astral].tolist()]
    return out
