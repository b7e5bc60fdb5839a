"""The alert policy: when an escalation score becomes an alert, and what happens to an open one.

* open an alert when the score reaches ``open_at`` and the group has no open alert;
* while one is open, later messages update it (evidence, participants) but only a rise in
  severity is reported again (an *escalation*), so an operator gets one alert per dispute, not one
  per message (dedup);
* an alert closes after ``cooldown`` messages in a row below ``close_below``; a new one can then open.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("low", "medium", "high")


@dataclass
class AlertPolicy:
    open_at: float = 0.5
    medium_at: float = 0.75
    high_at: float = 0.9
    close_below: float = 0.3
    cooldown: int = 15

    def severity(self, score: float) -> str:
        if score >= self.high_at:
            return "high"
        if score >= self.medium_at:
            return "medium"
        return "low"

    def decide(self, score: float, open_severity: str | None, quiet_run: int) -> tuple[str, str | None]:
        """``(action, severity)``: action is ``open``, ``escalate``, ``update``, ``close`` or ``none``."""
        if open_severity is None:
            return ("open", self.severity(score)) if score >= self.open_at else ("none", None)
        if score >= self.open_at and SEVERITIES.index(self.severity(score)) > SEVERITIES.index(open_severity):
            return "escalate", self.severity(score)
        if score < self.close_below and quiet_run + 1 >= self.cooldown:
            return "close", None
        return "update", open_severity
