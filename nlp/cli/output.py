"""What every command does the same way: skipped-record notices, tables of rows, the error that
ends a command whose input file is unusable, and the options shared by the commands that score."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from nlp.io import Message, RecordError, read_messages

if TYPE_CHECKING:
    from nlp.classify import GroupProfile

err = Console(stderr=True)


class SkippedRecords:
    """``on_error`` for the readers: tell the user which line was skipped and why, and count."""

    def __init__(self) -> None:
        self.errors: list[RecordError] = []

    def __call__(self, error: RecordError) -> None:
        self.errors.append(error)
        err.print(f"[yellow]跳过[/yellow] {error}", highlight=False)

    def summary(self) -> str:
        return f"{len(self.errors)} 条记录有误已跳过 (bad records skipped)" if self.errors else ""


def rows_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def read_archives(inputs: Sequence[Path], strict: bool, report: SkippedRecords) -> list[Message]:
    """Every good record of every input (any supported format), for commands that need the whole
    archive at once (topics, conflicts, report); a fatal record error exits with status 1."""
    try:
        return [m for path in inputs for m in read_messages(path, strict=strict, on_error=report)]
    except RecordError as exc:
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


def by_group_and_time(messages: Sequence[Message]) -> list[Message]:
    """Messages grouped, each group in time order (records without a time keep their place)."""
    order = sorted(range(len(messages)), key=lambda i: (messages[i].group, messages[i].ts or datetime.min, i))
    return [messages[i] for i in order]


EXPLAIN_HELP = (
    "How a reason finds the words it quotes: grams (the head's heaviest n-grams; "
    "fastest), words (content words weighed by the n-grams they touch), occlusion (for negativity, the "
    "words whose removal lowers the score most: one more scoring per word of each flagged message), "
    "or auto (words with a sentence encoder, grams without one)."
)


def explain_rule(explain: str) -> str:
    """``--explain`` for every command that writes reasons, checked before any work starts."""
    from nlp.classify.reasons import EXPLAIN_CHOICES

    if explain not in EXPLAIN_CHOICES:
        raise typer.BadParameter(f"{explain!r}: choose one of {', '.join(EXPLAIN_CHOICES)}", param_hint="--explain")
    return explain


def read_groups(path: Path | None) -> dict[str, GroupProfile] | None:
    """``--groups FILE`` for every command that takes it: a file that is missing or malformed ends
    the command with a message naming the file and what is wrong (status 2), not a traceback."""
    if path is None:
        return None
    from nlp.classify import load_group_profiles  # the classifier stack: only for commands that score

    try:
        return load_group_profiles(path)
    except (OSError, ValueError) as exc:
        err.print(f"[red]错误[/red] --groups: {exc}", highlight=False)
        raise typer.Exit(2) from None
