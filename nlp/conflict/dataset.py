"""Conflict evaluation conversations: hand-written episodes placed into calm group chat.

``data/conflicts/episodes.yaml`` holds the episodes (disputes, rumours, pile-ons, and hard negatives:
civil debate, one rude message nobody follows, friendly banter, a complaint resolved calmly, an ad
burst handled by an admin); ``backgrounds.yaml`` the everyday chat of each kind of group. A
conversation is that group's chat for a while, the episode (with an occasional unrelated message in
between, as chats interleave), then more chat; the background is replayed as the next day's chat
when it runs out. Everything is seeded. Timing is the same for every kind of episode (a burst of
replies), so a monitor cannot tell a dispute from a debate by speed alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from nlp.io import Message

ROOT = Path(__file__).resolve().parents[2]
CONFLICT_KINDS = ("dispute", "rumour", "pile_on")


@dataclass(frozen=True)
class Conversation:
    id: str
    kind: str
    split: str
    messages: list[Message]
    start: int | None  # index of the message where the conflict begins; None for a calm conversation

    @property
    def is_conflict(self) -> bool:
        return self.start is not None


def _parse(line: str, where: str) -> tuple[str, str, bool]:
    user, sep, text = line.partition("：")
    if not sep or not text.strip():
        raise ValueError(f"{where}: expected '昵称：消息', got {line!r}")
    text = text.strip()
    reply = text.startswith("↪")
    return user.strip(), text.lstrip("↪").strip(), reply


def load_conversations(
    episodes: str | Path = ROOT / "data" / "conflicts" / "episodes.yaml",
    backgrounds: str | Path = ROOT / "data" / "conflicts" / "backgrounds.yaml",
    seed: int = 29,
) -> list[Conversation]:
    calm = yaml.safe_load(Path(backgrounds).read_text("utf-8"))
    out = []
    for n, spec in enumerate(yaml.safe_load(Path(episodes).read_text("utf-8"))):
        rng = random.Random(seed * 100 + n)
        background = [_parse(line, f"backgrounds/{spec['group']}") for line in calm[spec["group"]]]
        episode = [_parse(line, f"episode {spec['id']}") for line in spec["messages"]]
        out.append(_weave(spec, background, episode, rng))
    return out


def _weave(spec: dict, background: list, episode: list, rng: random.Random) -> Conversation:
    group = f"{spec['group']}-{spec['id']}"
    messages: list[Message] = []
    ts = datetime(2026, 4, 1, 9, 0) + timedelta(days=rng.randint(0, 20))
    cursor = rng.randrange(len(background))

    def add(user: str, text: str, reply_to: str | None, gap: tuple[int, int]) -> Message:
        nonlocal ts
        ts += timedelta(seconds=rng.randint(*gap))
        message = Message(
            text=text,
            id=f"{group}-{len(messages):03d}",
            group=group,
            user=user,
            ts=ts,
            reply_to=reply_to,
            fields={"user": user, "ts": ts.isoformat(), "reply_to": reply_to},
        )
        messages.append(message)
        return message

    def chat(count: int) -> None:
        nonlocal cursor, ts
        for _ in range(count):
            if cursor == len(background):
                cursor = 0
                ts += timedelta(hours=rng.randint(12, 20))  # the next day's chat
            user, text, _ = background[cursor]
            cursor += 1
            add(user, text, None, (40, 600))

    chat(rng.randint(22, 34))
    start_index = None
    previous: Message | None = None
    for i, (user, text, reply) in enumerate(episode):
        if i and rng.random() < 0.15:
            chat(1)
        reply_to = None
        if reply:
            reply_to = next((m.id for m in reversed(messages) if m.user != user and m.group == group), None)
            if previous is not None and previous.user != user:
                reply_to = previous.id
        message = add(user, text, reply_to, (10, 90))
        previous = message
        if spec.get("start") is not None and i == spec["start"]:
            start_index = len(messages) - 1
    chat(rng.randint(12, 24))
    if spec["kind"] in CONFLICT_KINDS and start_index is None:
        raise ValueError(f"episode {spec['id']}: a {spec['kind']} needs a start index")
    return Conversation(spec["id"], spec["kind"], spec["split"], messages, start_index)
