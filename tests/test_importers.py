"""Importers on the sample exports in data/samples/ (written by the team in each tool's format)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.cli.app import app
from nlp.io import RecordError, read_messages
from nlp.io.readers import detect_format

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _read(name: str, **kw):
    errors: list[RecordError] = []
    return list(read_messages(SAMPLES / name, on_error=errors.append, **kw)), errors


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("qq_export.txt", "qq"),
        ("qq_export_gbk.txt", "qq"),
        ("wechat_export.csv", "wechat"),
        ("telegram_result.json", "telegram"),
        ("generic_mapped.csv", "csv"),
    ],
)
def test_formats_are_detected(name: str, fmt: str) -> None:
    assert detect_format(SAMPLES / name) == fmt


def test_qq_export_keeps_multiline_messages_skips_system_and_reports_bad_lines() -> None:
    assert (SAMPLES / "qq_export.txt").read_bytes().count(b"\r\n") > 10  # written with Windows line endings
    messages, errors = _read("qq_export.txt")
    assert [m.user for m in messages] == ["小周", "阿杰", "跑跑", "跑步装备小店", "助教-木木", "小鹿"]
    assert messages[1].text == "收到\n我顺便带几瓶水\n大家别迟到"  # one message, three lines
    assert messages[1].fields["user_id"] == "ajie@example.com" and messages[0].fields["user_id"] == "123456789"
    assert {m.group for m in messages} == {"南山夜跑团", "PPT设计学习群"}
    assert messages[0].ts.isoformat() == "2024-03-02T08:01:15"
    assert not any("加入了本群" in m.text for m in messages)  # 系统消息(10000)
    assert [(e.line, e.field) for e in errors] == [(9, None), (22, "ts")]
    assert all("qq_export.txt" in str(e) for e in errors)


def test_qq_export_in_gbk() -> None:
    assert b"\xe6" not in (SAMPLES / "qq_export_gbk.txt").read_bytes()[:60]  # really not UTF-8
    messages, errors = _read("qq_export_gbk.txt")
    assert not errors and [m.group for m in messages] == ["阳光花园业主群"] * 3
    assert messages[0].text == "本周六上午九点消防演练，请大家配合"


def test_wechat_export_text_kept_media_placeholders_system_skipped() -> None:
    messages, errors = _read("wechat_export.csv")
    assert [m.id for m in messages] == ["1", "2", "3", "5", "7", "8"]
    by_id = {m.id: m for m in messages}
    assert by_id["3"].text == "[图片]" and by_id["8"].text == "[语音]"
    assert by_id["5"].user == "我"  # the exporter's own message
    assert by_id["1"].group == "12345678@chatroom" and by_id["1"].ts.isoformat() == "2024-03-02T08:00:00"
    assert [e.line for e in errors] == [7]


def test_wechat_app_messages_keep_their_words_when_the_export_has_the_xml(tmp_path: Path) -> None:
    """Type 49: a shared article (a common 引流 vector) and a quoted reply (a member's message) are
    readable; without the XML they stay placeholders."""
    import csv

    header = ["localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent", "StrTime"]
    card = (
        '<?xml version="1.0"?><msg><appmsg appid="" sdkver="0"><title>在家兼职，日结三百</title>'
        "<des>宝妈学生均可 &amp; 点击报名</des><type>5</type><url>http://example.com/a</url></appmsg></msg>"
    )
    quote = "<msg><appmsg><title><![CDATA[同意，周六见]]></title><type>57</type><refermsg><content>周六跑吗</content></refermsg></appmsg></msg>"
    rows = [
        ["1", "g@chatroom", "49", "5", "0", "1709337600", "2", card, ""],
        ["2", "g@chatroom", "49", "57", "0", "1709337660", "2", quote, ""],
        ["3", "g@chatroom", "49", "6", "0", "1709337720", "2", "", ""],
        ["4", "g@chatroom", "49", "5", "0", "1709337780", "2", "<msg><appmsg><title></title></appmsg></msg>", ""],
    ]
    path = tmp_path / "wechat.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    messages = list(read_messages(path))
    assert [m.text for m in messages] == [
        "[链接] 在家兼职，日结三百 宝妈学生均可 & 点击报名",
        "同意，周六见",
        "[文件]",
        "[链接]",
    ]


def test_telegram_export_joins_entities_keeps_replies_reports_by_position() -> None:
    messages, errors = _read("telegram_result.json")
    assert [m.id for m in messages] == ["102", "103", "105", "106"]
    assert messages[1].text == "加encoding='gbk' 试试，文档见 https://pandas.pydata.org"
    assert messages[1].reply_to == "102" and messages[2].text == "[图片]"
    assert [str(e).split(": ", 1)[1].startswith("第 4 条消息") for e in errors] == [True]


def test_generic_csv_with_a_column_mapping() -> None:
    mapping = {"text": "内容", "user": "发言人", "ts": "时间", "group": "群"}
    messages, errors = _read("generic_mapped.csv", mapping=mapping)
    assert [m.user for m in messages] == ["书虫", "阿兰", "老吴"] and messages[0].group == "读书会"
    assert [(e.line, e.field) for e in errors] == [(4, "text")]


def test_import_command_redacts_and_writes_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "qq.parquet"
    result = CliRunner().invoke(app, ["import", str(SAMPLES / "qq_export.txt"), "-o", str(out), "--redact"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out).to_pylist()
    assert len(table) == 6
    ad = next(r for r in table if r["user"] == "跑步装备小店")
    assert "138******11" in ad["text"] and "0000 1111" not in ad["text"]
    assert ad["user_id"].startswith("id-") and "998877665" not in json.dumps(table, ensure_ascii=False)


def test_score_reads_a_qq_export_directly(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    model = Path(__file__).resolve().parents[1] / "models" / "encoder-free"
    result = CliRunner().invoke(app, ["score", str(SAMPLES / "qq_export.txt"), "-o", str(out), "--model", str(model)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 6
    assert "ad" in next(r for r in rows if r["user"] == "跑步装备小店")["labels"]
