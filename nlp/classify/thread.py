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

Ads do not answer questions. A message quoting another one (``reply_to``) mixes its ad probability
with its parent's (``ad_reply_weight`` its own share), unless it carries a contact detail or an
invitation to make contact (``私聊``, ``加我微信``): a spammer's reply to ``哪里买`` keeps its score,
while advice in a thread (``二十分钟就够，定闹钟``, 0.72 as an ad on its own) no longer reads as
copy. On the dev conversations it removed two of the full model's four ad false alarms and three of
the encoder-free model's eight; the others answer without quoting.

Members answering an ad are read with the ad too. Right after a spammer posts, a group says
``又来了``, ``踢了吧``, ``这种就是骗钱的``, ``天天都有这种``: alone each reads as idle chatter or as
contempt for someone, and the classifiers said so (``这种就是骗钱的`` 0.92 negativity). What they
answer is the ad. Only a sure ad counts (one the model would block): a borderline ad score on a
short on-topic reply is more often the model's mistake than spam (the dev conversations have a few),
and damping what follows it would spread the mistake. A message quoting the group's latest such ad
(``reply_to``), or sent by someone else within ``ad_reaction_messages`` messages and
``ad_reaction_seconds`` of it, keeps ``ad_reaction_weight`` of its negativity and off-topic
probabilities: plain insults still stand out (0.95 -> 0.48 is flagged at a threshold near 0.4),
passing remarks do not. Set from what the problem is, not fitted: no labelled conversation has
enough replies to ads to fit it on.

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
    # A memory pickled before these existed: count and last_ad are plain defaults (class attributes
    # too, so it still reads them); ad_scores is filled in by __setstate__.
    count: int = 0  # messages remembered
    last_ad: tuple[str, str | None, datetime | None, int] | None = None  # id, user, ts, count before it
    ad_scores: OrderedDict[str, float] = field(default_factory=OrderedDict)  # id -> ad probability

    def __setstate__(self, state: dict) -> None:
        state.setdefault("ad_scores", OrderedDict())  # pickled before replies read their parent's ad score
        self.__dict__.update(state)

    def remember(self, message: Message, score: float, is_ad: bool = False, ad_score: float | None = None) -> None:
        if message.id:
            self._keep(self.scores, message.id, score)
            if ad_score is not None:
                self._keep(self.ad_scores, message.id, ad_score)
        self.last_ts, self.last_score = message.ts, score
        if is_ad:
            self.last_ad = (message.id, message.user, message.ts, self.count)
        self.count += 1

    def _keep(self, recent: OrderedDict[str, float], key: str, value: float) -> None:
        """Store as the newest entry, dropping the oldest beyond ``keep``."""
        recent[key] = value
        recent.move_to_end(key)
        while len(recent) > self.keep:
            recent.popitem(last=False)


@dataclass(frozen=True)
class ThreadContext:
    """How much a reply's own off-topic probability counts against its parent's."""

    reply_weight: float = 0.6
    short_weight: float = 0.5
    short_chars: int = 8
    gap_seconds: float = 300.0
    ad_reply_weight: float = 0.6
    ad_reaction_weight: float = 0.5
    ad_reaction_messages: int = 4
    ad_reaction_seconds: float = 300.0

    def mix_ad(self, own: float, memory: ThreadMemory, message: Message, invites_contact: bool) -> float:
        """A reply's ad probability mixed with the one of the message it quotes (when the group's
        recent messages hold it), unless it invites contact itself."""
        parent = memory.ad_scores.get(message.reply_to) if message.reply_to else None
        if parent is None or invites_contact:
            return own
        return self.ad_reply_weight * own + (1 - self.ad_reply_weight) * parent

    def answers_ad(self, memory: ThreadMemory, message: Message) -> bool:
        """Whether ``message`` answers the group's latest ad: quotes it, or comes from someone else
        soon after it (both need times; the ad's own author is still advertising)."""
        if memory.last_ad is None:
            return False
        ad_id, ad_user, ad_ts, at = memory.last_ad
        if message.reply_to:
            return message.reply_to == ad_id
        if (message.user is not None and message.user == ad_user) or memory.count - at > self.ad_reaction_messages:
            return False
        if message.ts is None or ad_ts is None:
            return False
        return 0 <= (message.ts - ad_ts).total_seconds() <= self.ad_reaction_seconds

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
