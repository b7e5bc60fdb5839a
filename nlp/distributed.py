"""Score archives beyond one machine on Ray (``pip install qunshao[ray]``; imported only when used).

The unit of work is an input *shard* (one JSONL/CSV/Parquet/chat-export file of the input directory):
a Ray Data pipeline maps the shard list through an actor pool (``workers`` actors, each loading the
:class:`~nlp.pipeline.Pipeline` once, ``num_gpus`` each when GPUs exist). An actor reads its shard
with the same readers as ``qunshao score``, scores it with the same streaming core and writes the
scored shard under the same name (``.jsonl`` or ``.parquet``) atomically: a temporary file renamed
into place. So a shard's output is byte-for-byte what ``qunshao score SHARD`` writes, and a task
retried after an actor died rewrites its shard whole: no row is lost or written twice.

Group context (the off-topic centroid) flows within a shard, not across shards: shard archives by
group (or by group and time) and the result equals one single-process run over all of them, except
for one thing that crosses groups: a member's copies of one text in several groups
(:mod:`nlp.classify.broadcast`) are counted only among the groups of one shard.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".txt", ".parquet")


@dataclass(frozen=True)
class ShardResult:
    input: str
    output: str
    rows: int
    skipped: int


def list_shards(input_dir: str | Path) -> list[Path]:
    directory = Path(input_dir)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory of input shards")
    shards = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
    if not shards:
        raise FileNotFoundError(f"{directory} has no .jsonl/.csv/.parquet/.txt/.json shards")
    return shards


def score_shard(pipeline, source: Path, target: Path, batch_size: int = 1024) -> ShardResult:
    """Score one shard into ``target`` exactly as ``qunshao score`` would, via a temporary file."""
    from itertools import islice

    from nlp.io import open_writer, read_messages
    from nlp.io.schema import Message

    errors: list = []
    if source.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        records = pq.read_table(source).to_pylist()
        stream = iter(
            Message.from_record({k: v for k, v in r.items() if v is not None}, i + 1) for i, r in enumerate(records)
        )
    else:
        stream = read_messages(source, on_error=errors.append)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix}")
    rows = 0
    with open_writer(tmp) as writer:
        batches = iter(lambda: list(islice(stream, batch_size)), [])
        for batch, verdicts in pipeline.score_stream(batches):
            for message, verdict in zip(batch, verdicts, strict=True):
                writer.write(message.to_record() | verdict.to_dict())
                rows += 1
    os.replace(tmp, target)
    return ShardResult(str(source), str(target), rows, len(errors))


class _ShardScorer:
    """The Ray actor: loads the pipeline once, then scores whole shards."""

    def __init__(
        self,
        model: str,
        output_dir: str,
        output_format: str,
        device: str,
        fail_once_dir: str | None,
        explain: str = "auto",
    ):
        from nlp.gc_policy import use_batch_thresholds
        from nlp.pipeline import Pipeline

        use_batch_thresholds()  # an actor's process only scores shards
        self.pipeline_args = (model, device)
        self.explain = explain
        self.pipeline = Pipeline(model, device=device, explain=explain)
        self.output_dir = Path(output_dir)
        self.output_format = output_format
        self.fail_once_dir = fail_once_dir

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from nlp.pipeline import Pipeline

        out: dict[str, list] = {"input": [], "output": [], "rows": [], "skipped": []}
        for path in batch["path"]:
            source = Path(str(path))
            if self.fail_once_dir:  # test hook: the actor process dies the first time it meets a shard
                marker = Path(self.fail_once_dir) / f"{source.name}.failed"
                if not marker.exists():
                    marker.touch()
                    os._exit(1)
            target = self.output_dir / f"{source.stem}.{self.output_format}"
            # a fresh pipeline per shard: group state must not leak from one shard into the next
            self.pipeline = Pipeline(self.pipeline.classifier, device=self.pipeline_args[1], explain=self.explain)
            result = score_shard(self.pipeline, source, target)
            for key in out:
                out[key].append(getattr(result, key))
        return out


def score_with_ray(
    input_dir: str | Path,
    output_dir: str | Path,
    model: str | Path,
    workers: int = 2,
    address: str | None = None,
    output_format: str = "jsonl",
    device: str = "auto",
    fail_once_dir: str | None = None,
    explain: str = "auto",
) -> list[ShardResult]:
    """Score every shard of ``input_dir`` into ``output_dir`` on a Ray cluster (local without
    ``address``); ``explain`` as :class:`~nlp.pipeline.Pipeline` takes it."""
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("the Ray engine needs the optional extra: pip install 'qunshao[ray]'") from None
    if output_format not in ("jsonl", "parquet"):
        raise ValueError(f"output format {output_format!r}: choose jsonl or parquet")
    shards = list_shards(input_dir)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            num_cpus=None if address else max(workers, 1),
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= workers else 0
        dataset = ray.data.from_items([{"path": str(p)} for p in shards], override_num_blocks=len(shards))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_restarts/max_task_retries go through ray_remote_args
            scored = dataset.map_batches(
                _ShardScorer,
                fn_constructor_args=(str(model), str(output_dir), output_format, device, fail_once_dir, explain),
                batch_size=1,
                concurrency=workers,
                num_gpus=gpus,
                num_cpus=1 if not gpus else 0,
                max_restarts=3,  # an actor that dies is restarted ...
                max_task_retries=3,  # ... and its shard retried; the shard's output is rewritten whole
            )
        rows = scored.take_all()
    finally:
        if started_here:
            ray.shutdown()
    return [ShardResult(r["input"], r["output"], int(r["rows"]), int(r["skipped"])) for r in rows]
