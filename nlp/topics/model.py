"""``TopicModel``: what each group talks about, found per group and kept up to date online.

Per group: sentence embeddings -> conversational context (:mod:`nlp.topics.context`: a reply joins
its parent's thread, ``+1`` joins the exchange it answers) -> PCA to 20 dimensions -> HDBSCAN
(no number of topics given; ``min_samples=1`` and a minimum topic size growing with the group, both
chosen on data/topics/dev.yaml) -> outlier reduction -> c-TF-IDF keywords over jieba words
(:mod:`nlp.topics.keywords`) -> a short label.

Outlier reduction: HDBSCAN leaves points it cannot place densely as ``-1``; in chat that is often a
real message of a known discussion phrased unusually. After clustering, every message whose context
vector has cosine >= ``outlier_threshold`` (0.75) to its nearest topic centroid joins that topic; the
rest stay ``-1``. New messages (:meth:`TopicModel.assign`) need ``assign_threshold`` (0.8): within
an archive every discussion is among the topics found, but a live group can start a new one, and
m3e's cosines are compressed (an unrelated message of the same group often scores 0.75; a topic's
own members mostly score 0.85-0.95 to its centroid). Both chosen on data/topics/dev.yaml.

Scale: a group's clustering runs on at most ``max_fit_messages`` messages spread evenly over its
time span; all others are assigned to the resulting topics (memory and time stay bounded).

Online: messages that fit no known topic are marked new and kept (bounded) per group; when enough of
them form a dense cluster, it becomes a new topic and a ``new_topic`` event is recorded.

scikit-learn style: parameters in ``__init__``, learned state in ``groups_`` / ``labels_`` / ``events_``.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from nlp.embed import Encoder
from nlp.io import Message
from nlp.text import Segmenter, default_segmenter
from nlp.topics.context import context_vectors, parents
from nlp.topics.keywords import content_words, ctfidf_keywords

OUTLIER = -1


@dataclass
class Topic:
    id: int
    label: str
    keywords: list[str]
    size: int
    examples: list[str]
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    def to_dict(self) -> dict:
        return {
            "topic": self.id,
            "label": self.label,
            "keywords": self.keywords,
            "size": self.size,
            "examples": self.examples,
            "first_ts": self.first_ts.isoformat() if self.first_ts else None,
            "last_ts": self.last_ts.isoformat() if self.last_ts else None,
        }


@dataclass
class GroupTopics:
    """One group's topics and the state :meth:`TopicModel.assign` needs."""

    group: str
    topics: list[Topic]
    centroids: np.ndarray  # (n_topics, dim) unit rows in context space
    n_messages: int
    outlier_share: float
    note: str | None = None  # why there are no topics (e.g. too few messages)
    recent: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)  # id -> context vector
    last: tuple[Message, bool] | None = field(default=None, repr=False)  # previous message, had content
    pending: list[tuple[Message, np.ndarray, list[str]]] = field(default_factory=list, repr=False)

    def label(self, topic: int) -> str:
        return self.topics[topic].label if 0 <= topic < len(self.topics) else ""


@dataclass(frozen=True)
class Assignment:
    topic: int
    label: str
    similarity: float
    is_new: bool


