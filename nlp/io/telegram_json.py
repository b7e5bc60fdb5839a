"""Telegram Desktop exports (Export chat history -> JSON -> ``result.json``).

One chat (``{"name", "type", "id", "messages": [...]}``) or a full export (``{"chats": {"list":
[...]}}``). Each message has ``id``, ``type`` (``message``; ``service`` notices are skipped),
``date`` (local ISO time), ``from`` / ``from_id``, ``reply_to_message_id`` and ``text``: a string, or
a list of strings and entity objects (links, mentions, bold ...) whose ``text`` parts are joined.
Media without a caption become a placeholder. A message that cannot be read is reported by its
position (``第 N 条消息``) and skipped.

Imports only the standard library and :mod:`nlp.io`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from nlp.io.decoding import read_text
from nlp.io.readers import ErrorHandler, _report
from nlp.io.schema import Message, RecordError, check_unicode

MEDIA = {
    "photo": "[图片]",
    "video_file": "[视频]",
    "voice_message": "[语音]",
    "sticker": "[表情]",
    "animation": "[动图]",
    "audio_file": "[音频]",
    "video_message": "[视频]",
}


def looks_like_telegram(head: str) -> bool:
    start = head.lstrip()[:2000]
    return start.startswith("{") and ('"messages"' in start or '"chats"' in start)


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in value)
    return ""


def read_telegram_json(
    path: str | Path, *, strict: bool = False, on_error: ErrorHandler | None = None
) -> Iterator[Message]:
    raw, _ = read_text(path)
    name = Path(path).name
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordError(exc.lineno, f"不是合法的 JSON：{exc.msg} (invalid JSON)", source=name) from None
    chats = data.get("chats", {}).get("list", []) if "chats" in data else [data]
    escaped_surrogates = "\\ud" in raw or "\\uD" in raw  # else no message can hold an unpaired one
    position = 0
    for chat in chats:
        group = str(chat.get("name") or chat.get("id") or "default")
        for item in chat.get("messages", []):
            position += 1
            try:
                if not isinstance(item, dict):
                    raise RecordError(
                        position, "消息不是 JSON 对象 (message is not an object)", source=name, unit="条消息"
                    )
                if item.get("type", "message") != "message":
                    continue
                text = _text(item.get("text"))
                if not text.strip():
                    media = item.get("media_type") or ("photo" if "photo" in item else None)
                    text = MEDIA.get(media or "", "[文件]" if "file" in item else "")
                if not text:
                    continue
                record = {
                    "id": str(item["id"]) if "id" in item else None,
                    "group": group,
                    "user": item.get("from") or item.get("actor"),
                    "user_id": item.get("from_id"),
                    "ts": item.get("date_unixtime") or item.get("date"),
                    "reply_to": str(item["reply_to_message_id"]) if item.get("reply_to_message_id") else None,
                    "text": text,
                }
                record = {k: v for k, v in record.items() if v is not None}
                if escaped_surrogates:
                    check_unicode(record, position)
                yield Message.from_record(record, position)
            except RecordError as error:
                error.source, error.unit = error.source or name, "条消息"
                _report(error, strict, on_error)
