"""Benchmark the batch core against the obvious baseline, in one process, on synthetic archives.

    python scripts/bench.py --output docs/benchmarks-core.md
    python scripts/bench.py --write-archive /tmp/archive.jsonl --messages 1000000   # for the RSS run

Archives are synthetic and seeded, built from the team's own chat texts (data/sample_chat.jsonl and
data/labelled train/dev): *unique* (every message distinct) and *realistic* (about a third repeats:
acknowledgements, laughter, forwarded ads and earlier messages, drawn Zipf-like), with chat-like
lengths (most under 20 characters, a tail of long notices up to several hundred).

Three ways to score, side by side:
  (a) baseline: what a user would write: ``SentenceTransformer(path).encode(texts)`` (its defaults:
      batch 32, the model's 512-token limit, fp32 torch) feeding the same classifier heads, no dedup;
  (b) qunshao full mode: ``Pipeline.score_stream`` (dedup, int8 per-token ONNX, token-budget batches,
      next batch prepared in a worker thread);
  (c) qunshao encoder-free mode.
Single-message latency is ``Pipeline.score_one`` on distinct messages (cache cold for each).
(a) and (b) take turns over ``--paired-rounds`` rounds and their ratio is the median of the rounds'
own ratios: the VMs this runs on drift in speed by a quarter within minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_encoder import cpu_name  # noqa: E402  (scripts/, beside this one)

from nlp.io import Message  # noqa: E402

COMMON = ["收到", "+1", "好的", "哈哈哈", "谢谢", "好的谢谢", "👍", "早上好", "明白", "哈哈哈哈哈", "辛苦了", "在吗"]


def _pool() -> list[str]:
    texts = []
    for name in ("sample_chat.jsonl", "labelled/chat_train.jsonl", "labelled/chat_dev.jsonl"):
        for line in (ROOT / "data" / name).read_text("utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return list(dict.fromkeys(texts))


def _unique_text(rng: random.Random, pool: list[str], i: int) -> str:
    """A distinct chat-like message: mostly one pool text with a small variation, sometimes two
    joined, rarely a long notice of many."""
    roll = rng.random()
    if roll < 0.02:
        body = "。".join(rng.sample(pool, rng.randint(8, 25)))
    elif roll < 0.12:
        body = "，".join(rng.sample(pool, 2))
    else:
        body = rng.choice(pool)
    return f"{body}{rng.choice(['', '', '~', '!', '？', '哈'])}#{i}" if rng.random() < 0.5 else f"{i}楼 {body}"


def synthetic_archive(n: int, duplicates: float, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    pool = _pool()
    groups = [f"group-{g:02d}" for g in range(12)]
    messages: list[Message] = []
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < duplicates:
            text = rng.choice(COMMON) if rng.random() < 0.6 else texts[int(len(texts) * rng.random() ** 3)]
        else:
            text = _unique_text(rng, pool, i)
            texts.append(text)
        messages.append(Message(text=text, id=f"m{i:07d}", group=rng.choice(groups), user=f"u{rng.randint(0, 300)}"))
    return messages


class NaiveEncoder:
    """The baseline's encoder: plain ``SentenceTransformer(path).encode(texts)``."""

    model = "m3e-small"

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.st = SentenceTransformer(str(path), device=device)

    def tokenize(self, canonical, dedup=True):
        return list(canonical)

    def encode_tokenized(self, texts, batch_size=None, show_progress_bar=False):
        return self.st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    def encode(self, texts):
        return self.encode_tokenized(list(texts))


