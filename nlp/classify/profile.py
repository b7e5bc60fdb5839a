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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml

from nlp.classify.sparse_rows import SparseRows
from nlp.classify.thread import ThreadMemory

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
    thread_: ThreadMemory = field(default_factory=ThreadMemory, repr=False)  # recent replies' parents

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
        state.setdefault("thread_", ThreadMemory())  # saved before threads were remembered
        self.__dict__.update(state)

    def observe(self, vectors) -> None:
        """Fold messages (unit rows, dense or scipy-sparse) into the running centroid, in order."""
        self.relate(vectors, learn=True)

    def relate(self, vectors, learn: bool = True) -> np.ndarray:
        """Cosine of each row to the centroid of the messages seen before it (``nan`` while fewer
        than ``min_seen``); with ``learn`` each row is folded in after it is compared. Rows are
        dense, scipy-sparse or :class:`~nlp.classify.sparse_rows.SparseRows`.

        The fold is sequential, but only through scalars: how much row ``j`` weighs in the centroid
        that row ``i`` sees depends on how many messages came before, not on their content. So the
        dot products come from the old centroid's dot with each row plus, per chunk of rows, a Gram
        matrix (dense rows) or per-column prefix sums (sparse rows), not from numpy calls per row.
        The centroid is kept as ``_scale * _direction`` and renormalised once ``_scale`` falls below
        :data:`_RENORMALISE_BELOW`: waiting until 1e-200, as an earlier version did, let
        ``|_direction|^2`` overflow after ~178,000 messages in one group, and the group's centroid
        then read ``nan`` (no centroid) for good."""
        n = vectors.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        if self._direction is None:
            self._direction = np.zeros(vectors.shape[1], dtype=np.float64)
        if sp.issparse(vectors):
            vectors = SparseRows.from_matrix(vectors)
        sparse = isinstance(vectors, SparseRows)
        if not sparse:
            vectors = np.asarray(vectors, dtype=np.float64)
        chunk = _SPARSE_CHUNK if sparse else _DENSE_CHUNK
        if n <= chunk:  # a group's part of a batch, usually
            return self._relate_chunk(vectors, learn)
        parts = (vectors.rows_between(s, s + chunk) if sparse else vectors[s : s + chunk] for s in range(0, n, chunk))
        return np.concatenate([self._relate_chunk(part, learn) for part in parts])

    def _relate_chunk(self, x: np.ndarray | SparseRows, learn: bool) -> np.ndarray:
        if self._scale < _RENORMALISE_BELOW:  # keep |direction|^2 far from float64 overflow
            self._direction *= self._scale
            self._norm_sq *= self._scale**2
            self._scale = 1.0
        sparse = isinstance(x, SparseRows)
        x_sq = x.squares() if sparse else np.einsum("ij,ij->i", x, x)
        n = len(x_sq)
        seen = self.n_seen_ + np.arange(n)  # messages before each row
        if not learn:
            dots = x.dot(self._direction) if sparse else x @ self._direction
            return _cosines(dots, np.full(n, self._norm_sq), x_sq, np.full(n, self.n_seen_ >= self.min_seen))
        # centroid' = (w * centroid + x) / (w + 1) = a * scale * (direction + k * x), w = min(seen, memory):
        # the k of each row needs only the count, except that an empty centroid restarts (k = 1)
        if self.n_seen_ > 0 and self._norm_sq > 0:  # the usual case, no restart: numpy over the chunk
            weight = np.minimum(self.n_seen_ + np.arange(n), self.memory).astype(np.float64)
            a = weight / (weight + 1)
            scales = np.cumprod(np.concatenate([[self._scale], a]))  # the scale before each row, then after
            k, scale = (1 - a) / (a * scales[:-1]), float(scales[-1])
        else:
            # the centroid was empty: nothing before the chunk counts (and rows up to the last
            # restart are zero, so they add nothing below either)
            k, scale = self._restart_steps(x_sq)
            self._direction[:] = 0.0
        # dots: each row against the centroid before the chunk, plus the sum over the chunk's
        # earlier rows j < i of k_j <x_j, x_i>; the chunk is folded in
        if sparse:
            dots = x.dot_and_fold(k, self._direction)
        else:
            dots = x @ self._direction + np.triu((x @ x.T) * k[:, None], 1).sum(axis=0)
            self._direction += k @ x
        norm_before = np.cumsum(np.concatenate([[self._norm_sq], 2 * k * dots + k * k * x_sq]))
        out = _cosines(dots, norm_before[:-1], x_sq, seen >= self.min_seen)
        self._scale, self._norm_sq = scale, float(norm_before[-1])
        self.n_seen_ += n
        return out

    def _restart_steps(self, x_sq: np.ndarray) -> tuple[np.ndarray, float]:
        """``k`` per row and the scale after the chunk, row by row, where the centroid starts empty
        (a new group, or one that has only seen empty rows): it restarts at the first non-empty row."""
        k = np.empty(len(x_sq))
        scale, empty = self._scale, self._norm_sq == 0
        for i in range(len(x_sq)):
            weight = min(self.n_seen_ + i, self.memory)
            if weight == 0 or empty:
                k[i], scale = 1.0, 1.0
                empty = x_sq[i] == 0  # rows before a restart are all zero, so they add nothing
            else:
                a = weight / (weight + 1)
                k[i] = (1 - a) / (a * scale)
                scale *= a
        return k, scale


_DENSE_CHUNK = 256  # a Gram matrix per chunk: O(rows^2)
_SPARSE_CHUNK = 4096  # prefix sums: O(non-zeros); the bound keeps 1/scale within a chunk modest
_RENORMALISE_BELOW = 1e-30


