"""WeChat chat exports as CSV, in the column layout of MemoTrace / WeChatMsg.

Columns: ``localId, TalkerId, Type, SubType, IsSender, CreateTime, Status, StrContent, StrTime,
Remark, NickName, Sender`` (UTF-8 with BOM). ``Type`` 1 is text and is kept as written; pictures,
voice, video, stickers, files and links become a placeholder (``[图片]``, ``[语音]`` ...) so the
conversation keeps its shape; a shared link or a quoted reply (``Type`` 49) keeps its title and
description when the export has the message's XML (``[链接] 在家兼职，日结三百 …``; a quoted reply is
its words alone); system notices (10000, 10002: joins, recalls) are skipped. The group
is ``TalkerId``, the speaker ``NickName`` (else ``Sender``; ``我`` for the exporter's own messages),
the time ``CreateTime`` (epoch seconds; ``StrTime`` when it is missing). A row that cannot be read is
reported with its line number and skipped.

Imports only the standard library and :mod:`nlp.io`.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from pathlib import Path

from nlp.io.decoding import read_text
from nlp.io.readers import ErrorHandler, _report
from nlp.io.schema import Message, RecordError

COLUMNS = ("localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent", "StrTime")
PLACEHOLDERS = {
    "3": "[图片]",
    "34": "[语音]",
    "43": "[视频]",
    "47": "[表情]",
    "48": "[位置]",
    "42": "[名片]",
    "49": "[链接/文件]",
    "50": "[通话]",
}
SYSTEM_TYPES = {"10000", "10002"}


# Type 49 (an "app message") by SubType: what the card is; its XML's <title> says what it holds
APP_PLACEHOLDERS = {
    "5": "[链接]",
    "6": "[文件]",
    "19": "[聊天记录]",
    "33": "[小程序]",
    "36": "[小程序]",
    "51": "[视频号]",
}
QUOTE_SUBTYPE = "57"  # a reply quoting an earlier message: the member's words are the <title>
_XML_FIELD = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.S) for tag in ("title", "des")}
_CDATA = re.compile(r"^<!\[CDATA\[(.*)\]\]>$", re.S)


def _xml_text(xml: str, tag: str) -> str:
    """The first ``<tag>`` of an app message's XML, unescaped (a regex: the XML is often not
    well-formed, and only two fields are wanted)."""
    found = _XML_FIELD[tag].search(xml)
    if found is None:
        return ""
    value = found.group(1).strip()
    cdata = _CDATA.match(value)
    return html.unescape(cdata.group(1) if cdata else value).strip()


def _app_message(content: str, subtype: str) -> str:
    """A shared link, file, mini program or quoted reply. When the export kept the XML, its words
    stay readable (a shared article is a common 引流 vector, and a quoted reply is a member's
    message); otherwise the placeholder."""
    placeholder = APP_PLACEHOLDERS.get(subtype, PLACEHOLDERS["49"])
    if "<appmsg" not in content:
        return content.strip() if subtype == QUOTE_SUBTYPE and content.strip() else placeholder
    title, description = _xml_text(content, "title"), _xml_text(content, "des")
    if subtype == QUOTE_SUBTYPE and title:
        return title
    words = [title] if title else []
    if description and description != title:
        words.append(description)
    return " ".join([placeholder, *words])


def _cells(row: list[str], col: dict[str, int]):
    return lambda key: row[col[key]].strip() if key in col else ""


def looks_like_wechat(header: list[str]) -> bool:
    return {"localId", "StrContent", "TalkerId"} <= {h.strip() for h in header}


def read_wechat_csv(
    path: str | Path, *, strict: bool = False, on_error: ErrorHandler | None = None
) -> Iterator[Message]:
    text, _ = read_text(path)
    name = Path(path).name
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in ("localId", "TalkerId", "Type", "StrContent") if c not in header]
    if missing:
        raise RecordError(1, f"不是微信导出的表头，缺少列 {missing} (not a WeChat export header)", source=name)
    col = {h: i for i, h in enumerate(header)}
    line_no = 1
    for row in reader:
        line_no = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < len(header):
                raise RecordError(line_no, f"只有 {len(row)} 列，表头有 {len(header)} 列 (row too short)", source=name)
            cell = _cells(row, col)
            kind = cell("Type")
            if kind in SYSTEM_TYPES:
                continue
            content = row[col["StrContent"]]
            if kind == "1":
                if not content.strip():
                    raise RecordError(line_no, "文本消息内容为空 (empty text message)", "StrContent", name)
            elif kind == "49":
                content = _app_message(content, cell("SubType"))
            elif kind in PLACEHOLDERS:
                content = PLACEHOLDERS[kind]
            else:
                content = f"[消息类型 {kind}]"
            user = cell("NickName") or cell("Remark") or cell("Sender")
            if cell("IsSender") == "1" and not user:
                user = "我"
            record = {
                "id": cell("localId") or str(line_no),
                "group": cell("TalkerId") or "default",
                "user": user or None,
                "ts": cell("CreateTime") or cell("StrTime") or None,
                "text": content,
                "type": kind,
            }
            yield Message.from_record(record, line_no)
        except RecordError as error:
            error.source = error.source or name
            _report(error, strict, on_error)