def _rate(fn, messages: list[Message], repeats: int = 1) -> float:
    """Messages/s of ``fn`` over an archive, with the collector set as ``qunshao score`` sets it
    (:mod:`nlp.gc_policy`), for every mode alike, the baseline included."""
    from nlp.gc_policy import batch_gc

    best = 0.0
    for _ in range(repeats):
        with batch_gc():
            started = time.perf_counter()
            fn(messages)
            best = max(best, len(messages) / (time.perf_counter() - started))
    return best


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, help="write a Markdown report here")
    parser.add_argument("--unique", type=int, default=2000, help="messages in the unique-only archive")
    parser.add_argument("--realistic", type=int, default=3000, help="messages in the realistic archive")
    parser.add_argument("--encoder-free-messages", type=int, default=30000)
    parser.add_argument(
        "--encoder-free-rounds", type=int, default=3, help="encoder-free rounds, each on a fresh archive (median kept)"
    )
    parser.add_argument(
        "--paired-rounds", type=int, default=3, help="rounds in which the baseline and full mode take turns"
    )
    parser.add_argument("--latency", type=int, default=300, help="single messages timed per round")
    parser.add_argument("--latency-rounds", type=int, default=3, help="rounds of --latency distinct messages")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N; all modes")
    parser.add_argument("--write-archive", type=Path, help="only write a realistic archive as JSONL and exit")
    parser.add_argument("--messages", type=int, default=1_000_000, help="size of --write-archive")
    args = parser.parse_args()

    if args.write_archive:
        with args.write_archive.open("w", encoding="utf-8") as handle:
            for m in synthetic_archive(args.messages, duplicates=1 / 3):
                handle.write(json.dumps(m.to_record(), ensure_ascii=False, default=str) + "\n")
        print(f"wrote {args.messages} messages to {args.write_archive}")
        return

    import joblib

    from nlp.classify.model_files import CLASSIFIER_FILE, DEFAULT_MODEL_DIR
    from nlp.embed import DEFAULT_MODEL, model_dir
    from nlp.embed.encoder import default_device
    from nlp.pipeline import Pipeline

    device = default_device() if args.device == "auto" else args.device

    unique = synthetic_archive(args.unique, duplicates=0.0, seed=1)
    realistic = synthetic_archive(args.realistic, duplicates=1 / 3, seed=2)
    lengths = np.array([len(m.text) for m in realistic])
    print(
        f"archives: unique {len(unique)}, realistic {len(realistic)} "
        f"({1 - len({m.text for m in realistic}) / len(realistic):.0%} repeats; chars p50 {np.median(lengths):.0f}, "
        f"p90 {np.percentile(lengths, 90):.0f}, max {lengths.max()})"
    )

    def stream(pipeline: Pipeline):
        def run(messages: list[Message]) -> None:
            batches = (messages[i : i + args.batch_size] for i in range(0, len(messages), args.batch_size))
            for _ in pipeline.score_stream(batches):
                pass

        return run

    rows: list[tuple[str, str, float, float]] = []
    # (a) the baseline: the same heads, fed by a plain SentenceTransformer, no dedup.
    baseline_clf = joblib.load(DEFAULT_MODEL_DIR / CLASSIFIER_FILE)
    baseline_clf.encoder = NaiveEncoder(model_dir(DEFAULT_MODEL), device)
    baseline = Pipeline(baseline_clf, dedup=False)
    results: dict[tuple[str, str], float] = {}

    def full_pipeline() -> Pipeline:
        # fresh: empty cache, no learnt groups; text stage as `qunshao score` runs it (auto: a thread
        # on a CPU, processes on a GPU host), processes started before the clock
        pipeline = Pipeline(DEFAULT_MODEL_DIR, device=device, text_workers="auto")
        pipeline.start_text_processes()
        return pipeline

    warm = full_pipeline()
    stream(warm)(unique[:200])  # warm-up: ONNX session and thread pool, or CUDA kernels
    warm.close()
    # The baseline and full mode take turns, round by round: this VM's speed drifts by ~25% within
    # minutes, and a ratio of two timings minutes apart measured the drift as much as the code.
    # Their rows are medians over rounds; full mode's ratio is the median of the rounds' ratios.
    paired: dict[tuple[str, str], list[float]] = {}
    rss_after_baseline = 0.0
    for r in range(args.paired_rounds):
        for archive_name, messages in (("unique", unique), ("realistic", realistic)):
            base = _rate(stream(baseline), messages)
            rss_after_baseline = rss_after_baseline or _peak_rss_mb()
            pipeline = full_pipeline()  # a cold cache: only repeats inside the archive help
            full = _rate(stream(pipeline), messages)
            pipeline.close()  # (its text processes, where a GPU host starts them)
            del pipeline
            gc.collect()  # the batch thresholds would keep whatever it left in cycles into the next round
            paired.setdefault(("baseline", archive_name), []).append(base)
            paired.setdefault(("full", archive_name), []).append(full)
            print(f"round {r + 1}: baseline {archive_name:9s} {base:6.0f} msg/s, full {full:6.0f} ({full / base:.1f}x)")
    full_ratio = {}
    for archive_name in ("unique", "realistic"):
        base, full = paired["baseline", archive_name], paired["full", archive_name]
        results["baseline", archive_name], results["full", archive_name] = (
            float(np.median(base)),
            float(np.median(full)),
        )
        full_ratio[archive_name] = float(np.median([f / b for f, b in zip(full, base, strict=True)]))
        print(
            f"baseline  {archive_name:9s} {results['baseline', archive_name]:8.0f} msg/s; full "
            f"{results['full', archive_name]:8.0f} msg/s, {full_ratio[archive_name]:.1f}x (medians)",
            flush=True,
        )

    # A rerun over the same archive with the on-disk vector cache (filled by a first run): a fresh
    # process's view, empty memory cache, every vector read from SQLite.
    with tempfile.TemporaryDirectory() as vectors:
        for archive_name, messages in (("unique", unique), ("realistic", realistic)):
            stream(Pipeline(DEFAULT_MODEL_DIR, device=device, vector_cache=vectors))(messages)
            rerun = Pipeline(DEFAULT_MODEL_DIR, device=device, vector_cache=vectors)
            results["full, rerun (disk cache)", archive_name] = _rate(stream(rerun), messages)
            print(f"full rerun {archive_name:9s} {results['full, rerun (disk cache)', archive_name]:8.0f} msg/s")

    # Encoder-free: a round takes seconds, and this VM's speed drifts by ~25% within minutes, so each
    # row is the median of rounds, every round on archives of its own (fresh messages: no text the
    # text processes have met, no group learnt before)
    big = [
        (
            synthetic_archive(args.encoder_free_messages, duplicates=0.0, seed=3 + 10 * r),
            synthetic_archive(args.encoder_free_messages, duplicates=1 / 3, seed=4 + 10 * r),
        )
        for r in range(args.encoder_free_rounds)
    ]
    encoder_free_rounds: dict[tuple[str, str], list[float]] = {}
    text_processes = Pipeline(DEFAULT_MODEL_DIR.parent / "encoder-free", encoder=None, text_workers="auto").text_workers
    for mode, workers in (("encoder-free", 0), (f"encoder-free, text in {text_processes} processes", text_processes)):
        encoder_free = Pipeline(DEFAULT_MODEL_DIR.parent / "encoder-free", encoder=None, text_workers=workers)
        encoder_free.start_text_processes()
        stream(encoder_free)(synthetic_archive(500, duplicates=0.0, seed=5))  # warm-up
        for big_unique, big_realistic in big:
            for archive_name, messages in (("unique", big_unique), ("realistic", big_realistic)):
                encoder_free.profiles.clear()  # no group learnt from the warm-up or another archive
                encoder_free_rounds.setdefault((mode, archive_name), []).append(_rate(stream(encoder_free), messages))
        for archive_name in ("unique", "realistic"):
            rates = encoder_free_rounds[mode, archive_name]
            results[mode, archive_name] = float(np.median(rates))
            print(
                f"{mode}  {archive_name:9s} {results[mode, archive_name]:8.0f} msg/s "
                f"(rounds: {', '.join(f'{r:.0f}' for r in rates)})",
                flush=True,
            )
        encoder_free.close()
    encoder_free_modes = ("encoder-free", f"encoder-free, text in {text_processes} processes")

    bot = full_pipeline()
    bot.classifier.encoder.cache_size = 0  # every message new to the model: the honest latency
    for m in unique[-20:]:
        bot.score_one(m)
    rounds = []  # this VM's speed drifts by ~25% over minutes: several short rounds show the spread
    for r in range(args.latency_rounds):
        latencies = []
        for m in unique[r * args.latency : (r + 1) * args.latency]:
            started = time.perf_counter()
            bot.score_one(m)
            latencies.append((time.perf_counter() - started) * 1000)
        rounds.append((float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99))))
        print(f"score_one full mode, round {r + 1}: p50 {rounds[-1][0]:.1f} ms, p99 {rounds[-1][1]:.1f} ms")

    for mode in ("baseline", "full", "full, rerun (disk cache)", *encoder_free_modes):
        for archive_name in ("unique", "realistic"):
            rate = results[mode, archive_name]
            ratio = full_ratio[archive_name] if mode == "full" else rate / results["baseline", archive_name]
            rows.append((mode, archive_name, rate, ratio))
    peak = _peak_rss_mb()
    print(f"peak RSS of this process {peak:.0f} MB (after the baseline: {rss_after_baseline:.0f} MB)")
    if args.output:
        _write(args, rows, rounds, peak, lengths, realistic, device, encoder_free_rounds, paired)


