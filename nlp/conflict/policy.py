"""The alert policy: when an escalation score becomes an alert, and what happens to an open one.

* open an alert when the score reaches ``open_at`` and the group has no open alert;
* while one is open, later messages update it (evidence, participants) but only a rise in
  severity is reported again (an *escalation*), so an operator gets one alert per dispute, not one
  per message (dedup);
* an alert closes after ``cooldown`` messages in a row below ``close_below``, or once ``close_after``
  seconds have passed since the group was last heated (score >= ``close_below``); a new one can
  then open. Counting messages alone kept a quiet group's morning rumour alert open into a quarrel
  an hour later, which then only "updated" the rumour alert and never reached the operator.
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
    close_after: float | None = 1800.0  # seconds since the last heated moment; None: messages only

    def expired(self, last_heated: float | None, now: float | None) -> bool:
        """Whether an open alert whose group was last heated at ``last_heated`` is over by ``now``
        (epoch seconds; unknown times never expire an alert)."""
        if self.close_after is None or last_heated is None or now is None:
            return False
        return now - last_heated > self.close_after

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
