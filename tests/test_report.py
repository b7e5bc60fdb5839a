"""The operator's HTML report: metrics on a hand-made group, the command on the QQ-format sample,
and (where Debian's chromium is installed) a headless render."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.io import Message
from nlp.report import group_health

DATA = Path(__file__).resolve().parents[1] / "data"


def test_group_health_metrics() -> None:
    day = datetime(2026, 5, 1, 9)
    rows = [
        ("a", 0, "大家早", None),
        ("b", 0, "早", "1"),
        ("a", 0, "@c 今天来吗", None),
        ("a", 0, "好", None),
        ("c", 1, "来的", None),
        ("a", 1, "好的", None),
        ("d", 1, "新人报到", None),
        ("a", 2, "收到", None),
        ("a", 2, "加微信 abc_123 领资料", None),
        ("a", 2, "明天见", None),
    ]
    messages = [
        Message(text=t, id=str(i + 1), group="g", user=u, ts=day + timedelta(days=d, minutes=i), reply_to=r)
        for i, (u, d, t, r) in enumerate(rows)
    ]
    labels = [[] for _ in rows]
    labels[8] = ["ad"]
    health = group_health(messages, labels)
    assert health.members == 4 and health.messages_per_day == [4, 3, 3] and health.active_per_day == [2, 3, 1]
    assert health.daily_active == pytest.approx(2.0)
    assert health.interaction_rate == pytest.approx(0.2)  # one reply, one @mention
    assert health.new_members == 2 and health.retention == 0.0  # c and d never came back on a later day
    assert health.concentration == pytest.approx(0.7)  # the top 20% (one member, a) sent 7 of 10
    assert health.label_totals["ad"] == 1 and health.offenders == [("a", 1, "ad")]
    assert health.label_rates["ad"] == [0.0, 0.0, pytest.approx(1 / 3)]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, onnx_encoder) -> Path:
    from nlp.cli.app import app

    out = tmp_path_factory.mktemp("report") / "report.html"
    args = ["report", str(DATA / "sample_chat_qq.txt"), "--groups", str(DATA / "sample_groups.yaml"), "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_report_is_self_contained_with_charts_and_a_chinese_summary(report_file: Path) -> None:
    html = report_file.read_text("utf-8")
    assert html.count("<svg") >= 6 and "<polyline" in html  # charts for three groups, inline
    assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing fetched from the network
    for group in ("PPT设计学习群", "南山夜跑团", "宝妈育儿交流群"):
        assert f"群：{group}" in html
    assert "日活跃人数" in html and "发言率" in html and "互动率" in html and "建议：" in html
    assert "谣言" in html  # the sample's 奶粉 rumour reaches the report with its evidence


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed")
def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", report_file.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert "群健康报告" in dom and "建议：" in dom and "<polyline" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", *flags, "--window-size=1280,1800", f"--screenshot={shot}", report_file.as_uri()],
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a page with text and charts, not blank
