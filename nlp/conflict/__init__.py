"""Conflict stage: early warning for disputes, rumours and pile-ons in a group chat.

May import :mod:`nlp.io`; it reads the classifier's verdicts (scores) but not the classifier.
"""

from nlp.conflict.monitor import Alert, ConflictMonitor
from nlp.conflict.policy import AlertPolicy
from nlp.conflict.scorer import EscalationScorer

__all__ = ["Alert", "AlertPolicy", "ConflictMonitor", "EscalationScorer"]
