"""Text files as exported by chat tools: UTF-8 (with or without BOM) or GBK/GB18030, any line ending.

QQ on Windows writes its 消息记录 export in GBK on older versions and UTF-8 on newer ones; WeChat
export tools write UTF-8 with a BOM. Decoding is decided once per file (strict UTF-8 first, then
GB18030, a superset of GBK), so a file is never half one and half the other.

Imports only the standard library.
"""

from __future__ import annotations

from pathlib import Path


def read_text(path: str | Path) -> tuple[str, str]:
    """``(text, encoding)`` of a whole file; line endings are left to ``str.splitlines``."""
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace"), "gb18030"


def read_lines(path: str | Path) -> tuple[list[str], str]:
    text, encoding = read_text(path)
    return text.splitlines(), encoding
