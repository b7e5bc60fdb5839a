"""Streaming writers: records go out as they are produced, so memory stays flat on any archive.

The format follows the output file's extension (``.jsonl``, ``.csv`` or ``.parquet``); ``-`` writes
JSONL to stdout. CSV cells that hold lists or objects (labels, scores, signals) are written as JSON text so a
spreadsheet shows them and a program can parse them back.

Imports only the standard library (pyarrow lazily, for Parquet).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(record: Mapping[str, Any]) -> str:
    return json.dumps(dict(record), ensure_ascii=False, default=_json_default)


class RecordWriter:
    """Base: opens the target (``-`` is stdout) and closes it on exit."""

    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path = str(path)
        self.append = append
        self._handle: IO[str] | None = None

    def __enter__(self) -> Self:
        if self.path == "-":
            self._handle = sys.stdout
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a" if self.append else "w", encoding="utf-8", newline="")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None and self._handle is not sys.stdout:
            self._handle.close()
        elif self._handle is sys.stdout:
            sys.stdout.flush()
        self._handle = None

    @property
    def handle(self) -> IO[str]:
        if self._handle is None:
            raise RuntimeError("writer is not open: use it in a with-block")
        return self._handle

    def write(self, record: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def sync(self) -> int:
        """Flush to disk (fsync) and return the file's length in bytes: everything before it is final."""
        handle = self.handle
        handle.flush()
        if handle is sys.stdout:
            return 0
        os.fsync(handle.fileno())
        return os.fstat(handle.fileno()).st_size


class JsonlWriter(RecordWriter):
    def write(self, record: Mapping[str, Any]) -> None:
        self.handle.write(to_json(record) + "\n")


class CsvWriter(RecordWriter):
    """Columns come from the first record; later records must not add columns."""

    def __init__(self, path: str | Path, append: bool = False, fieldnames: list[str] | None = None) -> None:
        super().__init__(path, append)
        self.fieldnames = fieldnames
        self._writer: csv.DictWriter[str] | None = None

    def write(self, record: Mapping[str, Any]) -> None:
        if self._writer is None:
            self.fieldnames = self.fieldnames or list(record)
            self._writer = csv.DictWriter(self.handle, fieldnames=self.fieldnames)
            if not self.append or self.handle.tell() == 0:
                self._writer.writeheader()
        cells = {key: _cell(value) for key, value in record.items()}
        unknown = set(cells) - set(self.fieldnames or ())
        if unknown:
            raise ValueError(f"CSV 输出出现新列 {sorted(unknown)} (columns are fixed by the first record)")
        self._writer.writerow(cells)


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class ParquetWriter(RecordWriter):
    """Parquet via pyarrow (imported only here), written in row groups of ``chunk`` records.

    The schema comes from the first row group (lists stay lists, scores a struct); times are ISO
    strings as in the other formats. Not appendable: ``--resume`` needs JSONL or CSV."""

    def __init__(self, path: str | Path, append: bool = False, chunk: int = 10_000) -> None:
        if append:
            raise ValueError("Parquet 输出不能追加 (Parquet output cannot be appended; use .jsonl to resume)")
        super().__init__(path, append)
        self.chunk = chunk
        self._rows: list[dict[str, Any]] = []
        self._writer = None

    def __enter__(self) -> Self:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._handle = sys.stdout  # placeholder so ``handle`` works; pyarrow writes the file itself
        return self

    def write(self, record: Mapping[str, Any]) -> None:
        self._rows.append({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()})
        if len(self._rows) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        if self._writer is None:
            table = pa.Table.from_pylist(self._rows)
            self._writer = pq.ParquetWriter(self.path, table.schema)
        else:
            table = pa.Table.from_pylist(self._rows, schema=self._writer.schema)
        self._writer.write_table(table)
        self._rows = []

    def sync(self) -> int:
        self._flush()
        return 0

    def __exit__(self, exc_type, exc, tb) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
        self._handle = None


def open_writer(path: str | Path, append: bool = False) -> RecordWriter:
    """A writer chosen by extension: ``.csv`` -> CSV, ``.parquet`` -> Parquet, ``.jsonl``/``.json``/``-`` -> JSONL."""
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".csv":
        return CsvWriter(path, append)
    if suffix == ".parquet":
        return ParquetWriter(path, append)
    if str(path) == "-" or suffix in (".jsonl", ".ndjson", ".json"):
        return JsonlWriter(path, append)
    raise ValueError(f"无法从文件名判断输出格式: {path} (use .jsonl, .csv or .parquet)")
