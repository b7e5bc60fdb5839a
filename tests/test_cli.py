"""The ``qunshao`` command as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nlp.cli.app import app

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


def test_inspect_sample_archive_writes_every_message(tmp_path: Path) -> None:
    out = tmp_path / "inspected.jsonl"
    result = runner.invoke(app, ["inspect", str(DATA / "sample_chat.jsonl"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 263
    by_id = {row["id"]: row for row in rows}
    ad = by_id["nanshan-run-0013"]  # 加V信 ①③⑧ 0000 1111
    assert any(s["kind"] == "phone" and s["value"] == "13800001111" and s["obfuscated"] for s in ad["signals"])
    assert by_id["ppt-study-0001"]["user"] == "小鹿"  # input fields are kept
    assert "按群统计" in result.output and "nanshan-run" in result.output


def test_inspect_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    archive = tmp_path / "chat.jsonl"
    archive.write_text('{"text": "早安打卡"}\n{"text": \n{"user": "x"}\n{"text": "加薇❤: abc_123"}\n', "utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["inspect", str(archive), "-o", str(out)])
    assert result.exit_code == 0
    assert "第 2 行" in result.output and "第 3 行" in result.output
    assert len(out.read_text("utf-8").splitlines()) == 3  # header + two good rows


def test_inspect_strict_fails_on_bad_record(tmp_path: Path) -> None:
    archive = tmp_path / "chat.jsonl"
    archive.write_text('{"text": "ok"}\n{"user": "x"}\n', "utf-8")
    result = runner.invoke(app, ["inspect", str(archive), "--strict"])
    assert result.exit_code == 1
    assert "第 2 行" in result.output


def test_usage_error_exit_code() -> None:
    assert runner.invoke(app, ["inspect"]).exit_code == 2


def test_model_info_lists_licence() -> None:
    result = runner.invoke(app, ["model", "info"])
    assert result.exit_code == 0
    assert "m3e-small" in result.output and "不可商用" in result.output
