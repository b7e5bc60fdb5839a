"""Topics over time: counts per window, and the moments an operator should look at.

``topic_counts`` tallies messages per (group, window, topic). ``topic_events`` reads those counts:
a **new** topic is one whose first window is after the group's first window and which arrives with
at least ``min_count`` messages; a **surge** is a window where a topic has at least ``min_count``
messages and ``surge_ratio`` times its mean over the previous windows (quiet windows count as 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from nlp.io import Message


def window_start(ts: datetime, window: timedelta) -> datetime:
    """The window a time falls in; windows are aligned to midnight (days) or to the epoch."""
    origin = datetime(1970, 1, 1)
    return origin + ((ts - origin) // window) * window


def topic_counts(
    messages: Sequence[Message], topics: Sequence[int], window: timedelta = timedelta(days=1)
) -> dict[str, dict[datetime, Counter[int]]]:
    """``{group: {window start: Counter(topic -> messages)}}``; messages without ``ts`` are left out."""
    out: dict[str, dict[datetime, Counter[int]]] = {}
    for message, topic in zip(messages, topics, strict=True):
        if message.ts is None:
            continue
        start = window_start(message.ts, window)
        out.setdefault(message.group, {}).setdefault(start, Counter())[int(topic)] += 1
    return out


def topic_events(
    counts: dict[str, dict[datetime, Counter[int]]],
    window: timedelta = timedelta(days=1),
    min_count: int = 5,
    surge_ratio: float = 3.0,
) -> list[dict]:
    events = []
    for group, per_window in counts.items():
        if not per_window:
            continue
        first, last = min(per_window), max(per_window)
        windows = []
        current = first
        while current <= last:
            windows.append(current)
            current += window
        seen: dict[int, list[int]] = {}
        for w in windows:
            counter = per_window.get(w, Counter())
            for topic in set(counter) | set(seen):
                if topic < 0:
                    continue
                n = counter.get(topic, 0)
                history = seen.setdefault(topic, [])
                if n >= min_count:
                    if not any(history) and w != first:
                        events.append(_event("new_topic", group, topic, w, n, 0.0))
                    elif any(history):
                        mean = sum(history) / len(history)
                        if n >= surge_ratio * mean:
                            events.append(_event("surge", group, topic, w, n, mean))
                history.append(n)
    return events


def _event(kind: str, group: str, topic: int, window: datetime, count: int, before: float) -> dict:
    return {
        "type": kind,
        "group": group,
        "topic": topic,
        "window": window.isoformat(),
        "messages": count,
        "mean_before": round(before, 2),
    }
