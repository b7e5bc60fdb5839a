"""``Pipeline``: the one object the CLI, the HTTP service and a bot's Python code call.

It loads the model once, scores batches (``score``) or single messages (``score_one``), turns
probabilities into labels, a ``block``/``review``/``pass`` suggestion and Chinese reasons, and keeps
per-group profiles learning from the chat it sees (the running centroid behind off-topic when a
group has no stated purpose). Nothing below it knows about files or HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.classify import GroupProfile, MessageClassifier
from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier
from nlp.classify.profile import allows_ad
from nlp.classify.reasons import reasons_for
from nlp.embed import Encoder
from nlp.io import Message


@dataclass(frozen=True)
class Verdict:
    """What qunshao says about one message (the ``score`` output contract of DESIGN.md)."""

    id: str
    labels: list[str]
    scores: dict[str, float]
    suggestion: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "scores": self.scores, "suggestion": self.suggestion, "reasons": self.reasons}


class Pipeline:
    def __init__(
        self,
        model: str | Path | MessageClassifier = DEFAULT_MODEL_DIR,
        encoder: Encoder | str | None = "auto",
        profiles: Mapping[str, GroupProfile] | None = None,
        learn_groups: bool = True,
    ) -> None:
        self.classifier = model if isinstance(model, MessageClassifier) else load_classifier(model, encoder)
        self.profiles: dict[str, GroupProfile] = dict(profiles or {})
        self.learn_groups = learn_groups
        self._lock = threading.Lock()
        self._weights = {label: self.classifier.ngram_weights(label) for label in self.classifier.labels}

    def score(self, messages: Sequence[Message]) -> list[Verdict]:
        """Verdicts in input order. Thread-safe: group profiles are updated under a lock."""
        if not messages:
            return []
        with self._lock:
            feats = self.classifier.features(messages, self.profiles)
            proba = self.classifier.predict_proba_features(feats)
            if self.learn_groups:
                self._observe(messages, feats.space)
        return [self._verdict(m, proba[i], feats.analyses[i], feats.related[i]) for i, m in enumerate(messages)]

    def _verdict(self, message: Message, scores: np.ndarray, analysis, related: np.ndarray) -> Verdict:
        clf = self.classifier
        labels = clf.decide(scores)
        reasons: list[str] = []
        gated = scores
        if "ad" in labels:
            urls = [s.value for s in analysis.contacts if s.kind == "url"]
            allowed = allows_ad(
                self.profiles.get(message.group), message.user, urls, len(analysis.contacts) - len(urls)
            )
            if allowed:
                labels.remove("ad")
                reasons.append(allowed)
                gated = scores.copy()
                gated[clf.labels.index("ad")] = 0.0
        for label in labels:
            reasons += reasons_for(label, analysis, self._weights[label], related)
        return Verdict(
            id=message.id,
            labels=labels,
            scores={label: round(float(scores[j]), 4) for j, label in enumerate(clf.labels)},
            suggestion=clf.suggestion(gated),
            reasons=reasons,
        )

    def score_one(self, message: Message | str) -> Verdict:
        if isinstance(message, str):
            message = Message(text=message, id="1")
        return self.score([message])[0]

    def _observe(self, messages: Sequence[Message], space) -> None:
        rows: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            rows.setdefault(m.group, []).append(i)
        for group, idx in rows.items():
            profile = self.profiles.setdefault(group, GroupProfile())
            profile.observe(space[np.asarray(idx)])
