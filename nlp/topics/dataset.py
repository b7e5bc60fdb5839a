"""Labelled topic chats: hand-written discussion threads interleaved into group timelines.

The format (``data/topics/*.yaml``) is one mapping per group: a ``purpose`` and ``topics``, each a
list of ``"昵称：消息"`` turns in order. Real group chats interleave several discussions, so
:func:`load_topic_chats` weaves the threads of a group into one timeline (seeded): a thread tends to
continue for a few messages before another cuts in, short replies quote what they answer
(``reply_to``), and the group's days are spread over a week so windows over time mean something.
The gold topic of each message is in ``fields["topic"]``.

``chatter`` adds off-topic threads to the same groups (``data/labelled/chatter_*.yaml``:
``{group: {threads: {name: [turns]}}}``), woven in like the others: their gold topic is
``闲聊/<name>`` and ``fields["offtopic"]`` says which messages are chatter, for judging off-topic
detection where it is hard, inside a conversation.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from nlp.io import Message

START = datetime(2026, 3, 2, 8, 0)


CHATTER = "闲聊/"


def load_topic_chats(path: str | Path, seed: int = 13, chatter: str | Path | None = None) -> list[Message]:
    raw = yaml.safe_load(Path(path).read_text("utf-8"))
    extra = yaml.safe_load(Path(chatter).read_text("utf-8")) if chatter else {}
    unknown = set(extra) - set(raw)
    if unknown:
        raise ValueError(f"{chatter}: groups {sorted(unknown)} are not in {path}")
    messages: list[Message] = []
    for group_index, (group, spec) in enumerate(raw.items()):
        rng = random.Random(seed * 1000 + group_index)
        threads = {topic: [_turn(t, group, topic) for t in turns] for topic, turns in spec["topics"].items()}
        for name, turns in (extra.get(group) or {}).get("threads", {}).items():
            threads[CHATTER + name] = [_turn(t, group, name) for t in turns]
        messages += _interleave(group, spec.get("purpose") or None, threads, rng)
    for m in messages:
        m.fields["offtopic"] = m.fields["topic"].startswith(CHATTER)
    return messages


def _turn(line: str, group: str, topic: str) -> tuple[str, str]:
    user, sep, text = line.partition("：")
    if not sep or not text.strip():
        raise ValueError(f"{group}/{topic}: expected '昵称：消息', got {line!r}")
    return user.strip(), text.strip()


def _interleave(
    group: str, purpose: str | None, threads: dict[str, list[tuple[str, str]]], rng: random.Random
) -> list[Message]:
    pending = {topic: list(turns) for topic, turns in threads.items()}
    # Threads start at different times: the first two open the chat, the others join later.
    order = list(pending)
    rng.shuffle(order)
    active = order[:2]
    waiting = order[2:]
    out: list[Message] = []
    last_of: dict[str, Message] = {}
    ts = START
    current = active[0]
    n = 0
    while active or waiting:
        if waiting and (not active or rng.random() < 0.12):
            active.append(waiting.pop(0))
        if current not in active or rng.random() > 0.6:
            current = rng.choice(active)
        user, text = pending[current].pop(0)
        ts += timedelta(seconds=rng.randint(15, 240))
        if rng.random() < 0.03:
            ts += timedelta(hours=rng.randint(10, 30))  # the chat sleeps: a new day
        parent = last_of.get(current)
        short = len(text) <= 6
        reply_to = parent.id if parent and parent.user != user and (short or rng.random() < 0.35) else None
        n += 1
        message = Message(
            text=text,
            id=f"{group}-{n:04d}",
            group=group,
            user=user,
            ts=ts,
            reply_to=reply_to,
            group_topic=purpose,
            fields={"user": user, "ts": ts.isoformat(), "reply_to": reply_to, "topic": current},
        )
        out.append(message)
        last_of[current] = message
        if not pending[current]:
            active.remove(current)
    return out
