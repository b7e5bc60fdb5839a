"""``qunshao inspect``: the text stage over an archive, for eyeballing what qunshao sees.

Every message is normalised, segmented and searched for signals; rows go to ``-o`` (JSONL/CSV) and a
short table plus per-group counts go to the terminal. Bad records are reported with their line
number and skipped (``--strict`` stops at the first one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nlp.cli.output import SkippedRecords, err, rows_table
from nlp.io import RecordError, open_writer, read_messages
from nlp.text import TextAnalysis, analyze, default_segmenter


def inspect_command(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL or CSV archives ('-' for JSONL on stdin).")],
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write every analysed row here (.jsonl/.csv, '-').")
    ] = None,
    show: Annotated[int, typer.Option(help="How many rows to print in the table (messages with signals first).")] = 12,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
) -> None:
    """Normalise, segment and find contact signals in every message; print a short table."""
    report = SkippedRecords()
    segmenter = default_segmenter()
    per_group: dict[str, Counter[str]] = defaultdict(Counter)
    # Rows to print: contact details first, then other signals, then a few ordinary messages.
    samples: dict[int, list[Row]] = {0: [], 1: [], 2: []}
    with ExitStack() as stack:
        writer = stack.enter_context(open_writer(output)) if output else None
        try:
            for path in inputs:
                for message in read_messages(path, strict=strict, on_error=report):
                    analysis = analyze(message.text, segmenter)
                    counts = per_group[message.group]
                    counts["messages"] += 1
                    counts.update({s.kind for s in analysis.signals})
                    counts["with contact"] += bool(analysis.contacts)
                    if writer:
                        writer.write(
                            message.to_record()
                            | {
                                "text_norm": analysis.normalized,
                                "tokens": list(analysis.tokens),
                                "signals": [s.to_dict() for s in analysis.signals],
                            }
                        )
                    priority = 0 if analysis.contacts else 1 if _row_signals(analysis) else 2
                    if len(samples[priority]) < show:
                        samples[priority].append(_row(message.id, message.group, analysis))
        except RecordError as exc:
            err.print(f"[red]错误[/red] {exc}")
            raise typer.Exit(1) from None
    ordinary = samples[2][: max(show // 3, 1)]
    rows = (samples[0] + samples[1])[: show - len(ordinary)] + ordinary
    _print_tables(rows, per_group)
    if report.errors:
        err.print(f"[yellow]{report.summary()}[/yellow]")


Row = tuple[str, str, str, str, str]


def _row_signals(analysis: TextAnalysis) -> str:
    return "; ".join(
        f"{s.kind}={s.value}" + ("（已还原混淆写法）" if s.obfuscated else "")
        for s in analysis.signals
        if s.kind not in ("emoji", "repetition")
    )


def _row(message_id: str, group: str, analysis: TextAnalysis) -> Row:
    tokens = " / ".join(analysis.tokens[:12])
    return (message_id, group, analysis.normalized[:40], tokens, _row_signals(analysis))


def _print_tables(rows: list[Row], per_group: dict[str, Counter[str]]) -> None:
    console = Console()
    columns = ("id", "group", "normalised", "tokens", "signals")
    console.print(rows_table("消息样例 (normalised text, jieba tokens, signals)", columns, rows))
    summary = Table(title="按群统计 (per group)")
    summary.add_column("group", no_wrap=True)
    columns = {
        "messages": "消息",
        "with contact": "含联系方式",
        "wechat": "微信",
        "qq": "QQ",
        "qq_group": "QQ群",
        "phone": "电话",
        "url": "链接",
        "money": "金额",
        "mention": "@",
    }
    for header in columns.values():
        summary.add_column(header, justify="right")
    for group, counts in sorted(per_group.items()):
        summary.add_row(group, *(str(counts.get(kind, 0)) for kind in columns))
    console.print(summary)
