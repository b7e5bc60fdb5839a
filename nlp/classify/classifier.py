"""``MessageClassifier``: calibrated ad / negativity / off-topic heads for chat messages.

scikit-learn contract: parameters in ``__init__``, learned state in ``*_`` attributes set by
``fit``, ``predict_proba`` returning ``(n, n_labels)``. Each label has its own logistic-regression
head over [char n-grams | signal features | sentence embedding]; the off-topic head also reads how
related a message is to its group's purpose (:mod:`nlp.classify.profile`). Heads are calibrated
with Platt scaling inside cross-validation, thresholds are then chosen on a dev set
(:meth:`tune_thresholds`), and two thresholds per label give ``block`` / ``review`` / ``pass``.

Labels are independent, and each training row may leave a label unknown (``-1``): COLD rows say
nothing about off-topic, chit-chat rows nothing about ads. A head only trains on rows that know
its label.

``encoder=None`` runs encoder-free (n-grams + signals only): no model weights, much faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from nlp.classify.features import ngram_vectorizer, signal_matrix
from nlp.classify.profile import RELATEDNESS_NAMES, GroupProfile, relatedness
from nlp.embed import Encoder
from nlp.io import Message
from nlp.text import TextAnalysis, analyze, default_segmenter

LABELS = ("ad", "negativity", "offtopic")
UNKNOWN = -1


@dataclass(frozen=True)
class Features:
    """Everything computed once per batch and shared by the heads and the reasons."""

    analyses: list[TextAnalysis]
    base: sp.csr_matrix
    offtopic: sp.csr_matrix
    space: np.ndarray | sp.csr_matrix  # unit rows the group similarities were computed in
    related: np.ndarray  # (n, len(RELATEDNESS_NAMES))


class MessageClassifier:
    def __init__(
        self,
        encoder: Encoder | None = None,
        labels: Sequence[str] = LABELS,
        C: float = 4.0,
        embed_weight: float = 1.0,
        relatedness_weight: float = 2.0,
        calibration_folds: int = 3,
        block_precision: float = 0.95,
        min_block_score: float = 0.8,
    ) -> None:
        self.encoder = encoder
        self.labels = tuple(labels)
        self.C = C
        self.embed_weight = embed_weight
        self.relatedness_weight = relatedness_weight
        self.calibration_folds = calibration_folds
        self.block_precision = block_precision
        self.min_block_score = min_block_score

    # ----------------------------------------------------------------- features
    def features(self, messages: Sequence[Message], profiles: Mapping[str, GroupProfile] | None = None) -> Features:
        segmenter = default_segmenter()
        analyses = [analyze(m.text, segmenter) for m in messages]
        ngrams = ngram_vectorizer().transform([a.deobfuscated for a in analyses])
        signals = sp.csr_matrix(signal_matrix(analyses))
        blocks = [ngrams, signals]
        if self.encoder is not None:
            vectors = self.encoder.encode([m.text for m in messages])
            blocks.append(sp.csr_matrix(vectors * self.embed_weight))
            space = vectors
        else:
            space = ngrams
        base = sp.hstack(blocks, format="csr")
        related = self._relatedness(messages, space, profiles or {})
        offtopic = sp.hstack([base, sp.csr_matrix(related * self.relatedness_weight)], format="csr")
        return Features(analyses, base, offtopic, space, related)

    def _relatedness(self, messages: Sequence[Message], space, profiles: Mapping[str, GroupProfile]) -> np.ndarray:
        """Per group of messages: how related each is to the group's purpose and to its own chat.

        A record's ``group_topic`` overrides the profile's purpose (a bot may send it per message)."""
        out = np.zeros((len(messages), len(RELATEDNESS_NAMES)), dtype=np.float32)
        groups: dict[tuple[str, str | None], list[int]] = {}
        for i, m in enumerate(messages):
            groups.setdefault((m.group, m.group_topic), []).append(i)
        for (group, topic), rows in groups.items():
            profile = profiles.get(group)
            if topic and (profile is None or profile.topic != topic):
                profile = self._topic_profile(topic, profile)
            out[rows] = relatedness(profile, space[rows], self._vectorise_dense)
        return out

    def _topic_profile(self, topic: str, base: GroupProfile | None) -> GroupProfile:
        """A profile for a per-record ``group_topic``; its purpose vectors are cached per topic."""
        cache = self.__dict__.setdefault("_topic_vectors", {})
        profile = GroupProfile(topic=topic)
        if topic not in cache:
            if len(cache) >= 4096:
                cache.clear()
            cache[topic] = profile.purpose_vectors(self._vectorise_dense)
        profile._purpose_vecs = cache[topic]
        if base is not None:
            profile.centroid_, profile.n_seen_ = base.centroid_, base.n_seen_
        return profile

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_topic_vectors", None)  # a cache, and encoder-specific
        state["encoder"] = None  # an encoder holds a runtime session; model files record which one
        return state

    def _vectorise_dense(self, texts: Sequence[str]) -> np.ndarray:
        """Purpose texts (a handful per group) in the same space as the messages, dense."""
        if self.encoder is not None:
            return self.encoder.encode(list(texts))
        return ngram_vectorizer().transform([analyze(t, default_segmenter()).deobfuscated for t in texts]).toarray()

    def _head_input(self, label: str, feats: Features) -> sp.csr_matrix:
        return feats.offtopic if label == "offtopic" else feats.base

    # --------------------------------------------------------------- estimator
    def fit(
        self,
        messages: Sequence[Message],
        y: np.ndarray,
        profiles: Mapping[str, GroupProfile] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> MessageClassifier:
        """``y``: ``(n, n_labels)`` of 1 / 0 / -1 (unknown for that label). ``sample_weight`` lets a
        few hundred group-chat rows count as much as tens of thousands of public comments."""
        y = np.asarray(y)
        if y.shape != (len(messages), len(self.labels)):
            raise ValueError(f"y must have shape ({len(messages)}, {len(self.labels)}), got {y.shape}")
        feats = self.features(messages, profiles)
        self.heads_: dict[str, CalibratedClassifierCV] = {}
        self.n_train_: dict[str, dict[str, int]] = {}
        for j, label in enumerate(self.labels):
            known = y[:, j] != UNKNOWN
            target = y[known, j].astype(int)
            if len(set(target)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples to train")
            head = CalibratedClassifierCV(
                LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000, solver="liblinear"),
                method="sigmoid",
                cv=self.calibration_folds,
                ensemble=False,  # one head fit on all rows, Platt-calibrated on out-of-fold scores
            )
            weight = None if sample_weight is None else np.asarray(sample_weight)[known]
            head.fit(self._head_input(label, feats)[known], target, sample_weight=weight)
            self.heads_[label] = head
            self.n_train_[label] = {"positive": int(target.sum()), "negative": int((target == 0).sum())}
        self.thresholds_ = {label: 0.5 for label in self.labels}
        self.block_thresholds_ = {label: 0.9 for label in self.labels}
        return self

    def predict_proba(
        self, messages: Sequence[Message], profiles: Mapping[str, GroupProfile] | None = None
    ) -> np.ndarray:
        return self.predict_proba_features(self.features(messages, profiles))

    def predict_proba_features(self, feats: Features) -> np.ndarray:
        out = np.zeros((feats.base.shape[0], len(self.labels)), dtype=np.float32)
        if feats.base.shape[0] == 0:
            return out
        for j, label in enumerate(self.labels):
            out[:, j] = self.heads_[label].predict_proba(self._head_input(label, feats))[:, 1]
        return out

    def predict(self, messages: Sequence[Message], profiles: Mapping[str, GroupProfile] | None = None) -> np.ndarray:
        """Boolean ``(n, n_labels)``: :meth:`decide` applied to every row."""
        return self.decide_matrix(self.predict_proba(messages, profiles))

    def decide(self, scores: np.ndarray) -> list[str]:
        """Labels whose score reaches its threshold; an ad is not also reported as chatter."""
        labels = [label for j, label in enumerate(self.labels) if scores[j] >= self.thresholds_[label]]
        if "ad" in labels and "offtopic" in labels:
            labels.remove("offtopic")
        return labels

    def decide_matrix(self, proba: np.ndarray) -> np.ndarray:
        out = np.zeros(proba.shape, dtype=bool)
        for i, row in enumerate(proba):
            for label in self.decide(row):
                out[i, self.labels.index(label)] = True
        return out

    def tune_thresholds(
        self,
        proba: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        priors: Mapping[str, float] | None = None,
    ) -> MessageClassifier:
        """Per label: the (weighted) F1-best threshold on dev (the middle of a tie); the block threshold is the lowest one
        whose dev precision reaches ``block_precision``, never below the review threshold nor below
        ``min_block_score``: blocking is automatic, so a small dev set with perfect precision at a
        low score must not make a 0.15 score block.

        ``priors`` ({label: expected share of positives in real chat}) reweights dev so positives
        make up that share: a dev set that is a quarter ads would otherwise pick thresholds that
        flag far too much of a real group's chat, where ads are a few percent."""
        grid = np.linspace(0.05, 0.95, 91)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        for j, label in enumerate(self.labels):
            known = y[:, j] != UNKNOWN
            truth, scores, w = y[known, j].astype(int), proba[known, j], weights[known].copy()
            if priors and label in priors and 0 < truth.sum() < len(truth):
                prior = priors[label]
                pos = truth == 1
                w[pos] *= prior / (1 - prior) * w[~pos].sum() / w[pos].sum()
            f1s = np.array([f1_score(truth, scores >= t, sample_weight=w, zero_division=0) for t in grid])
            # Where dev separates a label perfectly, a whole range of thresholds ties: take the middle
            # of the range, not its lowest edge, so unseen data has margin on both sides.
            tied = grid[f1s >= f1s.max() - 1e-9]
            review = float(np.median(tied))
            block = 0.95
            for t in grid[grid >= review]:
                flagged = scores >= t
                if flagged.sum() >= 3 and np.average(truth[flagged], weights=w[flagged]) >= self.block_precision:
                    block = float(t)
                    break
            self.thresholds_[label] = round(review, 3)
            self.block_thresholds_[label] = round(max(block, review, self.min_block_score), 3)
        return self

    def suggestion(self, scores: np.ndarray) -> str:
        """``block`` when an ad or negativity score passes its block threshold, ``review`` when any
        label is flagged, else ``pass``. Off-topic chatter alone never blocks."""
        verdict = "pass"
        for j, label in enumerate(self.labels):
            if scores[j] >= self.thresholds_[label]:
                verdict = "review"
            if label != "offtopic" and scores[j] >= self.block_thresholds_[label]:
                return "block"
        return verdict

    def ngram_weights(self, label: str) -> np.ndarray:
        """Logistic-regression weight of each hashed n-gram for ``label`` (for reasons)."""
        (calibrated,) = self.heads_[label].calibrated_classifiers_
        return calibrated.estimator.coef_[0][: ngram_vectorizer().n_features]
