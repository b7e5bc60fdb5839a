"""Time topic clustering of one large group: ``TopicModel.fit`` on N messages of a single group.

    python scripts/bench_topics.py --messages 100000

The group is the seeded synthetic chat of scripts/bench.py (the team's chat texts with variations,
about a third repeats) put into one group, with timestamps. Reports wall time per stage and the
process's peak RSS. HDBSCAN runs on at most ``max_fit_messages`` (5,000) messages spread over the
group's time span; the rest are assigned to the topics found.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import synthetic_archive  # noqa: E402

from nlp.embed import Encoder  # noqa: E402
from nlp.topics import TopicModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    start = datetime(2026, 1, 1)
    messages = [
        dataclasses.replace(m, group="big", ts=start + timedelta(seconds=20 * i))
        for i, m in enumerate(synthetic_archive(args.messages, duplicates=1 / 3, seed=9))
    ]
    encoder = Encoder("m3e-small")
    started = time.perf_counter()
    model = TopicModel(encoder=encoder).fit(messages)
    seconds = time.perf_counter() - started
    state = model.groups_["big"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.messages} messages in one group: fit {seconds:.0f} s ({args.messages / seconds:.0f} msg/s), "
        f"{len(state.topics)} topics, {state.outlier_share:.0%} outliers, peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
