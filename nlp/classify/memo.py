"""A bounded memo tied to one owning object, for answers that depend only on their key and on it.

Reasons quote terms per flagged message, and chat repeats itself: the same 4-character windows
(does a dictionary word straddle this cut?) and the same grams (what does this head weigh them?)
come back message after message. Each answer is a pure function of the key and of the object it
was computed against (jieba's dictionary, one head's weight vector), so one memo per process,
shared by its threads, is safe: two threads computing the same key write the same value.
"""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class OwnerMemo(Generic[V]):
    """Key -> answer for one owner at a time: a caller passing another owner starts afresh (an
    answer against one dictionary or head says nothing about another), and a full memo is emptied
    when fetched, so it never holds much more than ``most`` keys (one caller's additions)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._owner: object | None = None
        self._answers: dict[str, V] = {}

    def answers_for(self, owner: object) -> dict[str, V]:
        if owner is not self._owner:
            self._owner, self._answers = owner, {}
        elif len(self._answers) >= self.most:
            self._answers.clear()
        return self._answers
