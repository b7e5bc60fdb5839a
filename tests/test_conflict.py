"""The conflict monitor on the team's hand-written conversations (dev split of data/conflicts)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.conflict import ConflictMonitor
from nlp.conflict.dataset import load_conversations


@pytest.fixture(scope="module")
def classifier(onnx_encoder):
    from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier

    return load_classifier(DEFAULT_MODEL_DIR, onnx_encoder)


@pytest.fixture(scope="module")
def scored(classifier):
    """Every dev conversation with the shipped full model's verdicts (fresh group state each)."""
    from nlp.pipeline import Pipeline

    return {c.id: (c, Pipeline(classifier).score(c.messages)) for c in load_conversations() if c.split == "dev"}


@pytest.fixture(scope="module")
def monitor(classifier):
    """A fresh monitor reading scores against the shipped model's negativity threshold."""
    return lambda: ConflictMonitor(negativity_threshold=classifier.thresholds_["negativity"])


def _alerts(scored, monitor, cid: str):
    conv, verdicts = scored[cid]
    return conv, monitor().process(conv.messages, verdicts)


@pytest.mark.parametrize(
    "cid", ["n1", "n2", "n5", "n6", "n9", "n10", "n13", "n14", "n17", "n18"]
)  # civil debate, one rude message, friendly banter, a resolved complaint, an ad burst an admin handled
def test_hard_negatives_stay_quiet(scored, monitor, cid: str) -> None:
    conv, alerts = _alerts(scored, monitor, cid)
    assert alerts == [], (conv.kind, [a.summary for a in alerts])


def test_a_dispute_gets_one_alert_with_evidence_roles_and_next_step(scored, monitor) -> None:
    conv, alerts = _alerts(scored, monitor, "d2")
    opened = [a for a in alerts if a.event == "open"]
    assert len(opened) == 1  # dedup: one alert for one dispute, however long it goes on
    alert = opened[0]
    index = {m.id: i for i, m in enumerate(conv.messages)}
    assert conv.start - 3 <= index[alert.trigger_id] <= conv.start + 8
    assert index[alert.start_id] <= index[alert.trigger_id] and alert.start_id in alert.evidence
    roles = {p["user"]: p["role"] for p in alert.participants}
    assert {"小雨妈", "班长妈妈"} <= set(roles) and "instigator" in roles.values()
    assert alert.kind == "争执" and "私聊" in alert.suggestion and alert.summary
    assert alert.severity in ("low", "medium", "high") and alert.group == conv.messages[0].group


def test_rumour_is_called_a_rumour(scored, monitor) -> None:
    _, alerts = _alerts(scored, monitor, "r1")
    assert alerts and alerts[0].kind == "谣言" and "澄清" in alerts[0].suggestion


def test_cooldown_lets_a_later_dispute_alert_again(scored, monitor) -> None:
    conv, verdicts = scored["d3"]
    calm_conv, calm_verdicts = scored["n13"]
    later = conv.messages[-1].ts + timedelta(days=1)

    def moved(messages, tag: str, shift: timedelta):
        return [dataclasses.replace(m, id=f"{m.id}-{tag}", group="g", ts=m.ts + shift) for m in messages]

    first = moved(conv.messages, "a", timedelta(0))
    calm = moved(calm_conv.messages, "b", later - calm_conv.messages[0].ts)
    again = moved(conv.messages, "c", later - conv.messages[0].ts + timedelta(days=1))
    alerts = monitor().process(first + calm + again, list(verdicts) + list(calm_verdicts) + list(verdicts))
    opened = [a for a in alerts if a.event == "open"]
    assert len(opened) == 2 and opened[0].alert_id != opened[1].alert_id
    assert opened[1].trigger_id.endswith("-c")