def _cosines(dots: np.ndarray, norm_sq: np.ndarray, x_sq: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``nan`` where there is no centroid yet to compare with."""
    out = np.full(dots.shape[0], np.nan, dtype=np.float32)
    ok = seen & (norm_sq > 0) & (x_sq > 0)
    out[ok] = dots[ok] / np.sqrt(norm_sq[ok] * x_sq[ok])
    return out


def _cos(rows, vector: np.ndarray) -> np.ndarray:
    """Cosine of rows (dense or sparse) to ``vector``. Embeddings are unit length; hashed n-grams of
    very short messages are not (their norm is floored, see nlp.classify.ngrams), so divide."""
    if isinstance(rows, SparseRows):
        return rows.dot(vector) / ((np.sqrt(rows.squares()) + 1e-9) * (np.linalg.norm(vector) + 1e-9))
    if sp.issparse(rows):
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    else:
        norms = np.linalg.norm(rows, axis=1)
    return np.asarray(rows @ vector).ravel() / ((norms + 1e-9) * (np.linalg.norm(vector) + 1e-9))


def relatedness(purpose: np.ndarray | None, profile: GroupProfile | None, vectors, learn: bool = True) -> np.ndarray:
    """``(n, 5)`` for messages of one group, in order: cosine to the purpose text (row 0 of
    ``purpose``) and to the best example (the other rows), whether a purpose is known, cosine to the
    group's own running centroid (:meth:`GroupProfile.relate`), and whether there was one.

    ``vectors`` are the messages' unit-length rows, dense, scipy-sparse or
    :class:`~nlp.classify.sparse_rows.SparseRows` (never densified: in encoder-free mode a row has
    2**17 hashed n-gram dimensions)."""
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


def stated_purpose(group_topic: str | None, profile: GroupProfile | None) -> str:
    """The purpose a message is judged against, and the one its reasons name: the record's own
    ``group_topic`` (a bot may send it per message), else its group's profile's."""
    return group_topic or (profile.topic if profile is not None else "")


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


def admin_moderation(profile: GroupProfile | None, user: str | None, sure: bool) -> str | None:
    """Why a listed admin's message flagged as negativity is not reported as 负面, or ``None``;
    ``sure``: its score reaches the block threshold.

    Admins keep order, and their warnings (`请文明发言，再骂人就踢了`, 0.70 in the full model) read
    as hostile to heads trained on comment sections; data and a feature tried on dev did not move
    them (docs/eval-notes.md, "Moderators and peacemakers"). An operator who lists their admins
    does not want moderation reported. Below the block threshold the label goes; at or above it
    (an admin's sure abuse) it stays, for a person to look at, never blocked by a bot. The score is
    kept either way: the conflict monitor still reads an admin's stern word in a heated thread."""
    if profile is None or not user or user not in profile.admins:
        return None
    if sure:
        return f"发送者 {user} 是本群管理员，请人工处理（不自动封禁）"
    return f"发送者 {user} 是本群管理员，管理提醒不计为负面（按群设置）"


def _host(url: str) -> str:
    url = url.lower().split("://", 1)[-1]
    return url.split("/", 1)[0].split(":", 1)[0]


_GROUP_LISTS = ("examples", "admins", "allowed_domains")  # a groups file's list fields, beside its topic


def load_group_profiles(path: str | Path) -> dict[str, GroupProfile]:
    """``--groups FILE``: YAML or JSON ``{group_id: {topic, examples, admins, allowed_domains}}``."""
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    except yaml.YAMLError as exc:  # its message names the line and column
        raise ValueError(f"{path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of group id to {{topic, examples}}")
    profiles = {}
    for group, spec in raw.items():
        if isinstance(spec, str):
            spec = {"topic": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: group {group!r} must map to {{topic, examples}}")
        unknown = set(spec) - {"topic", *_GROUP_LISTS}
        if unknown:
            raise ValueError(
                f"{path}: group {group!r}: unknown field(s) {sorted(map(str, unknown))}; "
                f"known: topic, {', '.join(_GROUP_LISTS)}"
            )
        for name in _GROUP_LISTS:
            if not isinstance(spec.get(name, []), list):
                raise ValueError(f"{path}: group {group!r}: {name} must be a list")
        profiles[str(group)] = GroupProfile(
            topic=str(spec.get("topic") or ""),
            examples=[str(x) for x in spec.get("examples", [])],
            admins=[str(x) for x in spec.get("admins", [])],
            allowed_domains=[str(x).lower() for x in spec.get("allowed_domains", [])],
        )
    return profiles


def reconfigure(learned: dict[str, GroupProfile], configured: dict[str, GroupProfile]) -> dict[str, GroupProfile]:
    """Profiles restored from a saved state with the operator's current settings on top: purposes,
    examples, admins and allowed domains as configured now (an edited groups file wins; a group
    taken out of it keeps no purpose or admins), the learnt centroid and thread memory as saved."""
    out = dict(learned)
    current = {group: GroupProfile() for group in learned} | dict(configured)  # settings: the file's alone
    for group, settings in current.items():
        profile = out.get(group)
        if profile is None:
            out[group] = settings
            continue
        same_purpose = (profile.topic, profile.examples) == (settings.topic, settings.examples)
        out[group] = replace(
            profile,
            topic=settings.topic,
            examples=list(settings.examples),
            admins=list(settings.admins),
            allowed_domains=list(settings.allowed_domains),
            _purpose_vecs=profile._purpose_vecs if same_purpose else None,  # else vectors of the old purpose
        )
    return out
