"""``Pipeline``: the one object the CLI, the HTTP service and a bot's Python code call.

It loads the model once, scores batches (``score``) or single messages (``score_one``), turns
probabilities into labels, a ``block``/``review``/``pass`` suggestion and Chinese reasons, and keeps
per-group profiles learning from the chat it sees (the running centroid behind off-topic when a
group has no stated purpose). Nothing below it knows about files or HTTP.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.classify import GroupProfile, MessageClassifier
from nlp.classify.classifier import Prepared
from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier
from nlp.classify.profile import allows_ad
from nlp.classify.reasons import reasons_for, top_terms
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
        device: str = "auto",
        backend: str = "auto",
        dedup: bool = True,
        vector_cache: str | Path | None = None,
    ) -> None:
        self.classifier = (
            model
            if isinstance(model, MessageClassifier)
            else load_classifier(model, encoder, device, backend, vector_cache)
        )
        self.profiles: dict[str, GroupProfile] = dict(profiles or {})
        self.learn_groups = learn_groups
        self.dedup = dedup
        self._lock = threading.Lock()
        self._weights = {label: self.classifier.ngram_weights(label) for label in self.classifier.labels}
        self._terms_cache: OrderedDict[tuple[str, str], list[tuple[str, int]]] = OrderedDict()
        self._terms_lock = threading.Lock()

    def score(self, messages: Sequence[Message]) -> list[Verdict]:
        """Verdicts in input order. Thread-safe: group profiles are updated under a lock."""
        if not messages:
            return []
        return self._finish(self.classifier.prepare(messages, self.dedup))

    def score_stream(self, batches: Iterable[Sequence[Message]]) -> Iterator[tuple[list[Message], list[Verdict]]]:
        """Score batches as they come, preparing batch k+1 (text analysis, tokenisation) in a worker
        thread while the model runs on batch k; yields each batch with its verdicts, in order.

        Verdicts are the same as :meth:`score` on each batch, or on all messages at once: nothing a
        message gets depends on how the stream was cut."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qunshao-prepare") as pool:
            batches = iter(batches)
            pending = None
            while True:
                batch = next(batches, None)
                upcoming = pool.submit(self.classifier.prepare, list(batch), self.dedup) if batch else None
                if pending is not None:
                    prepared = pending.result()
                    yield prepared.messages, self._finish(prepared)
                if upcoming is None:
                    return
                pending = upcoming

    def _finish(self, prepared: Prepared) -> list[Verdict]:
        with self._lock:
            feats = self.classifier.complete(prepared, self.profiles, learn=self.learn_groups)
            proba = self.classifier.predict_proba_features(feats)
        messages = prepared.messages
        return [self._verdict(m, proba[i], feats.analyses[i], feats.related[i]) for i, m in enumerate(messages)]

    def state(self) -> dict[str, GroupProfile]:
        """What the pipeline has learnt about each group (small, picklable): save it to resume a run
        or restart a bot where it was."""
        with self._lock:
            return copy.deepcopy(self.profiles)

    def restore(self, state: Mapping[str, GroupProfile]) -> None:
        with self._lock:
            self.profiles = copy.deepcopy(dict(state))

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
            reasons += reasons_for(label, analysis, self._weights[label], related, self._terms(label, analysis))
        return Verdict(
            id=message.id,
            labels=labels,
            scores={label: round(float(scores[j]), 4) for j, label in enumerate(clf.labels)},
            suggestion=clf.suggestion(gated),
            reasons=reasons,
        )

    def _terms(self, label: str, analysis) -> list[tuple[str, int]]:
        """Weighted terms of a flagged text, cached (bounded): archives repeat the same ads."""
        key = (label, analysis.raw)
        with self._terms_lock:
            found = self._terms_cache.get(key)
        if found is None:
            found = top_terms(analysis, self._weights[label])
            with self._terms_lock:
                self._terms_cache[key] = found
                if len(self._terms_cache) > 20_000:
                    self._terms_cache.popitem(last=False)
        return found

    def score_one(self, message: Message | str) -> Verdict:
        if isinstance(message, str):
            message = Message(text=message, id="1")
        return self.score([message])[0]
