"""``qunshao topics``: what each group talks about, over time, and who talks about what.

Every message comes back with ``topic`` (an id within its group, ``-1`` for none) and
``topic_label``; ``--summary`` writes, per group, the topics with keywords, size, examples and time
span, message counts per time window, new/surging topic events and member interests (JSON).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from nlp.cli.output import SkippedRecords, err, read_archives, rows_table
from nlp.io import open_writer


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text.lower())
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r}: use a number and d/h/m, e.g. 1d, 6h, 30m", param_hint="--window")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def topics_command(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL or CSV archives.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Messages with topic and topic_label.")],
    summary: Annotated[Path | None, typer.Option(help="Per-group topics, timeline, events, interests (JSON).")] = None,
    encoder: Annotated[str, typer.Option(help="m3e-small, a local model path or a sentence-transformers name.")] = (
        "m3e-small"
    ),
    window: Annotated[str, typer.Option(help="Time window for counts and events: 1d, 6h, 30m ...")] = "1d",
    min_topic_size: Annotated[
        int | None, typer.Option(min=2, help="Smallest discussion counted as a topic (default: grows with the group).")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
) -> None:
    """Cluster each group's messages into topics with keyword labels (HDBSCAN + c-TF-IDF)."""
    from nlp.embed import Encoder
    from nlp.topics import TopicModel
    from nlp.topics.interests import member_interests
    from nlp.topics.timeline import topic_counts, topic_events

    span = parse_window(window)
    report = SkippedRecords()
    messages = read_archives(inputs, strict, report)
    model = TopicModel(encoder=Encoder(encoder), min_topic_size=min_topic_size).fit(messages)
    labels = model.labels_
    with open_writer(output) as writer:
        for message, topic in zip(messages, labels, strict=True):
            state = model.groups_[message.group]
            writer.write(message.to_record() | {"topic": int(topic), "topic_label": state.label(int(topic))})
    counts = topic_counts(messages, labels, span)
    events = topic_events(counts, span)
    if summary:
        interests = member_interests(messages, labels, model.groups_)
        groups = {}
        for group, state in model.groups_.items():
            groups[group] = {
                "messages": state.n_messages,
                "outlier_share": round(state.outlier_share, 4),
                "note": state.note,
                "topics": [t.to_dict() for t in state.topics],
                "timeline": {
                    w.isoformat(): {str(t): n for t, n in sorted(c.items())}
                    for w, c in sorted(counts.get(group, {}).items())
                },
                "events": [e for e in events if e["group"] == group],
                "members": [r for r in interests if r["group"] == group],
            }
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps({"window": window, "groups": groups}, ensure_ascii=False, indent=2), "utf-8")
    rows = []
    for group, state in model.groups_.items():
        if state.note:
            rows.append((group, "-", state.note, "", ""))
        for topic in state.topics[:8]:
            rows.append((group, str(topic.id), topic.label, str(topic.size), (topic.examples or [""])[0][:30]))
    err.print(rows_table("话题 (topics)", ("group", "topic", "label", "size", "example"), rows))
    outliers = float((labels < 0).mean()) if len(labels) else 0.0
    err.print(
        f"{len(messages)} messages, {sum(len(s.topics) for s in model.groups_.values())} topics in "
        f"{len(model.groups_)} groups, {outliers:.0%} without a topic; {len(events)} new/surging topic events"
        + (f"; {report.summary()}" if report.errors else ""),
        highlight=False,
    )
