"""Topic clustering on Chinese group chats written by the team (data/topics/dev.yaml)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.io import Message
from nlp.topics import OUTLIER, TopicModel
from nlp.topics.dataset import load_topic_chats
from nlp.topics.keywords import ctfidf_keywords
from nlp.topics.timeline import topic_counts, topic_events

DATA = Path(__file__).resolve().parents[1] / "data"
FILLER = {"哈哈", "哈哈哈", "我们", "这个", "收到", "好的", "谢谢", "大家", "可以", "一下"}


@pytest.fixture(scope="module")
def chats() -> list[Message]:
    return load_topic_chats(DATA / "topics" / "dev.yaml")


@pytest.fixture(scope="module")
def fitted(chats, onnx_encoder) -> TopicModel:
    return TopicModel(encoder=onnx_encoder).fit(chats)


def _gold_topic_of(model: TopicModel, chats: list[Message], group: str, gold: str) -> int:
    found = Counter(
        int(t) for m, t in zip(chats, model.labels_, strict=True) if m.group == group and m.fields["topic"] == gold
    )
    return found.most_common(1)[0][0]


def test_keywords_are_words_of_the_topic_not_filler(fitted: TopicModel, chats) -> None:
    baby = fitted.groups_["baby-care"]
    assert len(baby.topics) >= 3
    every = [k for t in baby.topics for k in t.keywords]
    assert not FILLER & set(every), every
    assert all(len(k) >= 2 for k in every)
    expected = {
        "辅食添加": {"辅食", "米粉", "蛋黄", "南瓜", "过敏"},
        "疫苗接种": {"疫苗", "打针", "五联", "百白破", "流感"},
        "早教绘本": {"绘本", "早教", "阅读", "亲子"},
    }
    for gold, stems in expected.items():
        topic = baby.topics[_gold_topic_of(fitted, chats, "baby-care", gold)]
        assert any(stem in word for stem in stems for word in topic.keywords), (gold, topic)


def test_short_replies_join_the_discussion_they_answer(fitted: TopicModel, chats) -> None:
    index = {m.id: i for i, m in enumerate(chats)}
    acks = [
        (i, index[m.reply_to])
        for i, m in enumerate(chats)
        if m.reply_to and m.text in {"收到", "+1", "好的", "嗯嗯", "好的好的", "明白了", "👍", "学到了", "收藏了"}
    ]
    assert len(acks) >= 5
    joined = sum(fitted.labels_[i] == fitted.labels_[p] and fitted.labels_[i] != OUTLIER for i, p in acks)
    assert joined / len(acks) >= 0.8


def test_new_messages_are_assigned_to_known_topics(fitted: TopicModel, chats) -> None:
    feeding = _gold_topic_of(fitted, chats, "baby-care", "辅食添加")
    (assigned,) = fitted.assign([Message(text="宝宝吃了蛋黄泥以后嘴边起红疹，是过敏吗", id="new-1", group="baby-care")])
    assert assigned.topic == feeding and not assigned.is_new


def test_a_new_topic_appears_in_a_later_window(chats, onnx_encoder) -> None:
    day1 = [m for m in chats if m.group == "owners"]
    model = TopicModel(encoder=onnx_encoder).fit(day1)
    start = max(m.ts for m in day1) + timedelta(days=2)
    swimming = [
        "小区游泳池什么时候开放",
        "听说游泳池下周一开放，要办游泳卡",
        "游泳卡多少钱一个月",
        "游泳池的水是每天换吗，担心卫生",
        "游泳池开放时间是早上六点到晚上九点",
        "小孩游泳要大人陪同吗",
        "游泳池有救生员吗",
        "游泳卡在物业前台办",
        "游泳池周一闭馆清洁",
        "游泳池更衣室有柜子吗",
        "游泳池的水温多少度",
        "游泳池能带游泳圈吗",
    ]
    later = [
        Message(text=t, id=f"swim-{i}", group="owners", user=f"业主{i % 4}", ts=start + timedelta(minutes=3 * i))
        for i, t in enumerate(swimming)
    ]
    results = model.assign(later)
    assert sum(r.is_new for r in results) >= len(later) / 2  # most fit no known topic (some look like 物业 talk)
    (event,) = [e for e in model.events_ if e["type"] == "new_topic"]
    assert event["group"] == "owners" and any("游泳" in k for k in event["keywords"]), event
    # Over the whole archive, the timeline shows the topic appearing in a later window.
    topics = list(model.labels_) + [r.topic for r in results]
    events = topic_events(topic_counts(day1 + later, topics))
    assert any(e["type"] == "new_topic" and e["topic"] == event["topic"] for e in events)


def test_too_few_messages_give_a_clear_result(onnx_encoder) -> None:
    few = [Message(text=t, id=str(i), group="tiny") for i, t in enumerate(["大家好", "今天跑步吗", "好的"])]
    model = TopicModel(encoder=onnx_encoder).fit(few)
    assert list(model.labels_) == [OUTLIER] * 3
    assert model.groups_["tiny"].topics == [] and "太少" in model.groups_["tiny"].note
    assert model.assign([Message(text="明天呢", id="4", group="tiny")])[0].is_new


def test_ctfidf_prefers_words_distinctive_of_a_topic() -> None:
    docs = [["跑步", "配速", "跑步", "配速", "周末"], ["字体", "配色", "字体", "配色", "周末"]]
    (first, second) = ctfidf_keywords(docs, top_n=2)
    assert {w for w, _ in first} == {"跑步", "配速"} and {w for w, _ in second} == {"字体", "配色"}


def test_topics_command_on_the_sample_archive(tmp_path: Path, onnx_encoder) -> None:
    from nlp.cli.app import app

    out, summary = tmp_path / "topics.jsonl", tmp_path / "summary.json"
    result = CliRunner().invoke(
        app, ["topics", str(DATA / "sample_chat.jsonl"), "-o", str(out), "--summary", str(summary)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 263 and all("topic" in r and "topic_label" in r for r in rows)
    report = json.loads(summary.read_text("utf-8"))["groups"]
    assert set(report) == {"ppt-study", "nanshan-run", "baby-care"}
    for group in report.values():
        assert group["topics"] and group["timeline"] and group["members"]
        assert all(t["keywords"] and t["first_ts"] for t in group["topics"])


def test_window_parsing() -> None:
    from nlp.cli.topics import parse_window

    assert parse_window("6h") == timedelta(hours=6) and parse_window("1d") == timedelta(days=1)
    with pytest.raises(Exception, match="1d"):
        parse_window("weekly")