def _gpu_name(device: str) -> str:
    if not device.startswith("cuda"):
        return "no GPU used"
    import torch

    return f"GPU {torch.cuda.get_device_name(torch.device(device))} (fp16 torch; baseline fp32)"


def _write(args, rows, rounds, peak, lengths, realistic, device, encoder_free_rounds, paired) -> None:
    import onnxruntime
    import torch

    cpu = cpu_name()
    lines = [
        "# Batch-core benchmark",
        "",
        f"Command: `python {' '.join(sys.argv)}` (batch size {args.batch_size}).",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; {_gpu_name(device)}. Date: {time.strftime('%Y-%m-%d')}.",
        "",
        f"Archives (synthetic, seeded): unique {args.unique} messages; realistic {args.realistic} messages with "
        f"{1 - len({m.text for m in realistic}) / len(realistic):.0%} repeats; message length in characters p50 "
        f"{np.median(lengths):.0f}, p90 {np.percentile(lengths, 90):.0f}, max {lengths.max()}. Encoder-free mode "
        f"runs {args.encoder_free_messages} messages per archive (its rate is too high to time on a few thousand); "
        f"each of its rows is the median of {args.encoder_free_rounds} rounds, each on archives of its own. "
        f"The baseline and full mode take turns over {args.paired_rounds} rounds; their rows are medians, and "
        "full mode's × baseline is the median of the rounds' own ratios (other rows: over the baseline's median).",
        "",
        "| mode | archive | messages/s | × baseline |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {mode} | {archive} | {rate:,.0f} | {ratio:.1f}× |" for mode, archive, rate, ratio in rows]
    lines += [
        "",
        f"Single message in-process (`Pipeline.score_one`, full mode, cache off), {len(rounds)} rounds of "
        f"{args.latency} distinct messages: p50 {np.median([r[0] for r in rounds]):.1f} ms, p99 "
        f"{np.median([r[1] for r in rounds]):.1f} ms (medians over rounds; per round p50 "
        + ", ".join(f"{r[0]:.1f}" for r in rounds)
        + " ms, p99 "
        + ", ".join(f"{r[1]:.1f}" for r in rounds)
        + " ms).",
        "Baseline and full mode by round (messages/s): "
        + "; ".join(
            f"{mode}, {archive}: " + ", ".join(f"{r:,.0f}" for r in rates) for (mode, archive), rates in paired.items()
        )
        + ".",
        "Encoder-free rounds (messages/s): "
        + "; ".join(
            f"{mode}, {archive}: " + ", ".join(f"{r:,.0f}" for r in rates)
            for (mode, archive), rates in encoder_free_rounds.items()
        )
        + ".",
        f"Peak RSS of the benchmark process (all three modes loaded): {peak:.0f} MB.",
        "",
        "Baseline: `SentenceTransformer(path).encode(texts)` with its defaults (batch 32, 512-token limit, fp32)",
        "feeding the same classifier heads, no de-duplication. *Rerun (disk cache)*: the same archive scored "
        "again by a fresh pipeline with `vector_cache` (`qunshao score --vector-cache`) filled by a first run. "
        "qunshao full mode: de-duplication, "
        + ("torch fp16 on CUDA" if device.startswith("cuda") else "int8 ONNX with per-token activation scales")
        + ", token-budget batches, 128-token truncation, the next batch prepared in a worker thread"
        + (" (text stage in worker processes)" if device.startswith("cuda") else "")
        + ". Encoder-free *text in N processes*: `text_workers` (`qunshao score --text-workers auto` without an "
        "encoder): normalisation, n-grams and signals of the next batches in N processes while this one "
        "scores; the plain row runs them in a thread, which the GIL serialises with scoring. Every archive row, "
        "the baseline's too, runs with the garbage collector set as `qunshao score` sets it "
        "(`nlp.gc_policy.batch_gc`, thresholds 50,000/20/20); `score_one` runs with the default, as a bot does.",
    ]
    args.output.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
