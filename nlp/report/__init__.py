"""Report stage: an operator's picture of each group as one self-contained HTML file.

May import :mod:`nlp.io`; the CLI hands it verdicts, topics and alerts computed by the other stages.
"""

from nlp.report.html import render_report
from nlp.report.metrics import GroupHealth, group_health

__all__ = ["GroupHealth", "group_health", "render_report"]
