"""Group health metrics, as community operators use them, computed from an archive.

Definitions (an archive shows who spoke, not who is silently in the group, so "members" means
members seen speaking at least once in the archive):

* 日活跃人数 (daily active members): distinct speakers per day; reported as the daily mean.
* 发言率 (speaking rate): mean over days of that day's speakers / members seen.
* 互动率 (interaction rate): share of messages that reply to another message or @mention someone.
* 新成员留存 (new-member retention): of members whose first message comes after the first day,
  the share who speak again on a later day. Joins themselves are not in most exports.
* 二八集中度 (concentration): share of messages sent by the most active 20% of speakers.
* 沉寂信号 (dead-group signal): messages in the last 7 days of the archive over the first 7; below
  0.2 with little left is flagged.
* Label rates: share of messages labelled ad / negativity / off-topic per day, and the members with
  most flagged messages.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from nlp.io import Message

MENTION = re.compile(r"@\S+")
LABELS = ("ad", "negativity", "offtopic")


@dataclass
class GroupHealth:
    group: str
    messages: int
    members: int
    days: list[date]
    messages_per_day: list[int]
    active_per_day: list[int]
    daily_active: float
    speaking_rate: float
    interaction_rate: float
    retention: float | None
    new_members: int
    concentration: float
    trend: float | None  # last 7 days / first 7 days
    dead: bool
    label_rates: dict[str, list[float]] = field(default_factory=dict)
    label_totals: dict[str, int] = field(default_factory=dict)
    offenders: list[tuple[str, int, str]] = field(default_factory=list)  # user, flagged messages, main label


def group_health(messages: Sequence[Message], labels: Sequence[Sequence[str]]) -> GroupHealth:
    """Metrics of one group's messages (with their labels from ``qunshao score``)."""
    dated = [(m, lab) for m, lab in zip(messages, labels, strict=True) if m.ts is not None]
    group = messages[0].group if messages else ""
    users = Counter(m.user or "?" for m in messages)
    if not dated:
        return GroupHealth(group, len(messages), len(users), [], [], [], 0, 0, 0, None, 0, 0, None, False)
    first, last = min(m.ts.date() for m, _ in dated), max(m.ts.date() for m, _ in dated)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day: dict[date, list[tuple[Message, Sequence[str]]]] = defaultdict(list)
    for m, lab in dated:
        per_day[m.ts.date()].append((m, lab))
    messages_per_day = [len(per_day[d]) for d in days]
    active_per_day = [len({m.user for m, _ in per_day[d]}) for d in days]
    members = len(users)
    speaking = [a / members for a in active_per_day] if members else [0.0]
    interactions = sum(bool(m.reply_to) or bool(MENTION.search(m.text)) for m in messages)
    first_day_of: dict[str, date] = {}
    spoke_on: dict[str, set[date]] = defaultdict(set)
    for m, _ in dated:
        user = m.user or "?"
        first_day_of[user] = min(first_day_of.get(user, m.ts.date()), m.ts.date())
        spoke_on[user].add(m.ts.date())
    newcomers = [u for u, d in first_day_of.items() if d > first]
    retained = [u for u in newcomers if len(spoke_on[u]) > 1]
    top = max(1, math.ceil(members * 0.2))
    concentration = sum(n for _, n in users.most_common(top)) / max(len(messages), 1)
    first_week = sum(messages_per_day[:7])
    last_week = sum(messages_per_day[-7:])
    trend = last_week / first_week if len(days) >= 14 and first_week else None
    rates = {
        label: [sum(label in lab for _, lab in per_day[d]) / max(len(per_day[d]), 1) for d in days] for label in LABELS
    }
    totals = {label: sum(label in lab for lab in labels) for label in LABELS}
    flagged: dict[str, Counter[str]] = defaultdict(Counter)
    for m, lab in zip(messages, labels, strict=True):
        for label in lab:
            flagged[m.user or "?"][label] += 1
    offenders = sorted(
        ((u, sum(c.values()), c.most_common(1)[0][0]) for u, c in flagged.items()), key=lambda r: (-r[1], r[0])
    )[:5]
    return GroupHealth(
        group=group,
        messages=len(messages),
        members=members,
        days=days,
        messages_per_day=messages_per_day,
        active_per_day=active_per_day,
        daily_active=sum(active_per_day) / len(days),
        speaking_rate=sum(speaking) / len(speaking),
        interaction_rate=interactions / max(len(messages), 1),
        retention=len(retained) / len(newcomers) if newcomers else None,
        new_members=len(newcomers),
        concentration=concentration,
        trend=trend,
        dead=trend is not None and trend < 0.2 and last_week < 20,
        label_rates=rates,
        label_totals=totals,
        offenders=offenders,
    )
