"""Spam blasts across groups (nlp.classify.broadcast): the rule and its memory on their own, then
the shipped models scoring one member's soft-sell line posted group after group."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import pytest

from nlp.classify.broadcast import BroadcastMemory, BroadcastRule
from nlp.io import Message
from nlp.pipeline import Pipeline

T0 = datetime(2026, 5, 1, 20, 0)
SOFT_SELL = "有需要考研资料的可以找我，真题和笔记都有"  # no contact details: borderline on its own


def _copy(group: str, minutes: float, user: str = "推广号", text: str = SOFT_SELL) -> Message:
    return Message(
        text=text, id=f"{group}-{user}-{minutes}", group=group, user=user, ts=T0 + timedelta(minutes=minutes)
    )


def test_the_rule_multiplies_the_odds_from_the_third_group_on() -> None:
    rule = BroadcastRule()
    assert rule.boost(0.3, 1) == rule.boost(0.3, 2) == 0.3
    odds = [(p := rule.boost(0.3, g)) / (1 - p) for g in (3, 4, 5, 9)]
    base = 0.3 / 0.7
    assert odds[0] == pytest.approx(3 * base) and odds[1] == pytest.approx(9 * base)
    assert odds[2] == odds[3] == pytest.approx(27 * base)  # capped
    assert rule.boost(0.0, 9) == 0.0 and rule.boost(1.0, 9) == 1.0


def test_memory_counts_one_members_groups_within_the_window() -> None:
    rule, memory = BroadcastRule(window_seconds=3600), BroadcastMemory()
    counts = [memory.groups(_copy(g, m), SOFT_SELL, rule) for g, m in (("a", 0), ("b", 5), ("a", 8), ("c", 10))]
    assert counts == [1, 2, 2, 3]  # a group posted twice counts once
    assert memory.groups(_copy("d", 69), SOFT_SELL, rule) == 2  # a's and b's copies are over an hour old (c, d)
    assert memory.groups(_copy("e", 70, user="另一个人"), SOFT_SELL, rule) == 1  # someone else's copy is theirs
    assert memory.groups(_copy("f", 71, text="收到收到"), "收到收到", rule) == 0  # too short to count
    no_time = Message(text=SOFT_SELL, id="x", group="g", user="推广号")
    assert memory.groups(no_time, SOFT_SELL, rule) == 0


def test_memory_is_bounded() -> None:
    rule, memory = BroadcastRule(), BroadcastMemory(keep=3)
    for i in range(10):
        memory.groups(_copy("a", i, user=f"u{i}"), SOFT_SELL, rule)
    assert len(memory.seen) == 3 and ("u9", SOFT_SELL) in memory.seen


@pytest.fixture(scope="module", params=["default", "encoder-free"])
def classifier(request, onnx_encoder):
    from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier

    encoder = onnx_encoder if request.param == "default" else None
    return load_classifier(DEFAULT_MODEL_DIR.parent / request.param, encoder=encoder)


def test_one_member_blasting_a_line_into_five_groups_is_flagged_as_an_ad(classifier) -> None:
    blast = [_copy(f"group-{k}", 3 * k) for k in range(5)]
    verdicts = Pipeline(classifier).score(blast)
    ads = [v.scores["ad"] for v in verdicts]
    assert ads[0] == ads[1] < ads[2] < ads[3] < ads[4]
    assert "ad" in verdicts[4].labels
    assert any("5 个群发了相同内容" in r for r in verdicts[4].reasons)
    # the same line from five different members (a forwarded notice, a 接龙) is five single posts
    forwarded = Pipeline(classifier).score([_copy(f"group-{k}", 3 * k, user=f"member-{k}") for k in range(5)])
    assert [v.scores["ad"] for v in forwarded] == [ads[0]] * 5
    # a pipeline that does not learn counts the copies of one call and forgets them after it
    frozen = Pipeline(classifier, learn_groups=False)
    assert [v.scores["ad"] for v in frozen.score(blast)] == ads
    assert [frozen.score([m])[0].scores["ad"] for m in blast] == [ads[0]] * 5
    # and the rule can be switched off
    plain = Pipeline(classifier, broadcast=None).score(blast)
    assert [v.scores["ad"] for v in plain] == [ads[0]] * 5


def test_a_restarted_pipeline_remembers_the_copies_it_saw(classifier) -> None:
    blast = [_copy(f"group-{k}", 3 * k) for k in range(5)]
    uninterrupted = Pipeline(classifier).score(blast)
    first = Pipeline(classifier)
    first.score(blast[:3])
    restarted = Pipeline(classifier)
    restarted.restore(pickle.loads(pickle.dumps(first.state())))
    assert [v.scores for v in restarted.score(blast[3:])] == [v.scores for v in uninterrupted[3:]]
    older = Pipeline(classifier)
    older.restore(first.state().profiles)  # a checkpoint written before the state held copies
    assert older.score(blast[3:4])[0].scores["ad"] == uninterrupted[0].scores["ad"]
