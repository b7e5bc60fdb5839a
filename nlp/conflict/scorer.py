"""The escalation scorer: how close the recent window of a group is to a dispute, rumour or pile-on.

Kept apart from the alert policy (as ConvoKit separates a forecaster from its use): the scorer only
turns the last ``window`` messages into features and a score in [0, 1]; when to alert is
:mod:`nlp.conflict.policy`'s business.

Features of the window (each message carries the classifier's negativity score, who it is aimed at
via ``reply_to`` or @mentions, and its cues):
  * ``heat``         — the window's negativity above a calm level (sum of max(score - 0.15, 0));
  * ``hostile_users``— members who sent a heated message (negativity >= ``hostile_at`` / 2);
  * ``exchange``     — a heated back-and-forth: for the worst pair of users, the smaller of their
                       heated, directed messages (reply or @) at each other;
  * ``pile_on``      — when one member is addressed by two or more heated messages, how many others
                       sent heated messages (minus one);
  * ``rumour``       — distinct users repeating rumour/panic cues (听说, 紧急, 转发, 真的假的 ...);
  * ``threat``       — threats to leave, expose, report, meet (退群, 截图, 报警, 等着 ...);
  * ``calming``      — others asking for calm (别吵, 冷静): the group itself sees a fight;
  * ``laughter``     — share of messages laughing (friendly 互怼 laughs, a fight does not);
  * ``laughing_users``— distinct members laughing, beyond the first: in banter the people trading
                       jabs laugh too, while a lone 哈哈 also turns up as sarcasm inside a real fight;
  * ``laughing_hostiles`` — members who sent a heated message *and* laughed in the window: friends
                       trading jabs laugh at their own (``你个菜鸡…`` then ``笑死，今晚继续互坑``); in
                       a fight the people throwing the insults rarely do. Added when a retrained
                       classifier scored such jabs ~0.1 higher and dev banter (n9) alerted again;
                       -0.5 and -1 both quieted it without losing a dev conflict, -0.75 is between;
  * ``resolution``   — apologies and an admin closing the matter (抱歉, 已移出, 修好了);
  * ``rough_group``  — the group's own long-run negativity (a rough group needs more to alarm).
The score is a logistic function of a weighted sum; the weights were set by hand on the dev
conversations of data/conflicts (error analysis, not fitting: there are too few conversations to fit a dozen weights).

The window is the last ``window`` messages *and* at most ``max_age`` seconds older than the newest
one (where messages carry times): in a quiet group twelve messages can span a morning, and a rumour
settled at eight o'clock is not part of a quarrel that starts at half past nine. Disputes in group
chat are bursts of replies a minute or so apart, so half an hour holds any of them whole.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

WEIGHTS = {
    "bias": -3.0,
    "heat": 1.6,
    "hostile_users": 0.5,
    "exchange": 0.9,
    "pile_on": 0.7,
    "rumour": 1.8,
    "threat": 0.8,
    "calming": 1.2,
    "laughter": -6.0,
    "laughing_users": -1.0,
    "laughing_hostiles": -0.75,
    "resolution": -1.0,
    "rough_group": -6.0,
}


@dataclass
class WindowMessage:
    """What the monitor keeps of a message: small, JSON-serialisable."""

    id: str
    user: str
    ts: float | None  # epoch seconds
    negativity: float
    ad: float
    target: str | None  # the member it is aimed at (reply_to's author or the first @mention)
    rumour: bool
    threat: bool
    calming: bool
    laughter: bool
    resolution: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Escalation:
    score: float
    features: dict[str, float]
    kind: str  # dispute / rumour / pile_on
    hostile_ids: list[str] = field(default_factory=list)
    rumour_ids: list[str] = field(default_factory=list)
    pair: tuple[str, str] | None = None
    target: str | None = None
    attackers: list[str] = field(default_factory=list)
    size: int = 0  # messages in the window that was scored


@dataclass
class EscalationScorer:
    window: int = 12
    hostile_at: float = 0.5
    max_age: float | None = 1800.0  # seconds before the newest message; None: count messages only
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def recent_window(self, recent: Sequence[WindowMessage]) -> list[WindowMessage]:
        """The last ``window`` messages, less those more than ``max_age`` before the newest one (a
        message without a time stays: there is nothing to age it by)."""
        window = list(recent)[-self.window :]
        newest = window[-1].ts if window else None
        if self.max_age is None or newest is None:
            return window
        return [m for m in window if m.ts is None or newest - m.ts <= self.max_age]

    def score(self, recent: Sequence[WindowMessage], group_negativity: float = 0.0) -> Escalation:
        window = self.recent_window(recent)
        warm = self.hostile_at / 2  # a message that is not abuse but is not friendly either
        heated = [m for m in window if m.negativity >= warm and m.ad < 0.5]
        hostile = [m for m in heated if m.negativity >= self.hostile_at]
        # Directed heat between two members, both ways.
        directed = Counter((m.user, m.target) for m in heated if m.target and m.target != m.user)
        exchange, pair = 0, None
        for (a, b), n in directed.items():
            mutual = min(n, directed.get((b, a), 0))
            if mutual > exchange:
                exchange, pair = mutual, (a, b)
        # Many members turning on one: the most-addressed member of the heated messages, and how many
        # others sent heated messages while they were being addressed.
        targets = Counter(m.target for m in heated if m.target and m.target != m.user)
        target, attackers = None, set()
        if targets:
            target, hits = targets.most_common(1)[0]
            if hits >= 2:
                attackers = {m.user for m in heated if m.user != target}
        rumour_users = {m.user for m in window if m.rumour}
        laughing = {m.user for m in window if m.laughter}
        features = {
            "heat": sum(max(m.negativity - 0.15, 0.0) for m in window if m.ad < 0.5),
            "hostile_users": float(len({m.user for m in heated})),
            "exchange": float(exchange),
            "pile_on": float(max(len(attackers) - 1, 0)),
            "rumour": float(max(len(rumour_users) - 1, 0)) + sum(m.rumour for m in window) / 4,
            "threat": float(sum(m.threat and (m.negativity >= warm or m.target is not None) for m in window)),
            "calming": float(sum(m.calming for m in window)),
            "laughter": sum(m.laughter for m in window) / max(len(window), 1),
            "laughing_users": float(max(len(laughing) - 1, 0)),
            "laughing_hostiles": float(len({m.user for m in heated} & laughing)),
            "resolution": float(sum(m.resolution for m in window)),
            "rough_group": group_negativity,
        }
        z = self.weights["bias"] + sum(self.weights[k] * v for k, v in features.items())
        score = 1 / (1 + math.exp(-z))
        kind = "dispute"
        if len(rumour_users) >= 2 and len(rumour_users) >= len({m.user for m in hostile}):
            kind = "rumour"
        elif len(attackers) >= 3:
            kind = "pile_on"
        return Escalation(
            score=score,
            features=features,
            kind=kind,
            hostile_ids=[m.id for m in heated],
            rumour_ids=[m.id for m in window if m.rumour],
            pair=pair,
            target=target,
            attackers=sorted(attackers),
            size=len(window),
        )
