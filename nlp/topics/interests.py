"""Member interests: which topics each member talks in (the 打标签 of targeted community operation).

A member's interest in a topic is their share of messages in it, over messages that have a topic;
only topics with at least ``min_messages`` of their messages are kept, so one stray reply is not an
interest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from nlp.io import Message
from nlp.topics.model import GroupTopics


def member_interests(
    messages: Sequence[Message],
    topics: Sequence[int],
    groups: Mapping[str, GroupTopics],
    min_messages: int = 2,
    top_n: int = 3,
) -> list[dict]:
    """One row per (group, user): their messages, and their top topics with label and share."""
    counts: dict[tuple[str, str], Counter[int]] = {}
    totals: Counter[tuple[str, str]] = Counter()
    for message, topic in zip(messages, topics, strict=True):
        if not message.user:
            continue
        key = (message.group, message.user)
        totals[key] += 1
        if topic >= 0:
            counts.setdefault(key, Counter())[int(topic)] += 1
    rows = []
    for (group, user), total in sorted(totals.items()):
        counter = counts.get((group, user), Counter())
        with_topic = sum(counter.values())
        state = groups.get(group)
        interests = [
            {
                "topic": topic,
                "label": state.label(topic) if state else "",
                "messages": n,
                "share": round(n / with_topic, 3),
            }
            for topic, n in counter.most_common()
            if n >= min_messages
        ][:top_n]
        rows.append({"group": group, "user": user, "messages": total, "interests": interests})
    return rows
