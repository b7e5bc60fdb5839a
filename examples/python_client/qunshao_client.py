"""A minimal client for the qunshao service, standard library only (copy it into your bot).

client = QunshaoClient("http://127.0.0.1:8000", token="...")
verdict = client.moderate([{"text": "加微信 abc_123 领资料", "group": "g1", "user": "u1"}])[0]
if verdict["suggestion"] == "block": ...
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class QunshaoError(RuntimeError):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class QunshaoClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except Exception:  # not JSON: keep the status line
                detail = exc.reason
            raise QunshaoError(exc.code, detail) from None

    def moderate(self, messages: list[dict]) -> list[dict]:
        """Verdicts (``labels``, ``scores``, ``suggestion``, ``reasons``), one per message, in order."""
        return self._call("POST", "/v1/moderate", {"messages": messages})["results"]

    def group_messages(self, group: str, messages: list[dict]) -> dict:
        """Live stream: verdicts plus any new conflict alert and each message's topic."""
        return self._call("POST", f"/v1/groups/{group}/messages", {"messages": messages})

    def alerts(self, group: str) -> list[dict]:
        return self._call("GET", f"/v1/groups/{group}/alerts")["alerts"]

    def feedback(self, message_id: str, text: str, labels: list[str], **extra) -> int:
        body = {"message_id": message_id, "text": text, "labels": labels} | extra
        return self._call("POST", "/v1/feedback", body)["feedback_id"]

    def health(self) -> dict:
        return self._call("GET", "/healthz")
