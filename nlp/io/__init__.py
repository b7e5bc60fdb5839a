"""I/O stage: archives in (JSONL, CSV) as :class:`Message` records, scored records out.

Nothing here knows about models; nothing below the pipeline knows about files.
"""

from nlp.io.readers import detect_format, read_csv, read_jsonl, read_messages
from nlp.io.schema import DEFAULT_GROUP, Message, RecordError, parse_ts
from nlp.io.writers import CsvWriter, JsonlWriter, open_writer

__all__ = [
    "DEFAULT_GROUP",
    "CsvWriter",
    "JsonlWriter",
    "Message",
    "RecordError",
    "detect_format",
    "open_writer",
    "parse_ts",
    "read_csv",
    "read_jsonl",
    "read_messages",
]
