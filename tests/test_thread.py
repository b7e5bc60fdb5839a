"""A reply's off-topic score is judged with the message it answers (nlp.classify.thread), with the
shipped models on messages written for these tests."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from nlp.classify import LABELS, GroupProfile
from nlp.classify.thread import ThreadContext
from nlp.io import Message
from nlp.pipeline import Pipeline
from nlp.topics.dataset import load_topic_chats
from nlp.train.datasets import load_conversations, load_labelled

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
        ("正文也一样吗", "m2", 90),  # short: leans on its parent
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


def test_training_conversations_are_rows_in_time_order_apart_from_other_groups() -> None:
    conversations = load_conversations(DATA / "topics" / "train.yaml", DATA / "labelled" / "chatter_train.yaml")
    single = load_labelled(DATA / "labelled" / "chat_train.jsonl")
    messages, y = conversations.messages, conversations.y
    assert [m.fields["offtopic"] for m in messages] == y[:, LABELS.index("offtopic")].astype(bool).tolist()
    assert 30 < y[:, LABELS.index("offtopic")].sum() < len(messages) / 2
    assert not y[:, [LABELS.index("ad"), LABELS.index("negativity")]].any()
    for group in {m.group for m in messages}:  # each group a timeline: its purpose, times in order
        timeline = [m for m in messages if m.group == group]
        assert all(a.ts < b.ts for a, b in pairwise(timeline))
        assert len({m.group_topic for m in timeline}) == 1
    # its own group ids: a centroid learnt on the single-message rows would mix with the timelines'
    assert not {m.group for m in messages} & {m.group for m in single.messages}
    dev_groups = {m.group for m in load_topic_chats(DATA / "topics" / "dev.yaml")}
    test_groups = {m.group for m in load_topic_chats(DATA / "topics" / "test.yaml")}
    assert not {m.group for m in messages} & (dev_groups | test_groups)


def test_members_answering_a_sure_ad_are_read_with_it(classifier) -> None:
    # A spammer posts; another member's deictic remark (alone it reads like contempt for someone),
    # the spammer's own follow-up, a remark long after, and a reply quoting the ad in an archive
    # without times.
    ad = "兼职打字员，在家手机就能做，日结三百，加微信 jz_abc888 详聊"
    remark = "天天都有这种，烦死了"
    messages = [
        Message(text=ad, id="a1", group="ppt", group_topic=PPT, user="spam", ts=T0),
        Message(text=remark, id="a2", group="ppt", group_topic=PPT, user="amy", ts=T0 + timedelta(seconds=90)),
        Message(text=ad, id="a3", group="ppt", group_topic=PPT, user="spam", ts=T0 + timedelta(seconds=100)),
        Message(text=remark, id="a4", group="ppt", group_topic=PPT, user="bob", ts=T0 + timedelta(hours=2)),
    ]
    untimed = [
        Message(text=ad, id="b1", group="g2", group_topic=PPT, user="spam"),
        Message(text=remark, id="b2", group="g2", group_topic=PPT, user="amy", reply_to="b1"),
        Message(text=remark, id="b3", group="g2", group_topic=PPT, user="bob"),  # no reply, no time
    ]
    context = ThreadContext()
    pipeline = Pipeline(classifier, thread_context=context)
    verdicts = pipeline.score(messages + untimed)
    alone = Pipeline(classifier, thread_context=None).score_one(Message(text=remark, id="x", group_topic=PPT))
    sure = classifier.block_thresholds_["ad"]
    assert verdicts[0].scores["ad"] >= sure and verdicts[4].scores["ad"] >= sure
    neg = [v.scores["negativity"] for v in verdicts]
    w = context.ad_reaction_weight
    assert alone.scores["negativity"] > 0.02 and w < 1
    assert neg[1] == pytest.approx(w * alone.scores["negativity"], abs=2e-4)  # answers the ad
    assert neg[3] == pytest.approx(alone.scores["negativity"], abs=2e-4)  # two hours later: on its own
    assert neg[5] == pytest.approx(w * alone.scores["negativity"], abs=2e-4)  # quotes the ad
    assert neg[6] == pytest.approx(alone.scores["negativity"], abs=2e-4)  # no time, no quote
    assert verdicts[2].scores["ad"] >= sure  # the spammer's own follow-up is still an ad


def test_thread_memory_saved_before_ads_were_remembered_still_loads() -> None:
    from nlp.classify.thread import ThreadMemory

    old = ThreadMemory()
    del old.__dict__["count"], old.__dict__["last_ad"], old.__dict__["ad_scores"]  # a pickle from before
    restored = pickle.loads(pickle.dumps(old))
    assert restored.count == 0 and restored.last_ad is None and restored.ad_scores == {}
    restored.remember(Message(text="x", id="1", user="u", ts=T0), 0.1, is_ad=True)
    assert restored.last_ad == ("1", "u", T0, 0) and restored.count == 1


def test_a_reply_borrows_its_parents_ad_score_unless_it_invites_contact(classifier) -> None:
    # Advice in a thread reads like ad copy on its own; quoting a question it is an answer. A reply
    # that gives a contact detail or asks to be added is judged on its own.
    messages = _chat(
        ("考研复试的英语口语怎么准备", None, 0),
        ("每天对着镜子练十五分钟，录下来回听", "m1", 60),
        ("我这有全套复试资料，加我微信 kaoyan_abc123 发你", "m1", 90),
        ("每天对着镜子练十五分钟，录下来回听", None, 4000),  # no quote: on its own
    )
    context = ThreadContext()
    mixed = Pipeline(classifier, thread_context=context).score(messages)
    alone = Pipeline(classifier, thread_context=None).score(messages)
    ad = [v.scores["ad"] for v in mixed]
    own = [v.scores["ad"] for v in alone]
    w = context.ad_reply_weight
    assert own[1] > ad[0] and w < 1
    assert ad[1] == pytest.approx(w * own[1] + (1 - w) * ad[0], abs=2e-4)
    assert ad[2] == pytest.approx(own[2], abs=2e-4) and "ad" in mixed[2].labels
    assert ad[3] == pytest.approx(own[3], abs=2e-4)


def test_a_model_without_off_topic_still_reads_replies_to_ads() -> None:
    # An operator's own model with ad and negativity only: the ad-reply rules do not need off-topic.
    from nlp.classify import MessageClassifier
    from nlp.train.datasets import load_labelled

    train = load_labelled(DATA / "labelled" / "chat_train.jsonl")
    keep = [0, 1]  # ad, negativity
    clf = MessageClassifier(encoder=None, labels=("ad", "negativity")).fit(train.messages, train.y[:, keep])
    ad = "兼职打字员，在家手机就能做，日结三百，加微信 jz_abc888 详聊"
    messages = [
        Message(text=ad, id="a1", group="ppt", user="spam", ts=T0),
        Message(text="天天都有这种，烦死了", id="a2", group="ppt", user="amy", ts=T0 + timedelta(seconds=60)),
    ]
    with_context = Pipeline(clf).score(messages)
    alone = Pipeline(clf, thread_context=None).score(messages)
    assert with_context[0].scores["ad"] >= clf.block_thresholds_["ad"]
    assert with_context[1].scores["negativity"] == pytest.approx(
        CONTEXT.ad_reaction_weight * alone[1].scores["negativity"], abs=2e-4
    )