class TopicModel:
    def __init__(
        self,
        encoder: Encoder | str = "m3e-small",
        min_topic_size: int | None = None,
        min_samples: int | None = 1,
        reduce_dims: int | None = 20,
        outlier_threshold: float = 0.75,
        assign_threshold: float = 0.8,
        max_fit_messages: int = 5000,
        n_keywords: int = 6,
        gap_seconds: float = 300.0,
        recent_size: int = 2000,
        max_pending: int = 2000,
        random_state: int = 0,
        segmenter: Segmenter | None = None,
    ) -> None:
        self.encoder = encoder
        self.min_topic_size = min_topic_size
        self.min_samples = min_samples
        self.reduce_dims = reduce_dims
        self.outlier_threshold = outlier_threshold
        self.assign_threshold = assign_threshold
        self.max_fit_messages = max_fit_messages
        self.n_keywords = n_keywords
        self.gap_seconds = gap_seconds
        self.recent_size = recent_size
        self.max_pending = max_pending
        self.random_state = random_state
        self.segmenter = segmenter

    # ------------------------------------------------------------------ helpers
    def _encoder(self) -> Encoder:
        if not isinstance(self.encoder, Encoder):
            self.encoder = Encoder(self.encoder)
        return self.encoder

    def _seg(self) -> Segmenter:
        return self.segmenter or default_segmenter()

    def topic_size(self, n: int) -> int:
        """The smallest discussion counted as a topic: ``min_topic_size``, or by default
        ``max(3, sqrt(n) / 2)`` for a group of ``n`` messages (3 in a 60-message chat, 35 in 5,000),
        so a big group is not split into dozens of three-message topics."""
        return self.min_topic_size or max(3, int(math.sqrt(n) / 2))

    def _too_few(self, n: int) -> bool:
        return n < 10

    # ---------------------------------------------------------------------- fit
    def fit(self, messages: Sequence[Message]) -> TopicModel:
        """Find each group's topics. ``labels_[i]`` is message i's topic within its group."""
        self.groups_: dict[str, GroupTopics] = {}
        self.labels_ = np.full(len(messages), OUTLIER, dtype=np.int64)
        self.similarities_ = np.zeros(len(messages), dtype=np.float32)
        self.events_: list[dict] = []
        by_group: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            by_group.setdefault(m.group, []).append(i)
        for group, idx in by_group.items():
            order = sorted(idx, key=lambda i: (messages[i].ts is None, messages[i].ts or datetime.min, i))
            labels, sims, state = self._fit_group(group, [messages[i] for i in order])
            self.labels_[order] = labels
            self.similarities_[order] = sims
            self.groups_[group] = state
        return self

    def fit_assign(self, messages: Sequence[Message]) -> np.ndarray:
        return self.fit(messages).labels_

    def _fit_group(self, group: str, ordered: list[Message]) -> tuple[np.ndarray, np.ndarray, GroupTopics]:
        n = len(ordered)
        words = [content_words(m.text, self._seg()) for m in ordered]
        has_content = [bool(w) for w in words]
        vectors = self._encoder().encode([m.text for m in ordered])
        parent_of = parents(ordered, has_content, self.gap_seconds)
        ctx = context_vectors(vectors, parent_of, has_content)
        state = GroupTopics(group, [], np.zeros((0, ctx.shape[1]), np.float32), n, 1.0)
        self._remember(state, ordered, ctx, has_content)
        labels = np.full(n, OUTLIER, dtype=np.int64)
        if self._too_few(n):
            state.note = f"消息太少（{n} 条），无法可靠地归纳话题 (too few messages to find topics)"
            return labels, np.zeros(n, np.float32), state

        sample = np.arange(n)
        if n > self.max_fit_messages:
            sample = np.unique(np.linspace(0, n - 1, self.max_fit_messages).round().astype(int))
        clustered = self._cluster(ctx[sample], self.topic_size(len(sample)))
        labels[sample] = clustered
        k = int(clustered.max()) + 1 if (clustered >= 0).any() else 0
        if k == 0:
            state.note = "没有发现成形的话题 (no dense topic found)"
            return labels, np.zeros(n, np.float32), state
        centroids = self._centroids(ctx, labels, k)
        labels, sims = self._reduce_outliers(ctx, labels, centroids)
        labels, _ = self._by_size(labels, k)
        centroids = self._centroids(ctx, labels, len(set(labels) - {OUTLIER}))
        state.centroids = centroids
        state.topics = self._describe(ordered, words, ctx, labels, centroids)
        state.outlier_share = float((labels == OUTLIER).mean())
        return labels, sims, state

    def _cluster(self, points: np.ndarray, min_size: int, allow_single: bool = False) -> np.ndarray:
        import hdbscan
        from sklearn.decomposition import PCA

        x = points
        if self.reduce_dims and len(points) > self.reduce_dims + 1:
            x = PCA(n_components=self.reduce_dims, random_state=self.random_state).fit_transform(points)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hdbscan warns about deprecated sklearn arguments
            model = hdbscan.HDBSCAN(
                min_cluster_size=min_size,
                min_samples=self.min_samples,
                cluster_selection_method="eom",
                allow_single_cluster=allow_single,
                core_dist_n_jobs=1,
            )
            return model.fit_predict(x.astype(np.float64))

    @staticmethod
    def _centroids(ctx: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros((k, ctx.shape[1]), dtype=np.float32)
        for t in range(k):
            members = ctx[labels == t]
            if len(members):
                mean = members.mean(axis=0)
                out[t] = mean / (np.linalg.norm(mean) + 1e-9)
        return out

    def _reduce_outliers(
        self, ctx: np.ndarray, labels: np.ndarray, centroids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        sims_all = ctx @ centroids.T
        nearest = sims_all.argmax(axis=1)
        best = sims_all.max(axis=1)
        labels = labels.copy()
        take = (labels == OUTLIER) & (best >= self.outlier_threshold)
        labels[take] = nearest[take]
        sims = np.where(labels >= 0, sims_all[np.arange(len(labels)), np.maximum(labels, 0)], best)
        return labels, sims.astype(np.float32)

    @staticmethod
    def _by_size(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Topic 0 is the biggest; empty topics are dropped. Returns the labels and the old->new map."""
        sizes = np.bincount(labels[labels >= 0], minlength=k)
        keep = [t for t in np.argsort(-sizes, kind="stable") if sizes[t] > 0]
        remap = np.full(k, OUTLIER, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        return np.where(labels >= 0, remap[np.maximum(labels, 0)], OUTLIER), remap

    def _describe(
        self,
        ordered: list[Message],
        words: list[list[str]],
        ctx: np.ndarray,
        labels: np.ndarray,
        centroids: np.ndarray,
    ) -> list[Topic]:
        k = len(centroids)
        docs = [[w for i in np.flatnonzero(labels == t) for w in words[i]] for t in range(k)]
        keywords = ctfidf_keywords(docs, self.n_keywords)
        topics = []
        for t in range(k):
            members = np.flatnonzero(labels == t)
            closeness = ctx[members] @ centroids[t]
            examples: list[str] = []
            for i in members[np.argsort(-closeness)]:
                if words[i] and ordered[i].text not in examples:
                    examples.append(ordered[i].text)
                if len(examples) == 3:
                    break
            kw = [w for w, _ in keywords[t]]
            times = [ordered[i].ts for i in members if ordered[i].ts is not None]
            topics.append(
                Topic(
                    id=t,
                    label="·".join(kw[:3]) if kw else (examples[0][:20] if examples else f"话题{t}"),
                    keywords=kw,
                    size=len(members),
                    examples=examples,
                    first_ts=min(times) if times else None,
                    last_ts=max(times) if times else None,
                )
            )
        return topics

    def _remember(self, state: GroupTopics, ordered: list[Message], ctx: np.ndarray, has_content: list[bool]) -> None:
        for m, v in zip(ordered, ctx, strict=True):
            state.recent[m.id] = v
        while len(state.recent) > self.recent_size:
            state.recent.popitem(last=False)
        if ordered:
            state.last = (ordered[-1], has_content[-1])

    # ------------------------------------------------------------------- online
    def assign(self, messages: Sequence[Message]) -> list[Assignment]:
        """Put new messages (in time order per group) into known topics, or mark them new.

        New messages that fit no topic are kept per group; once ``min_topic_size`` of them form a
        dense cluster it becomes a new topic (a ``new_topic`` entry in ``events_``), and later
        messages like them are assigned to it."""
        if not hasattr(self, "groups_"):
            self.groups_, self.events_ = {}, []
        out: list[Assignment | None] = [None] * len(messages)
        by_group: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            by_group.setdefault(m.group, []).append(i)
        for group, idx in by_group.items():
            state = self.groups_.get(group)
            if state is None:
                dim = self._encoder().dim
                state = self.groups_[group] = GroupTopics(group, [], np.zeros((0, dim), np.float32), 0, 1.0)
            for i, assignment in zip(idx, self._assign_group(state, [messages[i] for i in idx]), strict=True):
                out[i] = assignment
        return [a for a in out if a is not None]

    def _assign_group(self, state: GroupTopics, batch: list[Message]) -> list[Assignment]:
        words = [content_words(m.text, self._seg()) for m in batch]
        has_content = [bool(w) for w in words]
        vectors = self._encoder().encode([m.text for m in batch])
        # A message's parent may be one remembered from earlier calls: put those first, with their
        # context vectors as they were, then the group's last message, then the batch.
        in_batch = {m.id for m in batch}
        last = [state.last[0]] if state.last is not None else []
        quoted = [
            Message(text="", id=m.reply_to, group=state.group)
            for m in batch
            if m.reply_to in state.recent and m.reply_to not in in_batch and not (last and last[0].id == m.reply_to)
        ]
        prefix = list({m.id: m for m in quoted}.values()) + last
        content = [True] * len(prefix) + has_content
        parent_of = parents(prefix + batch, content, self.gap_seconds)
        parent_of[: len(prefix)] = [None] * len(prefix)
        base = np.vstack([state.recent[m.id] for m in prefix] + [vectors]) if prefix else vectors
        ctx = context_vectors(base, parent_of, content)[len(prefix) :]
        self._remember(state, batch, ctx, has_content)
        state.n_messages += len(batch)
        results = []
        for j, m in enumerate(batch):
            topic, sim = self._nearest(state, ctx[j])
            if topic == OUTLIER:
                state.pending.append((m, ctx[j], words[j]))
                del state.pending[: -self.max_pending]
            results.append(Assignment(topic, state.label(topic), sim, topic == OUTLIER))
        promoted = self._promote_pending(state)
        if promoted:
            results = [
                Assignment(promoted[m.id], state.label(promoted[m.id]), r.similarity, True) if m.id in promoted else r
                for m, r in zip(batch, results, strict=True)
            ]
        return results

    def _nearest(self, state: GroupTopics, vector: np.ndarray) -> tuple[int, float]:
        if not len(state.centroids):
            return OUTLIER, 0.0
        sims = state.centroids @ vector
        best = int(sims.argmax())
        return (best if sims[best] >= self.assign_threshold else OUTLIER), float(sims[best])

    def _promote_pending(self, state: GroupTopics) -> dict[str, int]:
        """Cluster the unassigned messages; dense clusters become new topics."""
        size = max(self.topic_size(state.n_messages), 3)
        if len(state.pending) < 2 * size:
            return {}
        ctx = np.vstack([v for _, v, _ in state.pending])
        labels = self._cluster(ctx, size, allow_single=True)  # the new messages may all be one new topic
        promoted: dict[str, int] = {}
        keep = np.ones(len(state.pending), dtype=bool)
        for cluster in sorted(set(labels) - {OUTLIER}):
            members = np.flatnonzero(labels == cluster)
            if len(members) < size:
                continue
            topic_id = len(state.topics)
            mean = ctx[members].mean(axis=0)
            centroid = (mean / (np.linalg.norm(mean) + 1e-9)).astype(np.float32)
            # HDBSCAN keeps only the dense core; the other waiting messages as close to the new
            # topic as a new message must be to any topic join it too.
            close = (labels == OUTLIER) & keep & (ctx @ centroid >= self.assign_threshold)
            members = np.union1d(members, np.flatnonzero(close))
            labels[members] = cluster
            pending = [state.pending[i] for i in members]
            others = [state.pending[i][2] for i in np.flatnonzero(labels != cluster)]
            kw = [
                w
                for w, _ in ctfidf_keywords(
                    [[w for _, _, ws in pending for w in ws], [w for ws in others for w in ws]]
                )[0]
            ]
            examples = list(dict.fromkeys(m.text for m, _, ws in pending if ws))[:3]
            times = [m.ts for m, _, _ in pending if m.ts is not None]
            topic = Topic(
                topic_id,
                "·".join(kw[:3]) if kw else (examples[0][:20] if examples else f"话题{topic_id}"),
                kw[: self.n_keywords],
                len(members),
                examples,
                min(times) if times else None,
                max(times) if times else None,
            )
            state.topics.append(topic)
            state.centroids = (
                np.vstack([state.centroids, centroid[None, :]]) if len(state.centroids) else centroid[None]
            )
            self.events_.append(
                {
                    "type": "new_topic",
                    "group": state.group,
                    "topic": topic_id,
                    "label": topic.label,
                    "keywords": topic.keywords,
                    "size": topic.size,
                    "ts": topic.first_ts.isoformat() if topic.first_ts else None,
                }
            )
            for m, _, _ in pending:
                promoted[m.id] = topic_id
            keep[members] = False
        state.pending = [p for p, k in zip(state.pending, keep, strict=True) if k]
        return promoted
