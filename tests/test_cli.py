"""The ``qunshao`` command as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nlp.cli.app import app
from nlp.text.preamble import after_preamble

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


def _labelled(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_train_eval_and_score_an_operators_own_model(tmp_path: Path) -> None:
    rows = []
    for i in range(12):
        rows += [
            {"text": f"加微信 shop_{i:04d} 领取优惠券", "labels": ["ad"], "group_topic": "读书会"},
            {"text": f"你是不是傻{i}，滚出去", "labels": ["negativity"], "group_topic": "读书会"},
            {"text": f"第{i}章的人物描写很细腻", "labels": [], "group_topic": "读书会"},
            {"text": f"今晚吃火锅还是烧烤{i}", "ad": 0, "negativity": 0, "offtopic": 1, "group_topic": "读书会"},
        ]
    train = _labelled(tmp_path / "train.jsonl", rows)
    dev = _labelled(tmp_path / "dev.jsonl", rows[::2])
    model = tmp_path / "model"
    result = runner.invoke(
        app, ["train", str(train), "--dev", str(dev), "--no-chat-data", "--encoder", "none", "-o", str(model)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((model / "manifest.json").read_text("utf-8"))
    assert manifest["encoder"] is None and set(manifest["thresholds"]) == {"ad", "negativity", "offtopic"}
    # the operator's own data only: the team's dev conversations do not choose its off-topic threshold
    assert manifest["recipe"]["dev_timelines"] == [] and manifest["dev_metrics"]["timelines"] is None

    metrics_file = tmp_path / "metrics.json"
    result = runner.invoke(app, ["eval", str(dev), "--model", str(model), "--json", str(metrics_file)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(metrics_file.read_text("utf-8"))
    assert metrics["ad"]["f1"] > 0.9 and {"tp", "fp", "fn", "tn", "pr_auc", "ece", "brier"} <= set(metrics["ad"])
    assert sum(b["n"] for b in metrics["ad"]["reliability"]) == metrics["ad"]["n"]

    archive = _labelled(tmp_path / "chat.jsonl", [{"id": "x1", "user": "甲", "text": "加微信 shop_9999 领取优惠券"}])
    out = tmp_path / "scored.jsonl"
    result = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", str(model)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert row["id"] == "x1" and row["user"] == "甲"  # input fields kept
    assert "ad" in row["labels"] and row["suggestion"] in ("review", "block") and row["reasons"]
    assert set(row["scores"]) == {"ad", "negativity", "offtopic"}
    bad = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", str(model), "--text-workers", "many"])
    assert bad.exit_code == 2 and "--text-workers" in bad.output


def test_score_explains_by_occlusion_when_asked_and_refuses_an_unknown_way(tmp_path: Path) -> None:
    model = str(DATA.parent / "models" / "encoder-free")
    archive = _labelled(tmp_path / "chat.jsonl", [{"id": "n1", "text": "真是个蠢货，说了三遍还不懂"}])
    out = tmp_path / "scored.jsonl"
    rows = {}
    for explain in ("grams", "occlusion"):
        result = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", model, "--explain", explain])
        assert result.exit_code == 0, result.output
        (rows[explain],) = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert rows["occlusion"]["scores"] == rows["grams"]["scores"]  # only the reasons differ
    assert rows["occlusion"]["reasons"][0].startswith("攻击性用语「蠢货」")
    bad = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", model, "--explain", "shap"])
    assert bad.exit_code == 2 and "--explain" in bad.output


def test_train_rejects_unknown_labels_naming_the_line(tmp_path: Path) -> None:
    train = _labelled(tmp_path / "bad.jsonl", [{"text": "收到", "labels": []}, {"text": "买买买", "labels": ["spam"]}])
    args = ["train", str(train), "--dev", str(train), "--no-chat-data", "--encoder", "none", "-o", str(tmp_path / "m")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "第 2 行" in result.output and "spam" in result.output


def test_train_names_every_bad_line_in_one_run_and_writes_no_model(tmp_path: Path) -> None:
    rows = [
        {"text": "收到", "labels": []},
        {"txt": "字段名写错了"},
        {"text": "加我微信领红包", "labels": ["ad"]},
        {"text": "买买买", "labels": ["spam"]},
    ]
    train = _labelled(tmp_path / "bad.jsonl", rows)
    args = ["train", str(train), "--dev", str(train), "--no-chat-data", "--encoder", "none", "-o", str(tmp_path / "m")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    # both problems at once, so the operator fixes the file in one pass; nothing trained on the rest
    assert "2 行有误" in result.output and "第 2 行" in result.output and "第 4 行" in result.output
    assert not (tmp_path / "m").exists()


def _archive(path: Path, n: int) -> Path:
    """``n`` messages cycling through the sample chat (repeats included, as in real archives)."""
    sample = [json.loads(line) for line in (DATA / "sample_chat.jsonl").read_text("utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = sample[i % len(sample)] | {"id": f"m{i:06d}"}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def test_resume_after_kill_9_scores_every_message_exactly_once(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from nlp.io.checkpoint import checkpoint_path, load_checkpoint

    archive = _archive(tmp_path / "archive.jsonl", 20_000)
    model = str(DATA.parent / "models" / "encoder-free")
    out = tmp_path / "scored.jsonl"
    # a checkpoint after every batch: on a fast machine the whole archive takes about the default 2 s
    args = ["score", str(archive), "-o", str(out), "--model", model, "--batch-size", "200", "--checkpoint-seconds", "0"]
    job = subprocess.Popen([sys.executable, "-m", "nlp.cli", *args], stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        checkpoint = load_checkpoint(out) if checkpoint_path(out).exists() else None
        if checkpoint is not None and checkpoint.consumed >= 2_000:
            break
        assert job.poll() is None, job.stderr.read().decode()
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(out).consumed
    assert 2_000 <= killed_at < 20_000  # really interrupted mid-run

    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "继续" in result.output
    assert not checkpoint_path(out).exists()  # a finished run leaves no checkpoint
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"m{i:06d}" for i in range(20_000)]  # each once, in order

    reference = tmp_path / "reference.jsonl"
    result = runner.invoke(app, ["score", str(archive), "-o", str(reference), "--model", model])
    assert result.exit_code == 0, result.output
    expected = [json.loads(line) for line in reference.read_text("utf-8").splitlines()]
    assert [(r["labels"], r["suggestion"]) for r in rows] == [(r["labels"], r["suggestion"]) for r in expected]

    result = runner.invoke(app, [*args, "--resume"])  # resuming a finished run changes nothing
    assert result.exit_code == 0 and out.read_text("utf-8").count("\n") == 20_000


def test_feedback_from_the_service_retrains_into_a_new_version(tmp_path: Path) -> None:
    from nlp.classify.model_files import load_classifier, read_manifest
    from nlp.serve.store import Store

    rows = []
    for i in range(12):
        rows += [
            {"text": f"加微信 shop_{i:04d} 领取优惠券", "labels": ["ad"]},
            {"text": f"你是不是傻{i}，滚出去", "labels": ["negativity"]},
            {"text": f"第{i}章的人物描写很细腻", "labels": []},
            {"text": f"今晚吃火锅还是烧烤{i}", "labels": ["offtopic"]},
        ]
    train = _labelled(tmp_path / "train.jsonl", rows)
    store_dir = tmp_path / "models"
    common = ["train", str(train), "--dev", str(train), "--no-chat-data", "--encoder", "none", "-o", str(store_dir)]
    assert runner.invoke(app, [*common, "--versioned"]).exit_code == 0
    db = tmp_path / "serve.db"
    store = Store(db)
    for i in range(6):  # moderators recalled these as ads: a new wording the first model has not seen
        store.add_feedback({"message_id": f"m{i}", "text": f"私信我领内部资料包{i}号", "labels": ["ad"]})
    store.close()
    result = runner.invoke(app, [*common, "--versioned", "--feedback", str(db)])
    assert result.exit_code == 0, result.output
    assert (store_dir / "CURRENT").read_text().strip() == "v0002"
    assert read_manifest(store_dir)["feedback"]["rows"] == 6
    assert (store_dir / "v0002" / "feedback-rows.jsonl").exists() and (store_dir / "v0001").exists()
    assert load_classifier(store_dir).n_train_["ad"]["positive"] == 18
    result = runner.invoke(app, ["model", "use", "v0001", "--store", str(store_dir)])
    assert result.exit_code == 0 and load_classifier(store_dir).n_train_["ad"]["positive"] == 12
    assert runner.invoke(app, ["model", "use", "v0009", "--store", str(store_dir)]).exit_code == 1


def test_score_with_a_vector_cache_reruns_from_disk(tmp_path: Path, default_model: None) -> None:
    import sqlite3

    sample = str(DATA / "sample_chat.jsonl")
    outputs = []
    for run in ("first", "rerun"):
        out = tmp_path / f"{run}.jsonl"
        result = runner.invoke(app, ["score", sample, "-o", str(out), "--vector-cache", str(tmp_path / "vectors")])
        assert result.exit_code == 0, result.output
        outputs.append([json.loads(line) for line in out.read_text("utf-8").splitlines()])
    assert [(r["labels"], r["suggestion"]) for r in outputs[0]] == [(r["labels"], r["suggestion"]) for r in outputs[1]]
    (store,) = (tmp_path / "vectors").glob("*.sqlite")
    texts = {r["text"] for r in outputs[0]}
    distinct = len(texts | {after_preamble(t) for t in texts} - {None})  # the ad head reads both
    stored = sqlite3.connect(store).execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    assert 0.8 * distinct <= stored <= distinct  # every distinct (canonical) text once


def test_a_bad_groups_file_is_named_not_a_traceback(tmp_path: Path) -> None:
    groups = tmp_path / "groups.yaml"
    out = tmp_path / "scored.jsonl"
    for body, says in [
        ("run: [跑步, 约跑\n", "line"),  # YAML that does not parse: where
        ("- 跑步群\n", "mapping of group id"),
        ("run:\n  topic: 夜跑\n  example: [x]\n", "unknown field"),  # a typo for examples
    ]:
        groups.write_text(body, "utf-8")
        result = runner.invoke(app, ["score", str(DATA / "sample_chat.jsonl"), "--groups", str(groups), "-o", str(out)])
        assert result.exit_code == 2, result.output
        printed = "".join(result.output.split())  # the console wraps long lines
        assert str(groups) in printed and says.replace(" ", "") in printed
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_resume_with_a_model_of_another_vector_space_is_refused_with_a_message(tmp_path: Path) -> None:
    """A checkpoint's group centroids were learnt in its model's space; resuming with a model on
    another encoder must say so, not compare messages with centroids of another kind."""
    from nlp.classify.broadcast import BroadcastMemory
    from nlp.io.checkpoint import Checkpoint, save_checkpoint
    from nlp.pipeline import PipelineState

    archive = DATA / "sample_chat.jsonl"
    out = tmp_path / "scored.jsonl"
    out.write_text("", "utf-8")
    state = PipelineState({}, BroadcastMemory(), space="encoder:m3e-small:512")
    save_checkpoint(out, Checkpoint([str(archive)], state=state))
    model = str(DATA.parent / "models" / "encoder-free")
    result = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", model, "--resume"])
    assert result.exit_code == 2, result.output
    printed = "".join(result.output.split())
    assert "encoder:m3e-small:512" in printed and "withoutresume" in printed.replace("--", "")


def test_a_file_that_is_not_there_is_named_with_exit_2_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    missing = tmp_path / "no_such_archive.jsonl"
    for args in (
        ["score", str(missing), "-o", str(tmp_path / "out.jsonl")],
        ["score", str(DATA / "sample_chat.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--model", str(tmp_path)],
    ):
        done = subprocess.run([sys.executable, "-m", "nlp.cli", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "错误" in done.stderr
        assert str(missing.name if "no_such" in args[1] else tmp_path) in "".join(done.stderr.split())


def test_train_on_too_few_examples_of_a_label_says_how_many_it_needs(tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    rows = ["text,ad,negativity,offtopic", "加我微信领资料,1,0,0", "明天几点集合,0,0,0", "你是猪吧,0,1,0", "收到,0,0,0"]
    data.write_text("\n".join(rows) + "\n", "utf-8")
    args = ["train", str(data), "--dev", str(data), "-o", str(tmp_path / "m"), "--no-chat-data", "--encoder", "none"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    printed = "".join(result.output.split())
    assert "'ad':1positiveand3negative" in printed and "atleast3ofeach" in printed


def test_an_operator_who_labels_only_negativity_trains_that_head_alone(tmp_path: Path) -> None:
    rows = []
    for i in range(12):
        rows += [
            {"text": f"你是不是傻{i}，滚出去", "negativity": 1},
            {"text": f"闭嘴吧你这个废物{i}号", "negativity": 1},
            {"text": f"第{i}章的人物描写很细腻", "negativity": 0},
            {"text": f"我不太同意{i}楼的看法，结局其实有伏笔", "negativity": 0},
        ]
    train = _labelled(tmp_path / "train.jsonl", rows)
    dev = _labelled(tmp_path / "dev.jsonl", rows[::2])
    model = tmp_path / "model"
    args = ["train", str(train), "--dev", str(dev), "--no-chat-data", "--encoder", "none", "-o", str(model)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--labelsnegativity" in "".join(refused.output.split())
    assert not model.exists()
    bad = runner.invoke(app, [*args, "--labels", "negativity,spam"])
    assert bad.exit_code == 2 and "--labels" in bad.output

    result = runner.invoke(app, [*args, "--labels", "negativity"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((model / "manifest.json").read_text("utf-8"))
    assert manifest["labels"] == ["negativity"] and set(manifest["thresholds"]) == {"negativity"}
    assert set(manifest["dev_metrics"]["all"]) == {"negativity"}

    metrics_file = tmp_path / "metrics.json"
    result = runner.invoke(app, ["eval", str(dev), "--model", str(model), "--json", str(metrics_file)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(metrics_file.read_text("utf-8"))
    assert set(metrics) == {"negativity"} and metrics["negativity"]["f1"] > 0.9

    archive = _labelled(
        tmp_path / "chat.jsonl",
        [{"id": "x1", "text": "你是不是傻，滚出去"}, {"id": "x2", "text": "加微信 shop_9999 领取优惠券"}],
    )
    out = tmp_path / "scored.jsonl"
    result = runner.invoke(app, ["score", str(archive), "-o", str(out), "--model", str(model)])
    assert result.exit_code == 0, result.output
    insult, ad = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert insult["labels"] == ["negativity"] and insult["reasons"] and set(insult["scores"]) == {"negativity"}
    assert ad["labels"] == []  # the model has no ad head: it says nothing about ads


def test_scoring_before_the_model_is_fetched_says_to_fetch_it(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = os.environ | {"QUNSHAO_HOME": str(tmp_path / "empty-home")}
    args = ["score", str(DATA / "sample_chat.jsonl"), "-o", str(tmp_path / "out.jsonl")]
    done = subprocess.run(
        [sys.executable, "-m", "nlp.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "qunshao model fetch" in done.stderr
