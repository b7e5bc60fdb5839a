"""QQ 消息记录 text exports (消息管理器 -> 导出消息记录 -> .txt).

The format, as QQ writes it::

    消息记录（此消息记录为文本格式，不支持重新导入）

    ================================================================
    消息分组:我的QQ群
    ================================================================
    消息对象:南山夜跑团
    ================================================================

    2024-03-02 8:01:15 小周(123456789)
    今晚七点半集合

    2024-03-02 8:03:40 阿杰<ajie@example.com>
    收到
    顺便带上水

A message is a header line ``YYYY-MM-DD H:MM:SS 昵称(QQ号)`` (or ``昵称<email>``) followed by its
content lines up to the next header; content keeps its inner line breaks. ``系统消息(10000)`` lines
are QQ's own notices and are skipped. The group is the ``消息对象`` (one export can hold several).
A content line before any header, or a header whose date is impossible, is reported with its line
number and skipped; everything else is kept. UTF-8 or GBK, any line ending (:mod:`nlp.io.decoding`).

Imports only the standard library and :mod:`nlp.io`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from nlp.io.decoding import read_lines
from nlp.io.readers import ErrorHandler, _report
from nlp.io.schema import Message, RecordError

TITLE = "消息记录（此消息记录为文本格式，不支持重新导入）"
HEADER = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}) (\d{1,2}:\d{2}:\d{2}) (.+?)(?:\((\d{4,12})\)|<([^<>\s]+@[^<>\s]+)>)\s*$")
SYSTEM_USERS = {"10000"}


def looks_like_qq(lines: list[str]) -> bool:
    head = [line.strip() for line in lines[:40]]
    return any(line.startswith("消息记录") or line.startswith("消息对象:") for line in head) or any(
        HEADER.match(line) for line in head
    )


def read_qq_txt(path: str | Path, *, strict: bool = False, on_error: ErrorHandler | None = None) -> Iterator[Message]:
    lines, _ = read_lines(path)
    name = Path(path).name
    group = "default"
    current: dict | None = None

    def finish(message: dict | None) -> Message | None:
        if message is None or message.get("skip"):
            return None
        body = "\n".join(message["lines"]).strip("\n")
        if message["system"] or not body.strip():
            return None
        record = {
            "id": f"{message['group']}-{message['line']}",
            "group": message["group"],
            "user": message["user"],
            "user_id": message["user_id"],
            "ts": message["ts"].isoformat(),
            "text": body,
        }
        return Message.from_record(record, message["line"])

    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("消息对象:") or stripped.startswith("消息对象："):
            if (done := finish(current)) is not None:
                yield done
            current = None
            group = stripped.split(":", 1)[-1].split("：", 1)[-1].strip() or "default"
            continue
        if stripped == TITLE or stripped.startswith("消息分组") or (stripped and set(stripped) == {"="}):
            if (done := finish(current)) is not None:
                yield done
            current = None
            continue
        header = HEADER.match(stripped)
        if header:
            if (done := finish(current)) is not None:
                yield done
            current = None
            date, time, nick, qq, email = header.groups()
            try:
                ts = datetime.strptime(f"{date} {time}", "%Y-%m-%d %H:%M:%S")
            except ValueError:
                _report(
                    RecordError(line_no, f"消息头的时间无效：{date} {time} (invalid time in header)", "ts", name),
                    strict,
                    on_error,
                )
                current = {"skip": True}
                continue
            current = {
                "line": line_no,
                "group": group,
                "user": nick.strip(),
                "user_id": qq or email,
                "ts": ts,
                "lines": [],
                "system": (qq in SYSTEM_USERS) or nick.strip() == "系统消息",
                "skip": False,
            }
            continue
        if current is None:
            if stripped:
                _report(
                    RecordError(
                        line_no, "消息内容前没有消息头（日期 时间 昵称(QQ号)）(content before any header)", source=name
                    ),
                    strict,
                    on_error,
                )
            continue
        if current.get("skip"):
            continue
        current["lines"].append(line)
    if (done := finish(current)) is not None:
        yield done
