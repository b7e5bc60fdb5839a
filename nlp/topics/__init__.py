"""Topic stage: what each group discusses, how topics rise and fade, and what each member engages in.

May import :mod:`nlp.text`, :mod:`nlp.embed` and :mod:`nlp.io`; nothing imports it but the CLI and
the service.
"""

from nlp.topics.model import OUTLIER, Assignment, GroupTopics, Topic, TopicModel

__all__ = ["OUTLIER", "Assignment", "GroupTopics", "Topic", "TopicModel"]
