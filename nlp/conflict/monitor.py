"""``ConflictMonitor``: per-group early warning for 争执, 谣言 and pile-ons, message by message.

Feed it messages in time order (per group) with the classifier's verdicts (or let it score them with
a :class:`~nlp.pipeline.Pipeline`); it keeps a small window per group, asks the
:class:`~nlp.conflict.scorer.EscalationScorer` how heated the window is and the
:class:`~nlp.conflict.policy.AlertPolicy` whether to alert. An alert says where the dispute began,
who is involved and in what role, which messages are the evidence, a Chinese summary and a
suggested next step. Its state is a small JSON-able dict per group, so a restarted bot resumes.

Negativity scores are read against the classifier's own negativity threshold (``negativity_threshold``,
taken from ``pipeline`` when one is given): the scorer's levels and weights were set on a model whose
threshold was 0.5, and every retrain moves a head's calibration and its threshold together.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nlp.conflict import cues
from nlp.conflict.policy import AlertPolicy
from nlp.conflict.scorer import Escalation, EscalationScorer, WindowMessage
from nlp.io import Message

KIND_NAMES = {"dispute": "争执", "rumour": "谣言", "pile_on": "围攻"}
NEXT_STEP = {
    "dispute": "私聊当事人了解情况，在群里发布群规提醒（对事不对人），必要时暂时禁言",
    "rumour": "核实消息来源，发布澄清或官方信息，提醒大家不要转发未经证实的消息",
    "pile_on": "提醒大家对事不对人，私聊安抚被集中指责的成员，必要时暂停讨论",
}


@dataclass
class Alert:
    group: str
    alert_id: str
    trigger_id: str
    start_id: str
    ts: str | None
    severity: str
    kind: str
    score: float
    participants: list[dict[str, str]]
    evidence: list[str]
    summary: str
    suggestion: str
    event: str = "open"  # open / escalate

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _GroupState:
    recent: deque = field(default_factory=lambda: deque(maxlen=60))
    authors: dict[str, str] = field(default_factory=dict)  # message id -> user, for reply targets
    negativity: float = 0.0  # long-run mean negativity of the group
    seen: int = 0
    open_alert: dict | None = None
    quiet_run: int = 0
    heated_at: float | None = None  # epoch seconds of the last message that left the window heated


class ConflictMonitor:
    def __init__(
        self,
        scorer: EscalationScorer | None = None,
        policy: AlertPolicy | None = None,
        pipeline=None,
        baseline_memory: int = 300,
        negativity_threshold: float | None = None,
    ) -> None:
        self.scorer = scorer or EscalationScorer()
        if negativity_threshold is None:
            thresholds = getattr(getattr(pipeline, "classifier", None), "thresholds_", {})
            negativity_threshold = thresholds.get("negativity", 0.5)
        if not 0.0 < negativity_threshold < 1.0:
            raise ValueError(f"negativity_threshold must be between 0 and 1, not {negativity_threshold}")
        self.negativity_threshold = negativity_threshold
        self.policy = policy or AlertPolicy()
        self.pipeline = pipeline
        self.baseline_memory = baseline_memory
        self.groups: dict[str, _GroupState] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ public
    def process(self, messages: Sequence[Message], verdicts: Sequence | None = None) -> list[Alert]:
        """New and escalated alerts caused by these messages (in the order they fired)."""
        if verdicts is None:
            if self.pipeline is None:
                raise ValueError("give verdicts, or a pipeline to score the messages")
            verdicts = self.pipeline.score(messages)
        out: list[Alert] = []
        for message, verdict in zip(messages, verdicts, strict=True):
            alert = self.observe(message, verdict.scores)
            if alert is not None:
                out.append(alert)
        return out

    def observe(self, message: Message, scores: dict[str, float]) -> Alert | None:
        state = self.groups.setdefault(message.group, _GroupState())
        item = self._window_message(message, scores, state)
        if state.open_alert is not None and self.policy.expired(state.heated_at, item.ts):
            state.open_alert, state.quiet_run = None, 0
        state.recent.append(item)
        state.authors[message.id] = item.user
        if len(state.authors) > 500:
            for key in list(state.authors)[:100]:
                del state.authors[key]
        escalation = self.scorer.score(state.recent, self._rough(state))
        weight = min(state.seen, self.baseline_memory)
        state.negativity = (weight * state.negativity + item.negativity) / (weight + 1)
        state.seen += 1
        action, severity = self.policy.decide(
            escalation.score, state.open_alert["severity"] if state.open_alert else None, state.quiet_run
        )
        state.quiet_run = state.quiet_run + 1 if escalation.score < self.policy.close_below else 0
        if escalation.score >= self.policy.close_below and item.ts is not None:
            state.heated_at = item.ts
        if action == "open":
            return self._open(message, escalation, severity or "low", state)
        if action == "escalate":
            return self._escalate(message, escalation, severity or "medium", state)
        if action == "update":
            self._update(escalation, state)
        elif action == "close":
            state.open_alert = None
        return None

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state of every group (a restarted bot continues from it)."""
        return {
            "next_id": next(self._ids),
            "groups": {
                group: {
                    "recent": [m.to_dict() for m in s.recent],
                    "authors": s.authors,
                    "negativity": s.negativity,
                    "seen": s.seen,
                    "open_alert": s.open_alert,
                    "quiet_run": s.quiet_run,
                    "heated_at": s.heated_at,
                }
                for group, s in self.groups.items()
            },
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._ids = itertools.count(int(state.get("next_id", 1)))
        self.groups = {}
        for group, s in state.get("groups", {}).items():
            g = _GroupState()
            g.recent.extend(WindowMessage(**m) for m in s["recent"])
            g.authors = dict(s["authors"])
            g.negativity, g.seen = float(s["negativity"]), int(s["seen"])
            g.open_alert, g.quiet_run = s["open_alert"], int(s["quiet_run"])
            g.heated_at = s.get("heated_at")  # absent in state saved before it existed
            self.groups[group] = g

    # ----------------------------------------------------------------- helpers
    def _rough(self, state: _GroupState) -> float:
        """How much rougher than a polite group this one usually is (0 until it has a history)."""
        return max(state.negativity - 0.1, 0.0) if state.seen >= 30 else 0.0

    def _window_message(self, message: Message, scores: dict[str, float], state: _GroupState) -> WindowMessage:
        text = message.text
        target = state.authors.get(message.reply_to) if message.reply_to else None
        mentioned = cues.mentions(text)
        if target is None and mentioned:
            target = mentioned[0]
        return WindowMessage(
            id=message.id,
            user=message.user or "?",
            ts=message.ts.timestamp() if message.ts else None,
            negativity=self._on_reference_scale(float(scores.get("negativity", 0.0))),
            ad=float(scores.get("ad", 0.0)),
            target=target,
            rumour=bool(cues.RUMOUR.search(text)),
            threat=bool(cues.THREAT.search(text)),
            calming=bool(cues.CALMING.search(text)),
            laughter=bool(cues.LAUGHTER.search(text)),
            resolution=bool(cues.RESOLUTION.search(text)),
        )

    def _on_reference_scale(self, score: float) -> float:
        """The classifier's negativity score, stretched piecewise-linearly so that its own threshold
        lands on 0.5, the scale the scorer's levels and weights were set on (a model whose threshold
        is 0.5 passes unchanged). A retrained head moves its calibration and its threshold together;
        read raw, the same quarrel ran hotter or cooler after every retrain."""
        t = self.negativity_threshold
        return 0.5 * score / t if score <= t else 0.5 + 0.5 * (score - t) / (1.0 - t)

    def _evidence(self, escalation: Escalation, state: _GroupState) -> list[str]:
        ids = set(escalation.hostile_ids) | set(escalation.rumour_ids)
        for m in self.scorer.recent_window(state.recent):
            if m.threat or m.calming or (escalation.target and m.target == escalation.target and m.negativity > 0.2):
                ids.add(m.id)
        order = [m.id for m in state.recent]
        return [i for i in order if i in ids][-10:]

    def _participants(self, escalation: Escalation, evidence: list[str], state: _GroupState) -> list[dict[str, str]]:
        by_id = {m.id: m for m in state.recent}
        authors = [by_id[i].user for i in evidence if i in by_id]
        roles: dict[str, str] = {}
        if escalation.kind == "pile_on" and escalation.target:
            roles[escalation.target] = "target"
            for user in escalation.attackers:
                roles.setdefault(user, "joiner")
            first = next((u for u in authors if u in escalation.attackers), None)
            if first:
                roles[first] = "instigator"
        elif escalation.kind == "dispute" and escalation.pair:
            a, b = escalation.pair
            first = next((u for u in authors if u in (a, b)), a)
            roles[first] = "instigator"
            roles[b if first == a else a] = "target"
        elif authors:
            roles[authors[0]] = "instigator"
        for user in authors:
            roles.setdefault(user, "joiner")
        return [{"user": u, "role": r} for u, r in roles.items()]

    def _summary(self, escalation: Escalation, participants: list[dict[str, str]], evidence: list[str]) -> str:
        names = {p["role"]: p["user"] for p in reversed(participants)}
        f = escalation.features
        if escalation.kind == "rumour":
            return (
                f"{len({p['user'] for p in participants})} 人在传播未经证实的消息（听说/紧急/转发等），"
                f"{len(evidence)} 条相关消息，可能引发恐慌"
            )
        if escalation.kind == "pile_on":
            return f"{len(escalation.attackers)} 人集中指责「{escalation.target}」，{len(escalation.hostile_ids)} 条负面消息"
        extra = "，出现威胁/截图/举报类言论" if f["threat"] else ""
        calm = "，已有群友劝架" if f["calming"] else ""
        who = (
            f"「{names['instigator']}」与「{names['target']}」发生争执"
            if "instigator" in names and "target" in names
            else "、".join(f"「{p['user']}」" for p in participants[:3]) + " 言辞激烈"
        )
        return f"{who}，近 {escalation.size} 条消息中 {len(escalation.hostile_ids)} 条带火气{extra}{calm}"

    def _open(self, message: Message, escalation: Escalation, severity: str, state: _GroupState) -> Alert:
        evidence = self._evidence(escalation, state)
        participants = self._participants(escalation, evidence, state)
        alert = Alert(
            group=message.group,
            alert_id=f"{message.group}#{next(self._ids)}",
            trigger_id=message.id,
            start_id=evidence[0] if evidence else message.id,
            ts=message.ts.isoformat() if message.ts else None,
            severity=severity,
            kind=KIND_NAMES[escalation.kind],
            score=round(escalation.score, 3),
            participants=participants,
            evidence=evidence,
            summary=self._summary(escalation, participants, evidence),
            suggestion=NEXT_STEP[escalation.kind],
        )
        state.open_alert = alert.to_dict()
        return alert

    def _escalate(self, message: Message, escalation: Escalation, severity: str, state: _GroupState) -> Alert:
        assert state.open_alert is not None
        self._update(escalation, state)
        opened = dict(state.open_alert)
        opened.update(
            trigger_id=message.id,
            ts=message.ts.isoformat() if message.ts else None,
            severity=severity,
            score=round(escalation.score, 3),
            event="escalate",
        )
        state.open_alert = opened
        return Alert(**opened)

    def _update(self, escalation: Escalation, state: _GroupState) -> None:
        if state.open_alert is None or escalation.score < self.policy.open_at:
            return
        evidence = list(dict.fromkeys(state.open_alert["evidence"] + self._evidence(escalation, state)))[-12:]
        state.open_alert["evidence"] = evidence
