"""Off-topic in a conversation: a reply is judged with what it answers.

Message by message, ``成功了！！！谢谢`` or ``米粒大小就行`` look like chatter (no word of the group's
purpose in them), and ``人均多少`` in a thread about a new hotpot place looks harmless. An operator
reads them in their thread. So the off-topic probability of a message that answers another one is
mixed with the (already mixed) probability of the message it answers:

* its parent is the message it quotes (``reply_to``), when the group's recent messages hold it;
* failing that, a *short* message (a few characters: ``好的好的``, ``看了看了``) answers the group's
  previous message if that came within ``gap_seconds`` (both need timestamps: an archive without
  them has no order in time to go by);
* check-ins (``早安打卡``) and acknowledgements (``收到``, ``好的谢谢``) keep their own score: the
  group rules call the first chatter wherever it is posted, and the second never is (an
  acknowledgement after a chatty message should not be flagged for it).

Short messages lean on their parent more (``short_weight`` is their own share) than contentful
replies (``reply_weight``), which keep most of their own score: a reply can change the subject.
The weights were chosen on the dev timelines of ``scripts/evaluate_threads.py``.

Per group, :class:`ThreadMemory` keeps the recent messages' mixed scores (bounded), and lives in the
group's :class:`~nlp.classify.profile.GroupProfile`, so a stream cut into batches, a resumed run
and a restarted bot all see the same parents. May import :mod:`nlp.io` only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from nlp.io import Message


@dataclass
class ThreadMemory:
    """A group's recent messages: id -> mixed off-topic probability, and the last message's time."""

    keep: int = 500  # ids: a reply quotes a recent message; each kept id is checkpointed
    scores: OrderedDict[str, float] = field(default_factory=OrderedDict)
    last_ts: datetime | None = None
    last_score: float | None = None

    def remember(self, message: Message, score: float) -> None:
        if message.id:
            self.scores[message.id] = score
            self.scores.move_to_end(message.id)
            while len(self.scores) > self.keep:
                self.scores.popitem(last=False)
        self.last_ts, self.last_score = message.ts, score


@dataclass(frozen=True)
class ThreadContext:
    """How much a reply's own off-topic probability counts against its parent's."""

    reply_weight: float = 0.6
    short_weight: float = 0.5
    short_chars: int = 8
    gap_seconds: float = 300.0

    def parent_score(self, memory: ThreadMemory, message: Message, normalized: str) -> float | None:
        """The parent's mixed probability, or None where no parent is known. The caller still drops
        it for a message that stands alone (a check-in or an acknowledgement); checked after this,
        since most messages have no parent. Cheap tests first: this runs on every message."""
        if message.reply_to and message.reply_to in memory.scores:
            return memory.scores[message.reply_to]
        if message.ts is None or memory.last_ts is None or memory.last_score is None:
            return None
        if 0 <= (message.ts - memory.last_ts).total_seconds() <= self.gap_seconds and self.is_short(normalized):
            return memory.last_score
        return None

    def mix(self, own: float, parent: float | None, normalized: str) -> float:
        if parent is None:
            return own
        weight = self.short_weight if self.is_short(normalized) else self.reply_weight
        return weight * own + (1 - weight) * parent

    def is_short(self, normalized: str) -> bool:
        return len(normalized) <= self.short_chars or sum(ch.isalnum() for ch in normalized) <= self.short_chars


DEFAULT_THREAD_CONTEXT = ThreadContext()