def test_a_quarrel_an_hour_after_a_settled_rumour_is_its_own_alert(scored, monitor) -> None:
    # A quiet group: a rumour in the morning (alerted), a few messages, then a quarrel an hour later.
    # Counting messages alone kept the rumour alert open, and the quarrel only updated it: the
    # operator never heard of it (the demo archive's nanshan-run did this).
    rumour, rumour_verdicts = scored["r1"]
    dispute, dispute_verdicts = scored["d3"]
    cut = rumour.start + 8
    later = rumour.messages[cut - 1].ts + timedelta(hours=1)
    first = [dataclasses.replace(m, id=f"{m.id}-a", group="g") for m in rumour.messages[:cut]]
    again = [
        dataclasses.replace(m, id=f"{m.id}-b", group="g", ts=m.ts - dispute.messages[dispute.start - 2].ts + later)
        for m in dispute.messages[dispute.start - 2 :]
    ]
    alerts = monitor().process(first + again, list(rumour_verdicts[:cut]) + list(dispute_verdicts[dispute.start - 2 :]))
    opened = [a for a in alerts if a.event == "open"]
    assert [a.kind for a in opened] == ["谣言", "争执"], [(a.kind, a.trigger_id) for a in alerts]
    assert opened[1].trigger_id.endswith("-b") and all(e.endswith("-b") for e in opened[1].evidence)


def test_the_window_forgets_messages_older_than_max_age() -> None:
    from nlp.conflict.scorer import EscalationScorer, WindowMessage

    def msg(i: int, ts: float | None, negativity: float) -> WindowMessage:
        return WindowMessage(
            id=f"m{i}", user=f"u{i % 2}", ts=ts, negativity=negativity, ad=0.0, target=f"u{(i + 1) % 2}",
            rumour=False, threat=False, calming=False, laughter=False, resolution=False,
        )  # fmt: skip

    old = [msg(i, 1000.0 + 60 * i, 0.9) for i in range(4)]  # a heated exchange
    new = [msg(i, 1000.0 + 60 * 3 + 3600 + 60 * (i - 4), 0.05) for i in range(4, 7)]  # calm, an hour later
    scorer = EscalationScorer(max_age=1800)
    assert [m.id for m in scorer.recent_window(old + new)] == ["m4", "m5", "m6"]
    assert scorer.score(old + new).score < 0.1 < EscalationScorer(max_age=None).score(old + new).score
    untimed = [dataclasses.replace(m, ts=None) for m in old + new]  # no times: count messages only
    assert len(scorer.recent_window(untimed)) == 7


def test_state_survives_a_restart(scored, monitor) -> None:
    conv, verdicts = scored["d1"]
    whole = monitor().process(conv.messages, verdicts)
    cut = conv.start + 2
    first = monitor()
    before = first.process(conv.messages[:cut], verdicts[:cut])
    restarted = monitor()
    restarted.restore(json.loads(json.dumps(first.state(), ensure_ascii=False)))
    after = restarted.process(conv.messages[cut:], verdicts[cut:])
    assert [a.to_dict() for a in before + after] == [a.to_dict() for a in whole]


def test_conflicts_command_writes_alerts(tmp_path: Path, scored) -> None:
    from nlp.cli.app import app

    conv, _ = scored["d3"]
    archive = tmp_path / "chat.jsonl"
    archive.write_text(
        "\n".join(json.dumps(m.to_record() | {"text": m.text}, ensure_ascii=False) for m in conv.messages) + "\n",
        "utf-8",
    )
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(app, ["conflicts", str(archive), "-o", str(out)])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    events = [a["event"] for a in alerts]
    assert events[0] == "open" and events.count("open") == 1
    keys = {"group", "alert_id", "trigger_id", "start_id", "ts", "severity", "participants", "evidence", "summary"}
    assert all(keys <= set(a) and a["evidence"] for a in alerts)
    assert len({a["alert_id"] for a in alerts}) == 1  # later rows escalate the same alert


