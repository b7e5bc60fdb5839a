"""Readers keep every good record and name the line and field of every bad one."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from nlp.io import Message, RecordError, open_writer, parse_ts, read_csv, read_jsonl, read_messages

DATA = Path(__file__).resolve().parents[1] / "data"


def _collect(reader, path: Path) -> tuple[list[Message], list[RecordError]]:
    errors: list[RecordError] = []
    return list(reader(path, on_error=errors.append)), errors


def test_sample_archive_reads_cleanly() -> None:
    messages, errors = _collect(read_jsonl, DATA / "sample_chat.jsonl")
    assert errors == []
    assert len(messages) == 263
    assert {m.group for m in messages} == {"ppt-study", "nanshan-run", "baby-care"}
    assert all(m.ts is not None for m in messages)
    replies = [m for m in messages if m.reply_to]
    ids = {m.id for m in messages}
    assert replies and all(m.reply_to in ids for m in replies)


def test_bad_jsonl_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "早安打卡"}, ensure_ascii=False).encode(),
        b'{"id": "b", "text": "\xe6\x94\xb6\xe5\x88',  # truncated JSON
        json.dumps({"id": "c", "user": "小鹿"}, ensure_ascii=False).encode(),  # no text
        '{"id": "d", "text": "加微信"}'.encode("gbk"),  # a GBK line in a UTF-8 file
        json.dumps({"text": "收到"}, ensure_ascii=False).encode(),
        b"",
        json.dumps({"id": "f", "text": 42}).encode(),
        json.dumps({"id": "g", "text": "好的", "ts": "yesterday"}).encode(),
        json.dumps(["not", "an", "object"]).encode(),
        json.dumps({"id": "i", "text": "最后一条"}, ensure_ascii=False).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    messages, errors = _collect(read_jsonl, path)
    assert [m.text for m in messages] == ["早安打卡", "收到", "最后一条"]
    assert messages[1].id == "5"  # id defaults to the line number
    assert [(e.line, e.field) for e in errors] == [(2, None), (3, "text"), (4, None), (7, "text"), (8, "ts"), (9, None)]
    assert str(errors[1]) == 'chat.jsonl: 第 3 行: 缺少字段 "text" (missing field "text")'
    assert "UTF-8" in str(errors[2])


def test_an_unpaired_surrogate_is_a_named_error_not_a_crash(tmp_path: Path) -> None:
    # JSON lets "\\ud83d" stand alone (half of an emoji an exporter cut): not text any model or
    # output file can take. The record is refused with its field named; a whole emoji written as an
    # escaped pair is fine; the rest of the archive is read, and scored (CLI) without a traceback.
    path = tmp_path / "chat.jsonl"
    path.write_text(
        '{"id": "a", "text": "收到"}\n'
        '{"id": "b", "text": "哈哈\\ud83d"}\n'
        '{"id": "c", "text": "好的", "user": "小\\udc00鹿"}\n'
        '{"id": "d", "text": "笑死\\ud83d\\ude02"}\n'
        '{"id": "e", "text": "最后一条", "extra": {"note": ["\\udfff"]}}\n'
        '{"id": "f", "text": "\\\\ud800 is how JSON writes it"}\n',
        "utf-8",
    )
    messages, errors = _collect(read_jsonl, path)
    assert [m.id for m in messages] == ["a", "d", "f"]
    assert messages[1].text == "笑死😂" and messages[2].text.startswith("\\ud800")
    assert [(e.line, e.field) for e in errors] == [(2, "text"), (3, "user"), (5, "extra")]
    assert "代理字符" in str(errors[0]) and "surrogate" in str(errors[0])


def test_strict_mode_stops_at_first_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"text": "ok"}\n{"user": "x"}\n{"text": "never read"}\n', "utf-8")
    reader = read_jsonl(path, strict=True)
    assert next(reader).text == "ok"
    with pytest.raises(RecordError, match="第 2 行"):
        next(reader)


def test_csv_with_bom_crlf_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    content = (
        "\ufeffid,group,user,ts,text\r\n"
        "m1,ppt,小鹿,2026-03-02T08:01:00,早安打卡\r\n"
        'm2,ppt,阿杰,2026-03-02T08:02:00,"多行消息\r\n第二行"\r\n'
        "m3,ppt,老王,2026-03-02T08:03:00,\r\n"
        "m4,ppt,晴天,1772409780,收到\r\n"
        "m5,ppt,胖虎,2026-03-02T08:05:00,多,了,一列\r\n"
    ).encode()
    path.write_bytes(content)
    messages, errors = _collect(read_csv, path)
    assert [m.id for m in messages] == ["m1", "m2", "m4"]
    assert messages[1].text == "多行消息\r\n第二行"
    assert messages[2].ts == datetime(2026, 3, 2, 8, 3)  # epoch seconds read as China Standard Time
    assert [(e.line, e.field) for e in errors] == [(5, "text"), (7, None)]


def test_csv_without_text_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text("id,内容\n1,你好\n", "utf-8")
    with pytest.raises(RecordError, match='表头缺少列 "text"'):
        list(read_csv(path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T19:30:40", datetime(2026, 3, 2, 19, 30, 40)),
        ("2026-03-02T11:30:40Z", datetime(2026, 3, 2, 19, 30, 40)),
        ("2026-03-02 19:30:40+08:00", datetime(2026, 3, 2, 19, 30, 40)),
        (1772451040, datetime(2026, 3, 2, 19, 30, 40)),
        ("1772451040", datetime(2026, 3, 2, 19, 30, 40)),
        (None, None),
    ],
)
def test_timestamps(value, expected) -> None:
    assert parse_ts(value) == expected


def test_writers_round_trip_keep_input_fields(tmp_path: Path) -> None:
    messages = list(read_messages(DATA / "sample_chat.jsonl"))[:5]
    for suffix in (".jsonl", ".csv"):
        out = tmp_path / f"out{suffix}"
        with open_writer(out) as writer:
            for m in messages:
                writer.write(m.to_record() | {"tokens": ["早安", "打卡"]})
        back = list(read_messages(out))
        assert [(m.id, m.group, m.user, m.text, m.ts) for m in back] == [
            (m.id, m.group, m.user, m.text, m.ts) for m in messages
        ]
        tokens = back[0].fields["tokens"]
        assert (json.loads(tokens) if suffix == ".csv" else tokens) == ["早安", "打卡"]


def test_unknown_extension_is_rejected() -> None:
    with pytest.raises(ValueError, match="无法判断格式"):
        list(read_messages("chat.xlsx"))
