"""Messages with no words of a member's own (an export's ``[图片]``, a platform's recall notice) are
passed unscored, and never name a topic."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nlp.io import Message
from nlp.io.telegram_json import MEDIA
from nlp.io.wechat_csv import APP_PLACEHOLDERS, PLACEHOLDERS
from nlp.pipeline import Pipeline
from nlp.text import nothing_to_judge, strip_placeholders
from nlp.topics.keywords import content_words


def test_every_placeholder_our_readers_write_is_recognised() -> None:
    written = set(PLACEHOLDERS.values()) | set(APP_PLACEHOLDERS.values()) | set(MEDIA.values())
    written |= {"[文件]", "[消息类型 10001]"}
    for placeholder in written:
        assert nothing_to_judge(placeholder), placeholder
        assert nothing_to_judge(f" {placeholder} {placeholder}\n"), placeholder


@pytest.mark.parametrize(
    "notice",
    [
        "王五撤回了一条消息",
        "你撤回了一条消息",
        '"张三"邀请"李四"、"王五"加入了群聊',
        '你将"小李"移出了群聊',
        "张三修改群名为“南山夜跑团”",
        "“小明” 拍了拍 “小红”的肩膀",
        '"阿杰" 拍了拍我',
    ],
)
def test_system_notices_have_nothing_to_judge(notice: str) -> None:
    assert nothing_to_judge(notice)


@pytest.mark.parametrize(
    "text",
    [
        "交作业了，麻烦助教看下[图片]",  # a placeholder inside a message: the words are judged
        "[链接] 宝宝辅食添加指南",
        "他拍了拍我的肩膀说加油",
        "他撤回了一条消息，说了什么？",
        "大家好，欢迎新朋友加入了群聊",
        "[捂脸]",  # a WeChat emoji code is a reaction, as 😂 is
        "收到",
        "",
    ],
)
def test_members_words_are_judged(text: str) -> None:
    assert not nothing_to_judge(text)


@pytest.fixture(scope="module")
def classifier(onnx_encoder):
    from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier

    return load_classifier(DEFAULT_MODEL_DIR, encoder=onnx_encoder)


def test_placeholders_never_name_a_topic() -> None:
    assert strip_placeholders("看下[图片][表情]").strip() == "看下"
    assert "图片" not in content_words("晒一下我家宝宝第一次自己拿勺子吃饭[图片]")


def test_the_pipeline_scores_them_only_by_their_thread_and_judges_the_rest_as_before(classifier) -> None:
    t0 = datetime(2026, 5, 1, 9, 0)
    texts = [
        "周六的跑团活动几点集合？",
        "[表情]",
        "七点，老地方",
        "王五撤回了一条消息",
        "[图片]",
        "收到，谢谢",
        "哪个牌子的跑鞋适合新手",
    ]
    messages = [
        Message(text=t, id=f"m{i}", group="run", user=f"u{i % 3}", ts=t0 + timedelta(seconds=40 * i))
        for i, t in enumerate(texts)
    ]
    verdicts = Pipeline(classifier).score(messages)
    for i in (1, 3, 4):  # no words: nothing of their own, the previous message's off-topic score
        assert verdicts[i].scores["ad"] == verdicts[i].scores["negativity"] == 0.0
        assert verdicts[i].scores["offtopic"] == verdicts[i - 1].scores["offtopic"]
    # the messages with words score as if the others were not there (no centroid, no parent changed)
    words = [m for i, m in enumerate(messages) if i not in (1, 3, 4)]
    alone = Pipeline(classifier).score(words)
    assert [v.scores for v in alone] == [v.scores for i, v in enumerate(verdicts) if i not in (1, 3, 4)]
    streamed = [v for _, vs in Pipeline(classifier).score_stream([messages[:2], messages[2:]]) for v in vs]
    assert [v.scores for v in streamed] == [v.scores for v in verdicts]


def test_a_sticker_answering_chatter_is_chatter_and_alone_is_nothing(classifier) -> None:
    t0 = datetime(2026, 5, 1, 21, 0)
    chat = [
        Message(text="昨晚那个综艺你们看了没，笑死我了", id="a", group="run", user="u1", ts=t0),
        Message(text="[表情]", id="b", group="run", user="u2", ts=t0 + timedelta(seconds=20)),
        Message(text="[图片]", id="c", group="run", user="u3", ts=t0 + timedelta(hours=2)),  # long after: alone
    ]
    from nlp.classify import GroupProfile

    profiles = {"run": GroupProfile(topic="南山夜跑团：跑步训练、路线约跑、装备与伤病交流")}
    first, sticker, alone = Pipeline(classifier, profiles=profiles).score(chat)
    assert "offtopic" in first.labels
    assert sticker.scores["offtopic"] == first.scores["offtopic"] and "offtopic" in sticker.labels
    assert sticker.reasons == ["接着群里的闲聊说（所回复的消息也判为闲聊）"]
    assert alone.labels == [] and set(alone.scores.values()) == {0.0} and alone.suggestion == "pass"
