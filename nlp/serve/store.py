"""The service's durable state in SQLite: moderator feedback, alerts, each group's monitor state,
and what the pipeline has learnt of each group.

SQLite because it is embedded (nothing to run beside the bot), transactional and survives a crash:
a write is committed before the request that made it is answered, so whatever a client saw
acknowledged is still there after a restart. One connection guarded by a lock (the service writes
little and from a thread pool).

Imports only the standard library.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, message_id TEXT NOT NULL, grp TEXT,
    group_topic TEXT, text TEXT NOT NULL, labels TEXT NOT NULL, moderator TEXT, note TEXT
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT NOT NULL, grp TEXT NOT NULL, created REAL NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_group ON alerts (grp, created);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, body TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, body BLOB NOT NULL, updated REAL NOT NULL);
"""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add_feedback(self, record: dict[str, Any]) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO feedback (created, message_id, grp, group_topic, text, labels, moderator, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    record["message_id"],
                    record.get("group"),
                    record.get("group_topic"),
                    record["text"],
                    json.dumps(record["labels"]),
                    record.get("moderator"),
                    record.get("note"),
                ),
            )
            return int(cur.lastrowid)

    def feedback(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created, message_id, grp, group_topic, text, labels, moderator, note FROM feedback ORDER BY id"
            ).fetchall()
        keys = ("id", "created", "message_id", "group", "group_topic", "text", "labels", "moderator", "note")
        return [dict(zip(keys, r, strict=True)) | {"labels": json.loads(r[6])} for r in rows]

    def add_alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO alerts (alert_id, grp, created, body) VALUES (?, ?, ?, ?)",
                (alert["alert_id"], alert["group"], time.time(), json.dumps(alert, ensure_ascii=False)),
            )

    def alerts(self, group: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM alerts WHERE grp = ? ORDER BY created DESC LIMIT ?", (group, limit)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_state(self, name: str, body: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO state (name, body, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                (name, json.dumps(body, ensure_ascii=False), time.time()),
            )

    def load_state(self, name: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT body FROM state WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_blob(self, name: str, body: bytes) -> None:
        """Binary state the service itself writes and reads back (the pipeline's learnt groups)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO blobs (name, body, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                (name, body, time.time()),
            )

    def load_blob(self, name: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM blobs WHERE name = ?", (name,)).fetchone()
        return bytes(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
