"""``qunshao score``: every message of an archive in, one scored row per message out.

Rows keep the input fields and add ``labels``, ``scores``, ``suggestion`` and ``reasons``
(../shared/DESIGN.md). Input is read and written in batches, so memory stays flat.
"""

from __future__ import annotations

from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from nlp.classify import load_group_profiles
from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import SkippedRecords, err, rows_table
from nlp.io import RecordError, open_writer, read_messages


def score_command(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL or CSV archives ('-' for JSONL on stdin).")],
    output: Annotated[str, typer.Option("-o", "--output", help="Scored rows (.jsonl/.csv, '-' for stdout).")],
    model: Annotated[Path, typer.Option(help="Model directory.")] = DEFAULT_MODEL_DIR,
    groups: Annotated[Path | None, typer.Option(help="Group purposes: YAML/JSON {group: {topic, examples}}.")] = None,
    batch_size: Annotated[int, typer.Option(help="Messages scored together.")] = 256,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
    show: Annotated[int, typer.Option(help="Print this many flagged messages as a table on stderr.")] = 0,
) -> None:
    """Label every message as ad / negativity / offtopic, with scores, a suggestion and reasons."""
    from nlp.pipeline import Pipeline

    profiles = load_group_profiles(groups) if groups else None
    pipeline = Pipeline(model, profiles=profiles)
    report = SkippedRecords()
    counts = {"messages": 0, "block": 0, "review": 0}
    flagged: list[tuple[str, str, str, str, str]] = []
    with ExitStack() as stack:
        writer = stack.enter_context(open_writer(output))
        try:
            for path in inputs:
                stream = read_messages(path, strict=strict, on_error=report)
                while batch := list(islice(stream, batch_size)):
                    for message, verdict in zip(batch, pipeline.score(batch), strict=True):
                        writer.write(message.to_record() | verdict.to_dict())
                        counts["messages"] += 1
                        counts[verdict.suggestion] = counts.get(verdict.suggestion, 0) + 1
                        if verdict.labels and len(flagged) < show:
                            flagged.append(_flagged_row(message.id, message.text, verdict))
        except RecordError as exc:
            err.print(f"[red]错误[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
    if flagged:
        columns = ("id", "suggestion", "labels", "text", "reasons")
        err.print(rows_table("需要处理的消息 (flagged messages)", columns, flagged))
    err.print(
        f"scored {counts['messages']} messages: {counts['block']} block, {counts['review']} review"
        + (f"; {report.summary()}" if report.errors else ""),
        highlight=False,
    )


def _flagged_row(message_id: str, text: str, verdict) -> tuple[str, str, str, str, str]:
    labels = ", ".join(f"{label} {verdict.scores[label]:.2f}" for label in verdict.labels)
    return (message_id, verdict.suggestion, labels, text[:40], "；".join(verdict.reasons))
