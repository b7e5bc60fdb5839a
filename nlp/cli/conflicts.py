"""``qunshao conflicts``: early-warning alerts for disputes, rumours and pile-ons in an archive.

Messages are scored by the classifier (negativity, ads), sorted per group by ``ts`` (records without
a time keep their order), and fed through one :class:`~nlp.conflict.ConflictMonitor`. One alert per
line (../shared/DESIGN.md): ``group``, ``alert_id``, ``trigger_id``, ``start_id``, ``ts``,
``severity``, ``participants``, ``evidence``, ``summary`` (plus ``kind``, ``score``, ``suggestion``
and ``event``: ``open`` or ``escalate``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import SkippedRecords, by_group_and_time, err, read_archives, rows_table
from nlp.io import open_writer


def conflicts_command(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL or CSV archives.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Alerts, one per line (.jsonl/.csv, '-').")],
    model: Annotated[
        Path, typer.Option(help="Classifier model directory (its negativity scores).")
    ] = DEFAULT_MODEL_DIR,
    batch_size: Annotated[int, typer.Option(min=1, help="Messages scored together.")] = 512,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
) -> None:
    """Flag emerging 争执 / 谣言 / 围攻 with evidence, participants and a suggested next step."""
    from nlp.conflict import ConflictMonitor
    from nlp.pipeline import Pipeline

    report = SkippedRecords()
    messages = read_archives(inputs, strict, report)
    ordered = by_group_and_time(messages)
    pipeline = Pipeline(model)
    monitor = ConflictMonitor(pipeline=pipeline)
    alerts = []
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        alerts += monitor.process(batch, pipeline.score(batch))
    with open_writer(output) as writer:
        for alert in alerts:
            writer.write(alert.to_dict())
    rows = [
        (a.group, a.severity, a.kind + ("（升级）" if a.event == "escalate" else ""), a.trigger_id, a.summary)
        for a in alerts[:20]
    ]
    if rows:
        err.print(rows_table("冲突预警 (conflict alerts)", ("group", "severity", "kind", "at", "summary"), rows))
    err.print(
        f"{len(messages)} messages in {len({m.group for m in messages})} groups: {len(alerts)} alerts"
        + (f"; {report.summary()}" if report.errors else ""),
        highlight=False,
    )
