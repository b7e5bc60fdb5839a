"""``qunshao import``: a QQ / WeChat / Telegram export (or any CSV/JSONL) into qunshao's schema.

Every other command reads these formats too (``--format auto`` is the default everywhere); this one
writes the converted records, optionally redacted, as JSONL, CSV or Parquet for other tools.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from nlp.cli.output import SkippedRecords, err
from nlp.io import RecordError, open_writer, read_messages
from nlp.io.readers import FORMATS


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """``text=内容,user=发言人`` -> ``{"text": "内容", "user": "发言人"}``."""
    if not text:
        return None
    mapping = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise typer.BadParameter(f"{part!r}: use field=column, e.g. text=内容,user=发言人", param_hint="--map")
        mapping[ours.strip()] = theirs.strip()
    return mapping


def import_command(
    inputs: Annotated[list[Path], typer.Argument(help="QQ .txt, WeChat .csv, Telegram result.json, CSV or JSONL.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Messages (.jsonl/.csv/.parquet, '-').")],
    format: Annotated[str, typer.Option(help=f"auto or one of: {', '.join(FORMATS)}.")] = "auto",
    map: Annotated[
        str | None, typer.Option("--map", help="Column names of a generic file: text=内容,user=发言人")
    ] = None,
    redact: Annotated[
        bool, typer.Option(help="Mask phone numbers, WeChat ids and QQ numbers in the text; pseudonymise user ids.")
    ] = False,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
) -> None:
    """Convert chat exports into qunshao's message records."""
    from nlp.text.redact import redact as redact_text

    if format != "auto" and format not in FORMATS:
        raise typer.BadParameter(f"{format!r}: choose auto or one of {', '.join(FORMATS)}", param_hint="--format")
    mapping = parse_mapping(map)
    report = SkippedRecords()
    count = 0
    try:
        with open_writer(output) as writer:
            for path in inputs:
                for message in read_messages(path, format=format, strict=strict, on_error=report, mapping=mapping):
                    record = message.to_record()
                    record["text"] = message.text
                    if message.ts is not None:
                        record["ts"] = message.ts.isoformat()
                    for key in ("user", "reply_to"):
                        if getattr(message, key) is not None:
                            record[key] = getattr(message, key)
                    if redact:
                        record["text"] = redact_text(record["text"])
                        if record.get("user_id"):  # a QQ number or email: a stable pseudonym instead
                            digest = hashlib.sha256(str(record["user_id"]).encode()).hexdigest()[:10]
                            record["user_id"] = f"id-{digest}"
                    writer.write(record)
                    count += 1
    except (RecordError, ValueError) as exc:
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"imported {count} messages" + (f"; {report.summary()}" if report.errors else ""), highlight=False)
