"""The moderation service, started for real on a loopback port and called over HTTP."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "python_client"))

from qunshao_client import QunshaoClient, QunshaoError  # noqa: E402

TOKEN = "test-secret"
RUN = "南山夜跑团：跑步训练、路线约跑、装备与伤病交流"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(pipeline, db: Path, **settings) -> Iterator[str]:
    import uvicorn

    from nlp.serve import Settings, create_app

    port = _free_port()
    app = create_app(Settings(db=db, token=TOKEN, **settings), pipeline=pipeline)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def pipeline(onnx_encoder):
    from nlp.classify.model_files import DEFAULT_MODEL_DIR
    from nlp.pipeline import Pipeline

    return Pipeline(DEFAULT_MODEL_DIR, encoder=onnx_encoder)


@pytest.fixture(scope="module")
def server(pipeline, tmp_path_factory) -> Iterator[str]:
    with live_server(pipeline, tmp_path_factory.mktemp("serve") / "state.db", max_messages=8) as url:
        yield url


def _raw(url: str, body: bytes, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_moderate_through_the_client(server: str) -> None:
    client = QunshaoClient(server, token=TOKEN)
    ad, calm = client.moderate(
        [{"text": "兼职刷单日结三百，加V：jz_7788", "id": "a"}, {"text": "好的，谢谢", "id": "b"}]
    )
    assert ad["id"] == "a" and "ad" in ad["labels"] and ad["suggestion"] in ("review", "block") and ad["reasons"]
    assert calm["labels"] == [] and calm["suggestion"] == "pass"
    assert client.health()["status"] == "ok"


def test_auth_is_required(server: str) -> None:
    status, body = _raw(f"{server}/v1/moderate", b'{"messages": [{"text": "hi"}]}', token=None)
    assert status == 401 and "token" in body["detail"]
    status, _ = _raw(f"{server}/v1/moderate", b'{"messages": [{"text": "hi"}]}', token="wrong")
    assert status == 401


def test_limits_give_413(server: str) -> None:
    many = json.dumps({"messages": [{"text": f"消息{i}"} for i in range(9)]}).encode()
    status, body = _raw(f"{server}/v1/moderate", many)
    assert status == 413 and "limit is 8" in body["detail"]
    huge = json.dumps({"messages": [{"text": "长" * 10}], "padding": "x" * 1_100_000}).encode()
    status, body = _raw(f"{server}/v1/moderate", huge)
    assert status == 413 and "over the limit" in body["detail"]


def test_malformed_input_is_422_not_500(server: str) -> None:
    status, body = _raw(f"{server}/v1/moderate", b'{"messages": [{"text": "unterminated')
    assert status == 422 and "json" in json.dumps(body).lower()
    status, body = _raw(f"{server}/v1/moderate", b'{"messages": [{"id": "1"}]}')
    assert status == 422 and "text" in json.dumps(body)
    status, body = _raw(f"{server}/v1/moderate", b'{"messages": [{"text": "hi", "ts": "yesterday"}]}')
    assert status == 422 and "messages[0]" in body["detail"] and "ts" in body["detail"]
    status, body = _raw(f"{server}/v1/moderate", json.dumps({"messages": [{"text": "长" * 5000}]}).encode())
    assert status == 422  # over the per-message length cap


def test_openai_moderations_shape(server: str) -> None:
    status, body = _raw(
        f"{server}/v1/moderations", json.dumps({"input": ["你是不是脑子有病，滚出去", "今天天气不错"]}).encode()
    )
    assert status == 200 and body["id"].startswith("modr-") and body["model"].startswith("qunshao-")
    abuse, calm = body["results"]
    assert abuse["flagged"] and abuse["categories"]["harassment"] and abuse["categories"]["negativity"]
    assert not calm["flagged"] and set(calm["category_scores"]) >= {"harassment", "hate", "violence", "ad"}
    status, single = _raw(f"{server}/v1/moderations", json.dumps({"input": "收到"}).encode())
    assert status == 200 and len(single["results"]) == 1


def test_group_stream_raises_an_alert_on_a_scripted_dispute(server: str) -> None:
    from nlp.conflict.dataset import load_conversations

    conv = next(c for c in load_conversations() if c.id == "d2")
    client = QunshaoClient(server, token=TOKEN)
    alerts, topics = [], []
    for m in conv.messages:
        reply = client.group_messages(
            "parents-1", [{"id": m.id, "user": m.user, "ts": m.ts.isoformat(), "reply_to": m.reply_to, "text": m.text}]
        )
        alerts += reply["alerts"]
        topics += reply["topics"]
    assert [a["kind"] for a in alerts if a["event"] == "open"] == ["争执"]
    assert len(topics) == len(conv.messages)
    stored = client.alerts("parents-1")
    assert stored and stored[-1]["alert_id"] == alerts[0]["alert_id"]


def test_metrics_are_prometheus_text(server: str) -> None:
    QunshaoClient(server, token=TOKEN).moderate([{"text": "今晚八点开会", "id": "m1"}])
    with pytest.raises(QunshaoError):
        QunshaoClient(server, token="wrong").moderate([{"text": "今晚八点开会", "id": "m1"}])
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'qunshao_requests_total{endpoint="/v1/moderate",status="200"}' in text
    assert 'qunshao_requests_total{endpoint="/v1/moderate",status="401"}' in text
    assert 'qunshao_request_seconds_bucket{endpoint="/v1/moderate",le="0.005"}' in text
    assert "qunshao_batch_messages_bucket" in text and 'qunshao_labels_total{label="ad"}' in text


def test_feedback_and_alerts_survive_a_restart(pipeline, tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    with live_server(pipeline, db) as url:
        client = QunshaoClient(url, token=TOKEN)
        feedback_id = client.feedback("m-9", "这条其实是广告：加V领资料", ["ad"], group="g", moderator="群主")
    with live_server(pipeline, db) as url:
        from nlp.serve.store import Store

        rows = Store(db).feedback()
        assert [(r["id"], r["message_id"], r["labels"]) for r in rows] == [(feedback_id, "m-9", ["ad"])]
        assert QunshaoClient(url, token=TOKEN).health()["status"] == "ok"


def test_what_was_learnt_of_a_group_survives_a_restart(pipeline, tmp_path: Path) -> None:
    """A restarted bot judges the next message as one that never stopped would: the group's
    centroid and threads come back from the database, and an edited groups file applies at once."""
    from nlp.classify import GroupProfile
    from nlp.io import Message
    from nlp.pipeline import Pipeline

    groups = tmp_path / "groups.yaml"
    groups.write_text(f"run:\n  topic: {RUN}\n", "utf-8")
    texts = [
        "今晚八点人才公园集合",
        "我带两瓶水",
        "跑完去吃宵夜吗",
        "膝盖有点疼，今天慢跑",
        "配速六分可以吗",
        "新买的跑鞋到了",
    ]
    items = [{"text": t, "id": str(i), "group": "run", "user": f"u{i % 3}"} for i, t in enumerate(texts)]
    following = {"text": "周末有人去看电影吗", "id": "9", "group": "run", "user": "u1"}

    never_stopped = Pipeline(pipeline.classifier, profiles={"run": GroupProfile(topic=RUN)})
    never_stopped.score([Message(**m) for m in items])
    expected = never_stopped.score([Message(**following)])[0]

    db = tmp_path / "serve.db"
    with live_server(Pipeline(pipeline.classifier), db, groups=groups) as url:
        QunshaoClient(url, token=TOKEN).moderate(items)
    restarted = Pipeline(pipeline.classifier)
    with live_server(restarted, db, groups=groups) as url:
        assert restarted.profiles["run"].n_seen_ == len(texts)
        (got,) = QunshaoClient(url, token=TOKEN).moderate([following])
    assert got["labels"] == expected.labels
    assert got["scores"] == pytest.approx(expected.scores, abs=2e-4)

    groups.write_text("run:\n  topic: 南山夜跑团\n  admins: [团长]\n", "utf-8")
    edited = Pipeline(pipeline.classifier)
    with live_server(edited, db, groups=groups, state_seconds=0):
        profile = edited.profiles["run"]
        assert (profile.topic, profile.admins) == ("南山夜跑团", ["团长"])
        assert profile.n_seen_ == len(texts) + 1

    groups.write_text("{}\n", "utf-8")  # the group taken out of the file: its learning stays, its settings go
    emptied = Pipeline(pipeline.classifier)
    with live_server(emptied, db, groups=groups):
        profile = emptied.profiles["run"]
        assert (profile.topic, profile.admins, profile.n_seen_) == ("", [], len(texts) + 1)


def test_a_state_the_service_cannot_use_is_left_and_logged(pipeline, tmp_path: Path, caplog) -> None:
    from nlp.pipeline import Pipeline
    from nlp.serve.store import Store

    db = tmp_path / "serve.db"
    Store(db).save_blob("pipeline", b"not a pickle")
    from nlp.classify import GroupProfile

    fresh = Pipeline(pipeline.classifier, profiles={"run": GroupProfile(topic=RUN)})  # a bot's own settings
    with caplog.at_level("WARNING", logger="qunshao.serve"), live_server(fresh, db) as url:
        assert QunshaoClient(url, token=TOKEN).health()["status"] == "ok"
    assert "not restored" in caplog.text
    assert list(fresh.profiles) == ["run"] and fresh.profiles["run"].topic == RUN and fresh.profiles["run"].n_seen_ == 0


def test_client_reports_errors(server: str) -> None:
    with pytest.raises(QunshaoError) as caught:
        QunshaoClient(server, token="nope").moderate([{"text": "hi"}])
    assert caught.value.status == 401


def test_service_keeps_vectors_on_disk_across_restarts_when_asked(tmp_path: Path, onnx_encoder) -> None:
    import sqlite3

    from nlp.io import Message
    from nlp.serve import Settings
    from nlp.serve.app import Service

    service = Service(Settings(db=tmp_path / "serve.db", vector_cache=tmp_path / "vectors"))
    service.pipeline.score([Message(text="今晚南山公园夜跑，七点集合", id="1", group="run")])
    (store,) = (tmp_path / "vectors").glob("*.sqlite")
    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 1


def test_service_explains_by_occlusion_when_set(tmp_path: Path) -> None:
    from nlp.classify.model_files import DEFAULT_MODEL_DIR
    from nlp.io import Message
    from nlp.serve import Settings
    from nlp.serve.app import Service

    model = DEFAULT_MODEL_DIR.parent / "encoder-free"
    service = Service(Settings(model=model, db=tmp_path / "serve.db", explain="occlusion"))
    (verdict,) = service.pipeline.score([Message(text="真是个蠢货，说了三遍还不懂", id="1")])
    assert verdict.reasons[0].startswith("攻击性用语「蠢货」"), verdict.reasons
    with pytest.raises(ValueError, match="choose one of"):
        Service(Settings(model=model, db=tmp_path / "other.db", explain="shap"))


def test_qunshao_serve_prints_what_dry_run_would_do(tmp_path: Path) -> None:
    """The command an operator runs: the service's own log lines (dry-run decisions, restored
    state) reach the console beside uvicorn's, not only a test's log capture."""
    import subprocess

    port = _free_port()
    model = str(ROOT / "models" / "encoder-free")
    args = ["serve", "--port", str(port), "--db", str(tmp_path / "serve.db"), "--dry-run", "--model", model]
    server = subprocess.Popen([sys.executable, "-m", "nlp.cli", *args], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        client = QunshaoClient(f"http://127.0.0.1:{port}")
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                client.health()
                break
            except OSError:
                time.sleep(0.2)
        (verdict,) = client.moderate([{"text": "兼职日结，加我薇 jz_2026 领任务", "id": "m1"}])
        assert verdict["suggestion"] != "pass"
    finally:
        server.terminate()
        _, printed = server.communicate(timeout=60)
    assert "dry-run: would" in printed and "message m1" in printed, printed
