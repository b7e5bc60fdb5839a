"""Streaming readers for JSONL and CSV message archives.

Archives are large and often dirty (a truncated line, a GBK line pasted into a UTF-8 file, a row
without text). Readers yield one :class:`Message` at a time in constant memory; a bad record is
reported through ``on_error`` with its line number and skipped, and every good record is still
yielded. ``strict=True`` turns the first bad record into an exception instead.

Imports only the standard library and :mod:`nlp.io.schema`.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from nlp.io.schema import Message, RecordError, check_unicode

log = logging.getLogger(__name__)
ErrorHandler = Callable[[RecordError], None]
Source = str | Path | BinaryIO

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)


def _log_error(error: RecordError) -> None:
    log.warning("%s", error)


@contextmanager
def _open_binary(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, str | Path):
        if str(source) == "-":
            yield sys.stdin.buffer
            return
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def _source_name(source: Source) -> str | None:
    return None if not isinstance(source, str | Path) or str(source) == "-" else Path(source).name


def _report(error: RecordError, strict: bool, on_error: ErrorHandler | None) -> None:
    if strict:
        raise error
    (on_error or _log_error)(error)


def _decode(raw: bytes, line: int, name: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(
            line, f"第 {exc.start + 1} 个字节起不是 UTF-8 编码 (not UTF-8 at byte {exc.start + 1})", source=name
        ) from None


def read_jsonl(
    source: Source, *, strict: bool = False, on_error: ErrorHandler | None = None, mapping: dict[str, str] | None = None
) -> Iterator[Message]:
    """One JSON object per line; blank lines are ignored."""
    name = _source_name(source)
    with _open_binary(source) as handle:
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = _decode(raw, line_no, name).strip()
                if not text:
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise RecordError(
                        line_no, f"不是合法的 JSON：{exc.msg}，第 {exc.colno} 列 (invalid JSON: {exc.msg})", source=name
                    ) from None
                if (b"\\ud" in raw or b"\\uD" in raw) and isinstance(record, dict):  # an escaped surrogate
                    check_unicode(record, line_no)
                yield Message.from_record(_mapped(record, mapping), line_no)
            except RecordError as error:
                error.source = error.source or name
                _report(error, strict, on_error)


class _LineTracker:
    """Feeds decoded physical lines to ``csv.reader`` and remembers where each row started."""

    def __init__(self, handle: Iterable[bytes], name: str | None, strict: bool, on_error: ErrorHandler | None):
        self._handle = handle
        self._name = name
        self._strict = strict
        self._on_error = on_error
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self._handle:
            self.consumed += 1
            if self.consumed == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield _decode(raw, self.consumed, self._name)
            except RecordError as error:
                _report(error, self._strict, self._on_error)


def read_csv(
    source: Source, *, strict: bool = False, on_error: ErrorHandler | None = None, mapping: dict[str, str] | None = None
) -> Iterator[Message]:
    """A header row, then one message per row; empty cells count as missing."""
    name = _source_name(source)
    with _open_binary(source) as handle:
        tracker = _LineTracker(handle, name, strict, on_error)
        reader = csv.reader(tracker)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        if mapping:
            renamed = {theirs: ours for ours, theirs in mapping.items()}
            header = [renamed.get(h, h) for h in header]
        if "text" not in header:
            raise RecordError(1, f'表头缺少列 "text" (CSV header has no "text" column: {header})', "text", name)
        for row in reader:
            line_no = tracker.consumed  # the line a (possibly multi-line) row ends on
            if not any(cell.strip() for cell in row):
                continue
            try:
                if len(row) > len(header):
                    raise RecordError(
                        line_no, f"列数 {len(row)} 多于表头的 {len(header)} 列 (more cells than header)", source=name
                    )
                record = {key: value for key, value in zip(header, row, strict=False) if value != ""}
                yield Message.from_record(record, line_no)
            except RecordError as error:
                error.source = error.source or name
                _report(error, strict, on_error)


FORMATS = ("jsonl", "csv", "qq", "wechat", "telegram")


def detect_format(path: str | Path) -> str:
    """The archive's format from its name and first bytes: a QQ 消息记录 ``.txt``, a WeChat
    (MemoTrace/WeChatMsg) CSV, a Telegram ``result.json``, or our own JSONL / CSV. ``-`` is JSONL."""
    suffix = Path(str(path)).suffix.lower()
    if str(path) == "-":
        return "jsonl"
    head = Path(path).read_bytes()[:4096].decode("utf-8", errors="ignore") if Path(path).is_file() else ""
    if suffix == ".txt":
        from nlp.io.qq_txt import looks_like_qq

        if looks_like_qq(head.splitlines()) or looks_like_qq(_gbk_head(path)):
            return "qq"
    if suffix == ".json":
        from nlp.io.telegram_json import looks_like_telegram

        if looks_like_telegram(head):
            return "telegram"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        from nlp.io.wechat_csv import looks_like_wechat

        first = next(csv.reader([head.lstrip("\ufeff").splitlines()[0] if head else ""]), [])
        return "wechat" if looks_like_wechat(first) else "csv"
    raise ValueError(f"无法判断格式: {path} (use .jsonl/.csv, a QQ .txt, a WeChat .csv or Telegram result.json)")


def _gbk_head(path: str | Path) -> list[str]:
    return Path(path).read_bytes()[:4096].decode("gb18030", errors="ignore").splitlines()


def read_messages(
    path: str | Path,
    *,
    format: str = "auto",
    strict: bool = False,
    on_error: ErrorHandler | None = None,
    mapping: dict[str, str] | None = None,
) -> Iterator[Message]:
    """Read any supported archive (``format``: ``auto`` or one of :data:`FORMATS`).

    ``mapping`` ({our field: their column}, e.g. ``{"text": "内容", "user": "发言人"}``) reads a
    generic CSV/JSONL whose columns have other names."""
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "qq":
        from nlp.io.qq_txt import read_qq_txt

        return read_qq_txt(path, strict=strict, on_error=on_error)
    if fmt == "wechat":
        from nlp.io.wechat_csv import read_wechat_csv

        return read_wechat_csv(path, strict=strict, on_error=on_error)
    if fmt == "telegram":
        from nlp.io.telegram_json import read_telegram_json

        return read_telegram_json(path, strict=strict, on_error=on_error)
    readers = {"jsonl": read_jsonl, "csv": read_csv}
    if fmt not in readers:
        raise ValueError(f"未知格式 {fmt!r} (unknown format; choose from {list(FORMATS)})")
    return readers[fmt](path, strict=strict, on_error=on_error, mapping=mapping)


def _mapped(record: dict, mapping: dict[str, str] | None) -> dict:
    """Rename a record's columns to our field names (their column -> our field)."""
    if not mapping or not isinstance(record, dict):
        return record
    out = dict(record)
    for ours, theirs in mapping.items():
        if theirs in out:
            out[ours] = out.pop(theirs)
    return out
