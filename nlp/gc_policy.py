"""CPython's cyclic garbage collector, set for a process that scores archives batch after batch.

Scoring allocates a few container objects per message (verdict records, reason lists, signal
tuples, analysis records) that die with their batch, beside long-lived ones the process keeps (the
text stage's caches, the reason-term cache, group memories, the model's Python objects). With the
default thresholds (700, 10, 10) a young collection runs every 700 new containers and a middle one
every 7,000, each walking objects that outlive the run: ~10% of encoder-free scoring time on the
2-core VM (docs/benchmarks-core.md, 2026-11-23). Collecting 70x less often still collects every
reference cycle, in larger and far fewer passes, and memory stays bounded (the 1,000,000-message
run in docs/benchmarks-scale.md).

Only processes qunshao runs for batch work use it: ``qunshao score``, the text-stage processes,
Ray actors and the benchmark. A library must not change a host application's collector, and a bot
answering one message at a time wants the default's short pauses.

Imports only the standard library.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLDS = (50_000, 20, 20)


def use_batch_thresholds() -> None:
    """For a process that does nothing but batch work (a text-stage process, a Ray actor)."""
    gc.set_threshold(*BATCH_THRESHOLDS)


@contextmanager
def batch_gc() -> Iterator[None]:
    """Batch thresholds for the duration of a scoring job, then the previous ones again."""
    previous = gc.get_threshold()
    use_batch_thresholds()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
