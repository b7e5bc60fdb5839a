"""What a group is for, so off-topic can be judged relative to it.

A :class:`GroupProfile` holds the stated purpose (``topic``), optional on-topic ``examples`` and,
learned as the group chats, a centroid of its recent on-topic messages. ``relatedness`` turns a
message into three similarities (to the purpose, to the closest example, to the centroid) that the
off-topic head combines with its generic chit-chat evidence. Without a profile the group's own
centroid is all there is: the fallback to "the group's dominant topics".

Similarities are computed in whatever space the classifier uses: sentence embeddings in full mode,
hashed char n-grams in encoder-free mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

Vectorise = Callable[[Sequence[str]], np.ndarray]
RELATEDNESS_NAMES = ("sim_topic", "sim_example", "has_purpose", "sim_group", "has_group")


@dataclass
class GroupProfile:
    """A group's purpose and house rules, plus what it learns from its own chat.

    ``centroid_`` is a running mean of the unit vectors of the group's messages (all of them: at
    scoring time nobody knows which are on-topic, and in a healthy group most are), so a message
    far from it is far from what the group usually talks about. ``n_seen_`` caps at ``memory`` so the
    centroid follows the group as its discussion drifts.
    """

    topic: str = ""
    examples: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)  # their links and notices are the group's own
    allowed_domains: list[str] = field(default_factory=list)  # e.g. the course platform's domain
    memory: int = 500
    centroid_: np.ndarray | None = None
    n_seen_: int = 0
    _purpose_vecs: np.ndarray | None = field(default=None, repr=False)

    @property
    def has_purpose(self) -> bool:
        return bool(self.topic or self.examples)

    def purpose_vectors(self, vectorise: Vectorise) -> np.ndarray:
        """Row 0: the topic text; rows 1..: the examples. Cached after the first call."""
        if self._purpose_vecs is None:
            self._purpose_vecs = np.asarray(vectorise([self.topic, *self.examples]), dtype=np.float32)
        return self._purpose_vecs

    def observe(self, vectors) -> None:
        """Fold messages (unit rows, dense or sparse) into the running centroid."""
        n = vectors.shape[0]
        if n == 0:
            return
        batch_mean = np.asarray(vectors.mean(axis=0), dtype=np.float32).ravel()
        if self.centroid_ is None:
            self.centroid_, self.n_seen_ = batch_mean, min(n, self.memory)
            return
        weight = min(self.n_seen_, self.memory)
        self.centroid_ = (weight * self.centroid_ + n * batch_mean) / (weight + n)
        self.n_seen_ = min(self.n_seen_ + n, self.memory)


def _cos(rows, vector: np.ndarray) -> np.ndarray:
    """Cosine of unit-length rows (dense or sparse; embeddings and hashed n-grams both are) to ``vector``."""
    return np.asarray(rows @ vector).ravel() / (np.linalg.norm(vector) + 1e-9)


def relatedness(profile: GroupProfile | None, vectors, vectorise: Vectorise) -> np.ndarray:
    """``(n, 5)`` for messages of one group: cosine to its purpose and best example, whether a purpose
    is known, and cosine to the group's own centroid *without the message itself* (from this batch's
    other messages of the group plus the profile's running centroid), and whether there was one.

    ``vectors`` are the messages' unit-length rows, dense or scipy-sparse (never densified: in
    encoder-free mode a row has 2**17 hashed n-gram dimensions)."""
    n = vectors.shape[0]
    out = np.zeros((n, len(RELATEDNESS_NAMES)), dtype=np.float32)
    if n == 0:
        return out
    if profile is not None and profile.has_purpose:
        purpose = profile.purpose_vectors(vectorise)
        sims = np.stack([_cos(vectors, p) for p in purpose], axis=1)
        out[:, 0] = sims[:, 0]
        out[:, 1] = sims[:, 1:].max(axis=1) if purpose.shape[0] > 1 else sims[:, 0]
        out[:, 2] = 1.0
    # Leave-one-out centroid: total = sum of this batch's rows + the profile's remembered mass.
    total = np.asarray(vectors.sum(axis=0), dtype=np.float64).ravel()
    mass = float(n)
    if profile is not None and profile.centroid_ is not None:
        weight = min(profile.n_seen_, profile.memory)
        total = total + weight * profile.centroid_
        mass += weight
    if mass - 1 < 1:
        return out
    dots = np.asarray(vectors @ total).ravel()
    self_sq = (
        np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel()
        if hasattr(vectors, "multiply")
        else (np.einsum("ij,ij->i", vectors, vectors))
    )
    others = np.sqrt(np.maximum(total @ total - 2 * dots + self_sq, 1e-12))
    out[:, 3] = (dots - self_sq) / others
    out[:, 4] = 1.0
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
