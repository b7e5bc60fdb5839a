"""Single process vs Ray (2 workers) on this machine: `qunshao score` both ways, wall time end to end.

    python scripts/bench_ray.py --messages 12000

The archive is the seeded synthetic chat of scripts/bench.py split into one shard per group (12).
Both runs are subprocesses timed end to end (start-up, model load and, for Ray, starting the local
cluster included), because that is what an operator waits for.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import synthetic_archive  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=12000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qunshao-ray-bench-"))
    shards = work / "in"
    shards.mkdir()
    handles = {}
    for m in synthetic_archive(args.messages, duplicates=1 / 3, seed=21):
        handle = handles.get(m.group) or handles.setdefault(
            m.group, (shards / f"{m.group}.jsonl").open("w", encoding="utf-8")
        )
        handle.write(json.dumps(m.to_record(), ensure_ascii=False, default=str) + "\n")
    for handle in handles.values():
        handle.close()
    files = sorted(str(p) for p in shards.iterdir())
    cli = [sys.executable, "-m", "nlp.cli", "score"]
    for name, model in (("encoder-free", ROOT / "models" / "encoder-free"), ("full", ROOT / "models" / "default")):
        runs = {
            "single process": [*cli, *files, "-o", str(work / f"{name}.jsonl"), "--model", str(model), "--no-progress"],
            "Ray, 2 workers": [
                *cli,
                str(shards),
                "-o",
                str(work / f"{name}-ray"),
                "--engine",
                "ray",
                "--workers",
                "2",
                "--model",
                str(model),
            ],
        }
        for label, command in runs.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            seconds = time.perf_counter() - started
            print(
                f"| {name} | {label} | {args.messages} | {seconds:.1f} s | {args.messages / seconds:,.0f} msg/s |",
                flush=True,
            )


if __name__ == "__main__":
    main()
