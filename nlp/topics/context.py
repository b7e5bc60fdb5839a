"""Conversational context for short chat messages.

``收到``, ``+1`` or ``哈哈被说中了`` carry no topic of their own: embedded alone they become outliers
or a junk cluster of acknowledgements. In a chat they belong to the discussion they answer. So a
message's *context vector* mixes its own embedding with its parent's context vector:

* the parent is the message it quotes (``reply_to``) when that is known;
* otherwise, for a message with no content words, the group's previous message if it came within
  ``gap`` seconds (the exchange it is part of);
* a message with no content words takes mostly its parent's direction (``own_weight_empty``); a
  contentful reply leans towards its parent a little (``reply_weight``), since a quoted answer
  shares its question's topic.

Messages must be given in time order (parents come before children).

May import numpy and :mod:`nlp.io`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlp.io import Message


def parents(messages: Sequence[Message], has_content: Sequence[bool], gap: float = 300.0) -> list[int | None]:
    """Index of each message's conversational parent among ``messages`` (time-ordered), or None."""
    index = {m.id: i for i, m in enumerate(messages)}
    out: list[int | None] = []
    for i, m in enumerate(messages):
        parent = index.get(m.reply_to) if m.reply_to else None
        if parent is not None and parent >= i:
            parent = None  # a reply to a later message is broken data; ignore it
        if parent is None and not has_content[i] and i > 0:
            previous = messages[i - 1]
            if m.ts is None or previous.ts is None or (m.ts - previous.ts).total_seconds() <= gap:
                parent = i - 1
        out.append(parent)
    return out


def context_vectors(
    vectors: np.ndarray,
    parent_of: Sequence[int | None],
    has_content: Sequence[bool],
    reply_weight: float = 0.5,
    own_weight_empty: float = 0.2,
) -> np.ndarray:
    """Unit rows: each message's embedding mixed with its parent's context vector (computed first)."""
    out = np.array(vectors, dtype=np.float32, copy=True)
    for i, parent in enumerate(parent_of):
        if parent is None:
            continue
        if has_content[i]:
            mixed = out[i] + reply_weight * out[parent]
        else:
            mixed = own_weight_empty * out[i] + out[parent]
        out[i] = mixed / (np.linalg.norm(mixed) + 1e-9)
    return out
