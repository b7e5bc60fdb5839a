"""``qunshao score``: every message of an archive in, one scored row per message out.

Rows keep the input fields and add ``labels``, ``scores``, ``suggestion`` and ``reasons``
(../shared/DESIGN.md). The archive streams through in batches (memory stays flat whatever its size),
the next batch is prepared in a worker thread while the model runs, a progress bar shows messages/s
and ETA on a terminal (quiet when piped), and a file output is checkpointed (every couple of seconds,
after an fsync) so ``--resume`` continues a killed run without losing or repeating a message in the
output (:mod:`nlp.io.checkpoint`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import EXPLAIN_HELP, SkippedRecords, err, explain_rule, read_groups, rows_table
from nlp.gc_policy import batch_gc
from nlp.io import Message, RecordError, open_writer, read_messages
from nlp.io.checkpoint import Checkpoint, load_checkpoint, remove_checkpoint, save_checkpoint, truncate_to

# A checkpoint holds every group's learnt centroid (MBs for many groups in encoder-free mode), so it
# is written at most this often by default (--checkpoint-seconds): a killed run redoes at most these
# seconds of scoring, and what was written after the checkpoint is cut off on --resume, so the
# output still has every message once.
CHECKPOINT_SECONDS = 2.0


def _text_workers(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit():
        raise typer.BadParameter(f"{value!r}: a number of processes or auto", param_hint="--text-workers")
    return int(value)


def score_command(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL or CSV archives ('-' for JSONL on stdin).")],
    output: Annotated[str, typer.Option("-o", "--output", help="Scored rows (.jsonl/.csv, '-' for stdout).")],
    model: Annotated[Path, typer.Option(help="Model directory.")] = DEFAULT_MODEL_DIR,
    groups: Annotated[Path | None, typer.Option(help="Group purposes: YAML/JSON {group: {topic, examples}}.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Messages read, scored and checkpointed together.")] = 1024,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda or cuda:N.")] = "auto",
    backend: Annotated[str, typer.Option(help="auto, onnx (int8, CPU) or torch (sentence-transformers).")] = "auto",
    vector_cache: Annotated[
        str | None,
        typer.Option(
            help="Keep sentence vectors on disk across runs (bounded, keyed by the model's hash): a directory, "
            "or 'auto' for $QUNSHAO_HOME/vectors. Reruns over the same archives embed only new texts."
        ),
    ] = None,
    text_workers: Annotated[
        str,
        typer.Option(
            help="Processes for the text stage (normalise, n-grams, signals): a number, 0 for a thread of this "
            "process, or auto (one per core when encoder-free or on a GPU, where text work bounds the run)."
        ),
    ] = "auto",
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run into the same output file.")] = False,
    checkpoint_seconds: Annotated[
        float,
        typer.Option(
            min=0,
            help="Checkpoint a file output at most this often (0: after every batch). A killed run redoes at most "
            "this much scoring on --resume; each checkpoint copies every group's learnt state.",
        ),
    ] = CHECKPOINT_SECONDS,
    progress: Annotated[bool | None, typer.Option(help="Progress bar (default: only on a terminal).")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
    show: Annotated[int, typer.Option(help="Print this many flagged messages as a table on stderr.")] = 0,
    explain: Annotated[str, typer.Option(help=EXPLAIN_HELP)] = "auto",
    engine: Annotated[str, typer.Option(help="local, or ray: INPUT is a directory of shards, OUTPUT a directory.")] = (
        "local"
    ),
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or ray://host:10001 (default: local).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Ray actors (each loads the model once).")] = 2,
    output_format: Annotated[str, typer.Option(help="Ray engine shards: jsonl or parquet.")] = "jsonl",
) -> None:
    """Label every message as ad / negativity / offtopic, with scores, a suggestion and reasons."""
    from nlp.pipeline import Pipeline

    explain = explain_rule(explain)
    if engine == "ray":
        _score_on_ray(inputs, output, model, workers, address, output_format, device, explain)
        return
    if engine != "local":
        raise typer.BadParameter(f"{engine!r}: choose local or ray", param_hint="--engine")

    names = [str(p) for p in inputs]
    to_file = output != "-"
    checkpoint = Checkpoint(names)
    if resume:
        if not to_file:
            raise typer.BadParameter("--resume needs an output file, not stdout", param_hint="--output")
        found = load_checkpoint(output)
        if found is None:
            if Path(output).exists():
                err.print(f"{output} 已完成，无需继续 (no checkpoint: the run finished)", highlight=False)
                return
        elif not Path(output).exists():
            remove_checkpoint(output)  # the output was deleted: start again
        elif found.inputs != names:
            raise typer.BadParameter(f"{output} was scored from {found.inputs}, not {names}", param_hint="INPUTS")
        else:
            checkpoint = found
            truncate_to(output, checkpoint.offset)
            err.print(f"继续: 已有 {checkpoint.written} 条，从第 {checkpoint.consumed + 1} 条记录开始", highlight=False)

    profiles = read_groups(groups)
    pipeline = Pipeline(
        model,
        profiles=profiles,
        device=device,
        backend=backend,
        vector_cache=vector_cache,
        text_workers=_text_workers(text_workers),
        explain=explain,
    )
    if checkpoint.state is not None:
        try:
            pipeline.restore(checkpoint.state)
        except ValueError as exc:  # a model on another encoder: its groups' centroids cannot carry over
            raise typer.BadParameter(
                f"{exc}; resume with the model the run started with, or start again without --resume",
                param_hint="--model",
            ) from None
    report = SkippedRecords()
    counts = {"messages": 0, "block": 0, "review": 0, "pass": 0}
    flagged: list[tuple[str, str, str, str, str]] = []
    stream = _records(inputs, strict, report)
    batches = _batches(islice(stream, checkpoint.consumed, None), batch_size)
    bar = _progress_bar(progress, inputs, checkpoint.consumed)
    try:
        with open_writer(output, append=checkpoint.consumed > 0) as writer, bar, batch_gc():
            if to_file:
                save_checkpoint(output, checkpoint)  # a kill before the first batch resumes from the start
            last_saved = time.monotonic()
            for batch, verdicts in pipeline.score_stream(batches):
                for message, verdict in zip(batch, verdicts, strict=True):
                    writer.write(message.to_record() | verdict.to_dict())
                    counts["messages"] += 1
                    counts[verdict.suggestion] += 1
                    if verdict.labels and len(flagged) < show:
                        flagged.append(_flagged_row(message.id, message.text, verdict))
                checkpoint.consumed += len(batch)
                checkpoint.written += len(batch)
                if to_file and time.monotonic() - last_saved >= checkpoint_seconds:
                    checkpoint.offset = writer.sync()
                    checkpoint.state = pipeline.state()
                    save_checkpoint(output, checkpoint)
                    last_saved = time.monotonic()
                bar.advance(len(batch))
    except RecordError as exc:
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        pipeline.close()
    if to_file:
        remove_checkpoint(output)
    if flagged:
        columns = ("id", "suggestion", "labels", "text", "reasons")
        err.print(rows_table("需要处理的消息 (flagged messages)", columns, flagged))
    err.print(
        f"scored {counts['messages']} messages: {counts['block']} block, {counts['review']} review"
        + (f"; {report.summary()}" if report.errors else ""),
        highlight=False,
    )


def _records(inputs: list[Path], strict: bool, report: SkippedRecords) -> Iterator[Message]:
    for path in inputs:
        yield from read_messages(path, strict=strict, on_error=report)


def _batches(stream: Iterator[Message], size: int) -> Iterator[list[Message]]:
    while batch := list(islice(stream, size)):
        yield batch


def _count_hint(inputs: list[Path]) -> int | None:
    """Total records for the ETA, counted as lines (cheap next to scoring; skipped for stdin)."""
    if any(str(p) == "-" for p in inputs):
        return None
    total = 0
    for path in inputs:
        with open(path, "rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda h=handle: h.read(1 << 20), b""))
        if path.suffix.lower() == ".csv":
            total -= 1  # header
    return total


class _Bar:
    """A rich progress bar with messages/s and ETA, or nothing (piped output, --no-progress)."""

    def __init__(self, enabled: bool, total: int | None, done: int) -> None:
        self.progress = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} msg/s"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.task = self.progress.add_task("score", total=total, completed=done, rate="-")
        self.done = done

    def __enter__(self) -> _Bar:
        self.started = time.perf_counter()
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def advance(self, n: int) -> None:
        if self.progress is None:
            return
        self.progress.advance(self.task, n)
        elapsed = time.perf_counter() - self.started
        rate = (self.progress.tasks[0].completed - self.done) / elapsed if elapsed > 0 else 0.0
        self.progress.update(self.task, rate=f"{rate:,.0f}")


def _progress_bar(progress: bool | None, inputs: list[Path], done: int) -> _Bar:
    """A bar only on a terminal (or when asked); the inputs are counted for the ETA only then."""
    if progress is None:
        progress = err.is_terminal and not os.environ.get("CI") and sys.stderr.isatty()
    return _Bar(progress, _count_hint(inputs) if progress else None, done)


def _flagged_row(message_id: str, text: str, verdict) -> tuple[str, str, str, str, str]:
    labels = ", ".join(f"{label} {verdict.scores[label]:.2f}" for label in verdict.labels)
    return (message_id, verdict.suggestion, labels, text[:40], "；".join(verdict.reasons))


def _score_on_ray(
    inputs: list[Path],
    output: str,
    model: Path,
    workers: int,
    address: str | None,
    output_format: str,
    device: str,
    explain: str,
) -> None:
    from nlp.distributed import score_with_ray

    if len(inputs) != 1 or not inputs[0].is_dir():
        raise typer.BadParameter("with --engine ray, give one input directory of shards", param_hint="INPUTS")
    try:
        results = score_with_ray(inputs[0], output, model, workers, address, output_format, device, explain=explain)
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    rows = sum(r.rows for r in results)
    skipped = sum(r.skipped for r in results)
    err.print(
        f"scored {rows} messages in {len(results)} shards on Ray ({workers} workers) into {output}"
        + (f"; {skipped} bad records skipped" if skipped else ""),
        highlight=False,
    )