def test_jabs_traded_while_several_members_laugh_score_lower_than_the_same_jabs_unlaughed() -> None:
    # The scorer alone, on fixed negativity scores: the same two members trade the same jabs; in one
    # window both of them (and a bystander) laugh, in the other the laughs come from one person only.
    from nlp.conflict.scorer import EscalationScorer, WindowMessage

    def msg(i: int, user: str, negativity: float, target: str | None, laughter: bool) -> WindowMessage:
        return WindowMessage(
            id=f"m{i}", user=user, ts=None, negativity=negativity, ad=0.0, target=target,
            rumour=False, threat=False, calming=False, laughter=laughter, resolution=False,
        )  # fmt: skip

    jabs = [("a", 0.7, "b"), ("b", 0.6, "a"), ("a", 0.7, "b"), ("b", 0.1, "a"), ("c", 0.1, None), ("a", 0.1, "b")]
    shared = [msg(i, u, n, t, laughter=i >= 3) for i, (u, n, t) in enumerate(jabs)]
    lone = [msg(i, u, n, t, laughter=i >= 3 and u == "a") for i, (u, n, t) in enumerate(jabs)]
    lone += [msg(9, "a", 0.1, None, laughter=True), msg(10, "a", 0.1, None, laughter=True)]
    shared += [msg(9, "d", 0.1, None, laughter=False), msg(10, "d", 0.1, None, laughter=False)]
    scorer = EscalationScorer()
    banter, fight = scorer.score(shared), scorer.score(lone)
    assert banter.features["laughter"] == fight.features["laughter"]  # same share of laughing messages
    assert banter.features["laughing_users"] == 2 and fight.features["laughing_users"] == 0
    assert banter.score < fight.score


def test_members_who_jab_and_laugh_count_as_banter_not_as_a_fight() -> None:
    # The same heated messages and the same laughs; only who laughs differs: the jabbers themselves
    # (friends teasing) or a bystander (a fight someone finds funny).
    from nlp.conflict.scorer import EscalationScorer, WindowMessage

    def msg(i: int, user: str, negativity: float, laughter: bool) -> WindowMessage:
        return WindowMessage(
            id=f"m{i}", user=user, ts=None, negativity=negativity, ad=0.0, target=None,
            rumour=False, threat=False, calming=False, laughter=laughter, resolution=False,
        )  # fmt: skip

    heated = [msg(0, "a", 0.7, False), msg(1, "b", 0.7, False), msg(2, "a", 0.6, False)]
    jabbers_laugh = [*heated, msg(3, "a", 0.05, True), msg(4, "b", 0.05, True)]
    bystanders_laugh = [*heated, msg(3, "c", 0.05, True), msg(4, "d", 0.05, True)]
    scorer = EscalationScorer()
    banter, fight = scorer.score(jabbers_laugh), scorer.score(bystanders_laugh)
    assert banter.features["laughing_users"] == fight.features["laughing_users"] == 1
    assert banter.features["laughing_hostiles"] == 2 and fight.features["laughing_hostiles"] == 0
    assert banter.score < fight.score


def test_scores_are_read_against_the_classifier_threshold(classifier) -> None:
    # A retrained head moves its calibration and its threshold together; the monitor follows the
    # threshold, so a message exactly at it counts as "hostile" (0.5 on the scorer's scale) whatever
    # the model, and a model whose threshold is 0.5 is read unchanged.
    from nlp.pipeline import Pipeline

    at_half, at_low = ConflictMonitor(negativity_threshold=0.5), ConflictMonitor(negativity_threshold=0.4)
    assert [at_half._on_reference_scale(s) for s in (0.0, 0.3, 0.5, 0.9, 1.0)] == [0.0, 0.3, 0.5, 0.9, 1.0]
    assert [round(at_low._on_reference_scale(s), 6) for s in (0.0, 0.2, 0.4, 0.7, 1.0)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ConflictMonitor(pipeline=Pipeline(classifier)).negativity_threshold == classifier.thresholds_["negativity"]
    with pytest.raises(ValueError, match="negativity_threshold"):
        ConflictMonitor(negativity_threshold=1.0)
