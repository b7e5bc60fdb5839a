"""Classification stage: ad / negativity / off-topic heads, group profiles, reasons, model files.

May import :mod:`nlp.text`, :mod:`nlp.embed` and :mod:`nlp.io` (for the Message record).
"""

from nlp.classify.classifier import LABELS, UNKNOWN, MessageClassifier
from nlp.classify.profile import GroupProfile, load_group_profiles

__all__ = ["LABELS", "UNKNOWN", "GroupProfile", "MessageClassifier", "load_group_profiles"]
