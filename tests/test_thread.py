"""A reply's off-topic score is judged with the message it answers (nlp.classify.thread), with the
shipped models on messages written for these tests."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nlp.classify import GroupProfile
from nlp.classify.thread import ThreadContext
from nlp.io import Message
from nlp.pipeline import Pipeline
from nlp.topics.dataset import load_topic_chats

PPT = "PPT设计学习群：排版、字体、配色与课程作业"
T0 = datetime(2026, 5, 1, 9, 0)
DATA = Path(__file__).resolve().parents[1] / "data"
CONTEXT = ThreadContext()


@pytest.fixture(scope="module", params=["default", "encoder-free"])
def classifier(request, onnx_encoder):
    from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier

    return load_classifier(
        DEFAULT_MODEL_DIR.parent / request.param, onnx_encoder if request.param == "default" else None
    )


def _chat(*turns: tuple[str, str | None, int]) -> list[Message]:
    """(text, reply_to, seconds after T0) -> messages of one group with ids m1, m2, ..."""
    return [
        Message(text=text, id=f"m{i}", group="ppt", group_topic=PPT, ts=T0 + timedelta(seconds=s), reply_to=reply)
        for i, (text, reply, s) in enumerate(turns, start=1)
    ]


def _offtopic(classifier, messages: list[Message], context: ThreadContext | None = CONTEXT) -> list[float]:
    verdicts = Pipeline(classifier, thread_context=context).score(messages)
    return [v.scores["offtopic"] for v in verdicts]


def test_a_reply_is_mixed_with_what_it_answers(classifier) -> None:
    messages = _chat(
        ("请问母版里怎么统一设置标题字体", None, 0),
        ("视图-幻灯片母版，改最上面那一页的标题占位符", "m1", 60),
        ("成功了太棒了", "m2", 90),  # short: leans on its parent
        ("昨晚的球赛你们看了吗，太精彩了", None, 200),
        ("看了看了", "m4", 230),
    )
    context = ThreadContext()
    alone = _offtopic(classifier, messages, context=None)
    mixed = _offtopic(classifier, messages, context)
    assert mixed[0] == alone[0] and mixed[3] == alone[3]  # openers: no parent
    assert mixed[1] == pytest.approx(context.reply_weight * alone[1] + (1 - context.reply_weight) * mixed[0], abs=1e-3)
    w = context.short_weight
    assert mixed[2] == pytest.approx(w * alone[2] + (1 - w) * mixed[1], abs=1e-3)
    assert mixed[4] == pytest.approx(w * alone[4] + (1 - w) * mixed[3], abs=1e-3)
    assert mixed[2] < alone[2] and mixed[4] > mixed[2]  # the how-to answer pulls down, the football chat up


def test_acknowledgements_and_check_ins_keep_their_own_score(classifier) -> None:
    messages = _chat(
        ("昨晚的球赛你们看了吗，太精彩了", None, 0),
        ("收到", None, 20),
        ("好的谢谢", "m1", 40),
        ("早安打卡", None, 60),
    )
    assert _offtopic(classifier, messages) == _offtopic(classifier, messages, context=None)


def test_a_short_message_without_timestamps_or_reply_stands_alone(classifier) -> None:
    messages = [
        Message(text=t, id=f"m{i}", group="ppt", group_topic=PPT) for i, t in enumerate(["今天好冷啊", "确实冷"])
    ]
    assert _offtopic(classifier, messages) == _offtopic(classifier, messages, context=None)


def test_parents_carry_across_batches_and_restarts(classifier) -> None:
    messages = _chat(
        ("昨晚的球赛你们看了吗，太精彩了", None, 0),
        ("请问母版里怎么统一设置标题字体", None, 30),
        ("太离谱了", "m1", 60),
        ("懂了", "m2", 80),
    )
    at_once = _offtopic(classifier, messages)
    stream = Pipeline(classifier)
    first = [v.scores["offtopic"] for v in stream.score(messages[:2])]
    restarted = Pipeline(classifier)
    restarted.restore(pickle.loads(pickle.dumps(stream.state())))  # as a checkpoint or the service keeps it
    rest = [restarted.score_one(m).scores["offtopic"] for m in messages[2:]]
    assert first + rest == pytest.approx(at_once, abs=1e-6)


def test_group_profiles_saved_before_thread_memory_still_load() -> None:
    profile = GroupProfile(topic=PPT)
    state = profile.__getstate__()
    del state["thread_"]
    old = GroupProfile.__new__(GroupProfile)
    old.__setstate__(state)
    assert old.thread_.scores == {} and old.thread_.last_ts is None


def test_chatter_threads_are_woven_into_the_topic_chats() -> None:
    messages = load_topic_chats(DATA / "topics" / "dev.yaml", chatter=DATA / "labelled" / "chatter_dev.yaml")
    plain = load_topic_chats(DATA / "topics" / "dev.yaml")
    chatter = [m for m in messages if m.fields["offtopic"]]
    assert len(messages) - len(plain) == len(chatter) > 40
    assert all(m.fields["topic"].startswith("闲聊/") for m in chatter)
    assert {m.text for m in plain} <= {m.text for m in messages}
