"""Sentence vectors kept on disk across runs, so re-scoring an archive embeds only what is new.

Operators score the same groups again and again (a nightly rerun, a new rule, a wider date range) and
forwarded ads travel between groups: most texts of tomorrow's run were embedded today. A
:class:`VectorCache` is one SQLite file per *model key*, the hash of exactly what computes the
vectors (the ONNX file's bytes, or the weights plus dtype, device kind and truncation length), so a
rebuilt or swapped model never reads another model's vectors. Keys are the SHA-1 of the canonical
text; vectors are stored as float32, so a cached vector is the vector the model gave (results do not
change with the cache). The file is bounded: past ``max_entries`` the least recently used rows go.

SQLite (standard library) rather than a bespoke format: atomic commits, so a killed run leaves a
usable cache, and several processes (Ray workers, a server beside a batch job) can share one file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL, used INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vectors_used ON vectors(used);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds


def file_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the bytes of ``paths`` (sorted by name): the identity of a model on disk."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class VectorCache:
    """A bounded, persistent map from canonical text to its vector for one model key."""

    def __init__(self, directory: str | Path, model_key: str, dim: int, max_entries: int = 200_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.path = Path(directory).expanduser() / f"{model_key[:24]}.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        stored = self._db.execute("SELECT value FROM meta WHERE name = 'model_key'").fetchone()
        if stored is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('model_key', ?), ('dim', ?)", (model_key, str(dim)))
        elif stored[0] != model_key:  # a 24-character prefix collision: refuse rather than mix models
            raise ValueError(f"{self.path} belongs to another model ({stored[0]}, not {model_key})")
        self._clock = int(self._db.execute("SELECT COALESCE(MAX(used), 0) FROM vectors").fetchone()[0])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``texts``; marks them recently used."""
        if not texts:
            return {}
        by_key = {_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        keys = list(by_key)
        with self._lock:
            self._clock += 1
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[by_key[key]] = np.frombuffer(blob, dtype=np.float32).copy()
            if found:
                hits = [(self._clock, _key(t)) for t in found]
                self._db.execute("BEGIN")
                self._db.executemany("UPDATE vectors SET used = ? WHERE key = ?", hits)
                self._db.execute("COMMIT")
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store vectors (float32), then trim the least recently used rows beyond ``max_entries``."""
        rows = []
        with self._lock:
            self._clock += 1
            for text, vector in items:
                vector = np.asarray(vector, dtype=np.float32)
                if vector.shape != (self.dim,):
                    raise ValueError(f"vector for {text[:20]!r} has shape {vector.shape}, expected ({self.dim},)")
                rows.append((_key(text), vector.tobytes(), self._clock))
            if not rows:
                return
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            excess = int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]) - self.max_entries
            if excess > 0:
                self._db.execute(
                    "DELETE FROM vectors WHERE key IN (SELECT key FROM vectors ORDER BY used LIMIT ?)", (excess,)
                )
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
