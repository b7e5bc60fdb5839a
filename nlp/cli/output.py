"""What every command prints the same way: skipped-record notices and tables of rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from nlp.io import RecordError

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
