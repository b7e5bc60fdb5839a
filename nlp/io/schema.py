"""The one message schema every source is read into, and the error a bad record raises.

Contract (../shared/DESIGN.md): only ``text`` is required; ``id`` defaults to the 1-based line
number, ``group`` to ``"default"``; ``ts`` is ISO-8601 or epoch seconds. Times are kept naive in
China Standard Time (UTC+8, no DST): epoch seconds and ISO strings with an offset are converted, ISO
strings without one are taken as already local. One convention means archives from QQ (local time)
and bots (epoch) sort together.

Imports only the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA_TZ = timezone(timedelta(hours=8), "CST")
DEFAULT_GROUP = "default"
KNOWN_FIELDS = ("id", "group", "user", "ts", "text", "reply_to", "group_topic")


class RecordError(ValueError):
    """A record that cannot become a :class:`Message`; names its line and field."""

    def __init__(self, line: int, message: str, field: str | None = None, source: str | None = None, unit: str = "行"):
        self.line = line
        self.field = field
        self.source = source
        self.reason = message
        self.unit = unit  # "行" (line) for text formats, "条消息" (message) for a JSON export
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}第 {self.line} {self.unit}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. ``fields`` keeps the input record as given, so outputs can echo it."""

    text: str
    id: str
    group: str = DEFAULT_GROUP
    user: str | None = None
    ts: datetime | None = None
    reply_to: str | None = None
    group_topic: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    line: int = field(default=0, compare=False)  # 1-based position in its source, for later error messages

    @classmethod
    def from_record(cls, record: Mapping[str, Any], line: int) -> Message:
        """Validate one input record; ``line`` is its 1-based position, used for defaults and errors."""
        if not isinstance(record, Mapping):
            raise RecordError(line, f"记录必须是对象，而不是 {type(record).__name__} (record must be an object)")
        if "text" not in record or record["text"] is None:
            raise RecordError(line, '缺少字段 "text" (missing field "text")', "text")
        text = record["text"]
        if not isinstance(text, str):
            raise RecordError(line, f'字段 "text" 必须是字符串 (field "text" must be a string, got {text!r})', "text")
        return cls(
            text=text,
            id=_optional_str(record, "id", line) or str(line),
            group=_optional_str(record, "group", line) or DEFAULT_GROUP,
            user=_optional_str(record, "user", line),
            ts=parse_ts(record.get("ts"), line),
            reply_to=_optional_str(record, "reply_to", line),
            group_topic=_optional_str(record, "group_topic", line),
            fields=dict(record),
            line=line,
        )

    def to_record(self) -> dict[str, Any]:
        """The input record with defaults filled in (``id``, ``group``), ready for a writer."""
        record = dict(self.fields)
        record["id"] = self.id
        record["group"] = self.group
        record.setdefault("text", self.text)
        return record


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_unicode(record: Mapping[str, Any], line: int) -> None:
    """Refuse a record whose strings hold an unpaired UTF-16 surrogate (JSON lets ``"\\ud83d"`` stand
    alone: half of an emoji an exporter cut in two). It is not text: no encoder, model or output
    file can take it, and scoring stopped on it with a traceback. The error names the field, as
    undecodable bytes name their line, and the rest of the archive is read on."""
    for name, value in record.items():
        if _holds_surrogate(name) or _holds_surrogate(value):
            raise RecordError(
                line,
                f'字段 "{name}" 含有不成对的 UTF-16 代理字符（多为导出时被截断的表情），不是合法文本 '
                f'(field "{name}" holds an unpaired UTF-16 surrogate, e.g. half of an emoji cut by the exporter)',
                str(name),
            )


def _holds_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, Mapping):
        return any(_holds_surrogate(k) or _holds_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_surrogate(v) for v in value)
    return False


def _optional_str(record: Mapping[str, Any], name: str, line: int) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(
            line, f'字段 "{name}" 必须是字符串或整数 (field "{name}" must be a string, got {value!r})', name
        )
    return str(value)


def parse_ts(value: Any, line: int = 0) -> datetime | None:
    """ISO-8601 string or epoch seconds (number or numeric string) -> naive China Standard Time."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(line, f'字段 "ts" 不是时间 (field "ts" is not a time: {value!r})', "ts")
    if isinstance(value, str):
        stripped = value.strip()
        try:
            value = float(stripped)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
            except ValueError:
                raise RecordError(
                    line,
                    f'字段 "ts" 不是 ISO-8601 时间或秒级时间戳 (field "ts" is not ISO-8601 or epoch: {value!r})',
                    "ts",
                ) from None
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(CHINA_TZ).replace(tzinfo=None)
            return parsed
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 1e11:
            raise RecordError(
                line, f'字段 "ts" 超出秒级时间戳范围 (field "ts" out of range for epoch seconds: {value!r})', "ts"
            )
        return datetime.fromtimestamp(value, CHINA_TZ).replace(tzinfo=None)
    raise RecordError(line, f'字段 "ts" 不是时间 (field "ts" is not a time: {value!r})', "ts")
