"""What a group is for, so off-topic can be judged relative to it.

A :class:`GroupProfile` holds the stated purpose (``topic``), optional on-topic ``examples`` and,
learned as the group chats, a running centroid of its recent messages. ``relatedness`` turns a
message into three similarities (to the purpose, to the closest example, to the centroid) that the
off-topic head combines with its generic chit-chat evidence. Without a profile the group's own
centroid is all there is: the fallback to "the group's dominant topics".

Similarities are computed in whatever space the classifier uses: sentence embeddings in full mode,
hashed char n-grams in encoder-free mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml

Vectorise = Callable[[Sequence[str]], np.ndarray]
RELATEDNESS_NAMES = ("sim_topic", "sim_example", "has_purpose", "sim_group", "has_group")


@dataclass
class GroupProfile:
    """A group's purpose and house rules, plus what it learns from its own chat.

    The learned part is a running centroid of the group's messages (all of them: at scoring time
    nobody knows which are on-topic, and in a healthy group most are), weighted so the last
    ``memory`` messages dominate and it follows the discussion as it drifts. It is *causal*: a
    message is compared with the centroid of the messages before it, then folded in. So a message's
    features never depend on how an archive was cut into batches, nor on messages after it, and an
    archive scored in one go gives what a live bot would have said message by message.
    """

    topic: str = ""
    examples: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)  # their links and notices are the group's own
    allowed_domains: list[str] = field(default_factory=list)  # e.g. the course platform's domain
    memory: int = 500
    min_seen: int = 3  # a centroid of one or two messages says little about "what this group discusses"
    n_seen_: int = 0
    # centroid = _scale * _direction; kept apart so folding a sparse row in costs O(its non-zeros)
    _direction: np.ndarray | None = field(default=None, repr=False)
    _scale: float = field(default=1.0, repr=False)
    _norm_sq: float = field(default=0.0, repr=False)  # |_direction|^2
    _purpose_vecs: np.ndarray | None = field(default=None, repr=False)

    @property
    def has_purpose(self) -> bool:
        return bool(self.topic or self.examples)

    @property
    def centroid_(self) -> np.ndarray | None:
        return None if self._direction is None else (self._direction * self._scale).astype(np.float32)

    def purpose_vectors(self, vectorise: Vectorise) -> np.ndarray:
        """Row 0: the topic text; rows 1..: the examples. Cached after the first call."""
        if self._purpose_vecs is None:
            self._purpose_vecs = np.asarray(vectorise([self.topic, *self.examples]), dtype=np.float32)
        return self._purpose_vecs

    def __getstate__(self) -> dict:
        """A hashed n-gram centroid has 131k dimensions, mostly zero: store its non-zeros only, so
        checkpoints of many groups stay small."""
        state = self.__dict__.copy()
        direction = state.get("_direction")
        if direction is not None and direction.size > 4096:
            nonzero = np.flatnonzero(direction)
            state["_direction"] = ("sparse", direction.size, nonzero.astype(np.int32), direction[nonzero])
        return state

    def __setstate__(self, state: dict) -> None:
        direction = state.get("_direction")
        if isinstance(direction, tuple):
            _, size, index, values = direction
            state["_direction"] = np.zeros(size, dtype=np.float64)
            state["_direction"][index] = values
        self.__dict__.update(state)

    def observe(self, vectors) -> None:
        """Fold messages (unit rows, dense or scipy-sparse) into the running centroid, in order."""
        self.relate(vectors, learn=True)

    def relate(self, vectors, learn: bool = True) -> np.ndarray:
        """Cosine of each row to the centroid of the messages seen before it (``nan`` while fewer
        than ``min_seen``); with ``learn`` each row is folded in after it is compared."""
        n = vectors.shape[0]
        out = np.full(n, np.nan, dtype=np.float32)
        if n == 0:
            return out
        sparse = hasattr(vectors, "indptr")
        if self._direction is None:
            self._direction = np.zeros(vectors.shape[1], dtype=np.float64)
        direction = self._direction
        # per-row numpy calls are the cost here: convert and measure every row once, up front
        if sparse:
            bounds = vectors.indptr.tolist()
            indices, data = vectors.indices, vectors.data.astype(np.float64)
            row_of = np.repeat(np.arange(n), np.diff(vectors.indptr))
            x_squares = np.bincount(row_of, weights=data * data, minlength=n).tolist()
        else:
            dense = np.asarray(vectors, dtype=np.float64)
            x_squares = np.einsum("ij,ij->i", dense, dense).tolist()
        for i in range(n):
            x_sq = x_squares[i]
            if sparse:
                idx, val = indices[bounds[i] : bounds[i + 1]], data[bounds[i] : bounds[i + 1]]
                dot = float(direction[idx] @ val)
            else:
                x = dense[i]
                dot = float(direction @ x)
            if self.n_seen_ >= self.min_seen and self._norm_sq > 0 and x_sq > 0:
                out[i] = dot / math.sqrt(self._norm_sq * x_sq)
            if not learn:
                continue
            weight = min(self.n_seen_, self.memory)
            # centroid' = (w * centroid + x) / (w + 1) = a * scale * (direction + k * x)
            a = weight / (weight + 1)
            if weight == 0 or self._norm_sq == 0:
                direction[:] = 0.0
                self._scale, k, self._norm_sq, dot = 1.0, 1.0, 0.0, 0.0
            else:
                k = (1 - a) / (a * self._scale)
                self._scale *= a
            self._norm_sq += 2 * k * dot + k * k * x_sq
            if sparse:
                direction[idx] += k * val
            else:
                direction += k * x
            if self._scale < 1e-200:  # renormalise long before float64 underflows
                direction *= self._scale
                self._norm_sq *= self._scale**2
                self._scale = 1.0
            self.n_seen_ += 1
        return out


def _cos(rows, vector: np.ndarray) -> np.ndarray:
    """Cosine of rows (dense or sparse) to ``vector``. Embeddings are unit length; hashed n-grams of
    very short messages are not (their norm is floored, see nlp.classify.ngrams), so divide."""
    if sp.issparse(rows):
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    else:
        norms = np.linalg.norm(rows, axis=1)
    return np.asarray(rows @ vector).ravel() / ((norms + 1e-9) * (np.linalg.norm(vector) + 1e-9))


def relatedness(purpose: np.ndarray | None, profile: GroupProfile | None, vectors, learn: bool = True) -> np.ndarray:
    """``(n, 5)`` for messages of one group, in order: cosine to the purpose text (row 0 of
    ``purpose``) and to the best example (the other rows), whether a purpose is known, cosine to the
    group's own running centroid (:meth:`GroupProfile.relate`), and whether there was one.

    ``vectors`` are the messages' unit-length rows, dense or scipy-sparse (never densified: in
    encoder-free mode a row has 2**17 hashed n-gram dimensions)."""
    n = vectors.shape[0]
    out = np.zeros((n, len(RELATEDNESS_NAMES)), dtype=np.float32)
    if n == 0:
        return out
    if purpose is not None and len(purpose):
        sims = np.stack([_cos(vectors, p) for p in purpose], axis=1)
        out[:, 0] = sims[:, 0]
        out[:, 1] = sims[:, 1:].max(axis=1) if purpose.shape[0] > 1 else sims[:, 0]
        out[:, 2] = 1.0
    if profile is not None:
        group = profile.relate(vectors, learn)
        seen = ~np.isnan(group)
        out[seen, 3] = group[seen]
        out[seen, 4] = 1.0
    return out


def allows_ad(profile: GroupProfile | None, user: str | None, urls: list[str], other_contacts: int) -> str | None:
    """Why the group's own rules let this message through as *not* an ad, or ``None``.

    Operators post course links and notices themselves; a learning group whose profile lists its
    admins or its platform's domain should not see those flagged as 广告."""
    if profile is None:
        return None
    if user and user in profile.admins:
        return f"发送者 {user} 是本群管理员，已按群设置放行"
    if urls and not other_contacts and profile.allowed_domains:
        hosts = [_host(u) for u in urls]
        if all(any(h == d or h.endswith("." + d) for d in profile.allowed_domains) for h in hosts):
            return "链接属于本群允许的域名，已按群设置放行"
    return None


def _host(url: str) -> str:
    url = url.lower().split("://", 1)[-1]
    return url.split("/", 1)[0].split(":", 1)[0]


def load_group_profiles(path: str | Path) -> dict[str, GroupProfile]:
    """``--groups FILE``: YAML or JSON ``{group_id: {topic, examples, admins, allowed_domains}}``."""
    raw = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of group id to {{topic, examples}}")
    profiles = {}
    for group, spec in raw.items():
        if isinstance(spec, str):
            spec = {"topic": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: group {group!r} must map to {{topic, examples}}")
        profiles[str(group)] = GroupProfile(
            topic=str(spec.get("topic", "")),
            examples=[str(x) for x in spec.get("examples", [])],
            admins=[str(x) for x in spec.get("admins", [])],
            allowed_domains=[str(x).lower() for x in spec.get("allowed_domains", [])],
        )
    return profiles
