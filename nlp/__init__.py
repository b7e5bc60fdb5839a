"""qunshao (群哨): moderation and analysis of Chinese community group chats.

Sub-packages follow the data flow in docs/architecture.md: ``io`` -> ``text`` -> ``embed`` ->
(classify, topics, conflict) -> ``cli``. Lower layers never import higher ones.
"""

__version__ = "0.1.0"
