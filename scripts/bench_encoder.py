"""Benchmark the default encoder's backends on this machine and write docs/benchmarks.md.

Measures, for the ONNX int8 (CPU default) and torch/sentence-transformers (reference) backends:
load time, single-message latency (p50/p99, one message per call, as a bot calls it), batch
throughput over the sample archive's distinct messages, and agreement with the reference (cosine).

    python scripts/bench_encoder.py --output docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from nlp.embed import Encoder
from nlp.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_backend(backend: str, texts: list[str], rounds: int) -> tuple[dict[str, float], np.ndarray]:
    start = time.perf_counter()
    encoder = Encoder(backend=backend, device="cpu", cache_size=0)  # time the model, not the cache
    load_s = time.perf_counter() - start
    encoder.encode(texts[:16])  # warm-up
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        encoder.encode([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    rates = []
    vectors = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        vectors = encoder.encode(texts, batch_size=32)
        rates.append(len(texts) / (time.perf_counter() - t0))
    assert vectors is not None
    return {
        "load_s": load_s,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "msgs_per_s": statistics.median(rates),
    }, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(ROOT / "data" / "sample_chat.jsonl"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", help="write the markdown report here (default: stdout only)")
    args = parser.parse_args()

    texts = list(dict.fromkeys(m.text for m in read_jsonl(args.input)))
    results = {}
    vectors = {}
    for backend in ("onnx", "torch"):
        results[backend], vectors[backend] = bench_backend(backend, texts, args.rounds)
    cosine = (vectors["onnx"] * vectors["torch"]).sum(axis=1)

    lines = [
        "# Benchmarks",
        "",
        "## Encoder backends (default model m3e-small)",
        "",
        f"Command: `python scripts/bench_encoder.py --output docs/benchmarks.md` ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores visible, Python {platform.python_version()}, "
        f"torch {version('torch')}, onnxruntime {version('onnxruntime')}, "
        f"sentence-transformers {version('sentence-transformers')}; no GPU.",
        "",
        f"Input: the {len(texts)} distinct messages of `data/sample_chat.jsonl` (chat-length, median "
        f"{int(np.median([len(t) for t in texts]))} characters). Latency: one message per `encode` call, "
        f"as a bot calls it. Throughput: all messages in one call, batch size 32, median of {args.rounds} rounds.",
        "",
        "| backend | load (s) | single message p50 (ms) | p99 (ms) | batch throughput (msg/s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for backend, r in results.items():
        lines.append(
            f"| {backend} | {r['load_s']:.2f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['msgs_per_s']:.0f} |"
        )
    lines += [
        "",
        f"Agreement, ONNX int8 vs torch fp32, cosine per message: min {cosine.min():.4f}, "
        f"mean {cosine.mean():.4f} (bar: >= 0.99 on every message).",
        "",
        "The int8 model quantises activations per token (one scale per token row), so a message's vector "
        "does not depend on its batch-mates (max difference ~1e-7 between batch sizes, tested in "
        "`tests/test_encoder.py`). ONNX Runtime's stock per-tensor dynamic quantisation was ~20% faster than "
        "the first per-token graph but moved vectors with their batch (cosine 0.99 between batch sizes) and "
        "agreed less with fp32 (min cosine 0.993 vs 0.997); the second per-token graph (fused integer "
        "matmuls and attention, `nlp/embed/onnx_rewrite.py`) won back about as much. Batch-core numbers "
        "(dedup, token budget, baseline ratios): docs/benchmarks-core.md, on an H100: "
        "docs/benchmarks-core-gpu.md; topic clustering and 1M-message scoring at scale: docs/benchmarks-scale.md.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        Path(args.output).write_text(report, "utf-8")
        print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
