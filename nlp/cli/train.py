"""``qunshao train`` and ``qunshao eval``: build a model directory, measure one on labelled data."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nlp.classify.classifier import LABELS, TrainingDataError
from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import err
from nlp.io import RecordError


def train_command(
    data: Annotated[
        list[Path] | None,
        typer.Argument(help="Labelled JSONL/CSV: text + a `labels` list or one 0/1 column per label."),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Model directory to write.")] = DEFAULT_MODEL_DIR,
    dev: Annotated[
        list[Path] | None, typer.Option(help="Labelled dev files for calibration checks and thresholds.")
    ] = None,
    public_data: Annotated[
        Path | None, typer.Option(help="../shared/data/train: adds COLD, SWSR and LCCC to training.")
    ] = None,
    chat_data: Annotated[
        bool,
        typer.Option(help="Include the team's group-chat data (data/labelled, its training and dev conversations)."),
    ] = True,
    encoder: Annotated[
        str, typer.Option(help="Encoder name/path, or 'none' for the encoder-free model.")
    ] = "m3e-small",
    chat_weight: Annotated[float, typer.Option(help="Weight of all chat rows relative to all public rows.")] = 2.0,
    feedback: Annotated[
        Path | None, typer.Option(help="The service's SQLite file: moderators' verdicts become training rows.")
    ] = None,
    versioned: Annotated[
        bool, typer.Option(help="Treat --output as a versioned store: write the next vNNNN and switch to it.")
    ] = False,
    labels: Annotated[
        str,
        typer.Option(help="Heads to train, comma-separated (e.g. 'negativity' when the data labels only that)."),
    ] = ",".join(LABELS),
) -> None:
    """Train ad / negativity / offtopic heads and write a model directory with its manifest."""
    from nlp.classify.model_files import next_version, save_classifier, use_version
    from nlp.train.datasets import LabelledDataError
    from nlp.train.recipe import CHAT_DEV, CHAT_TRAIN, CONVERSATIONS_TRAIN, TIMELINES_DEV, Recipe, train

    heads = _heads(labels)
    extra = []
    if feedback is not None:
        extra.append(_feedback_file(feedback))
    train_files = ([CHAT_TRAIN] if chat_data else []) + list(data or []) + extra
    dev_files = ([CHAT_DEV] if chat_data else []) + list(dev or [])
    if not train_files:
        err.print("[red]没有训练数据[/red] (no training data: give files or keep --chat-data)")
        raise typer.Exit(2)
    if not dev_files:
        err.print("[red]需要 --dev 数据来选择阈值[/red] (thresholds are chosen on dev data)")
        raise typer.Exit(2)
    recipe = Recipe(
        train_files=train_files,
        dev_files=dev_files,
        public_data=public_data,
        encoder=None if encoder == "none" else encoder,
        chat_weight=chat_weight,
        train_conversations=[CONVERSATIONS_TRAIN] if chat_data else [],
        dev_timelines=[TIMELINES_DEV] if chat_data else [],
        labels=heads,
    )
    try:
        clf, report = train(recipe, say=lambda line: err.print(line, highlight=False))
    except (RecordError, LabelledDataError) as exc:
        err.print(f"[red]标注数据有误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except TrainingDataError as exc:
        hint = (
            ""
            if len(heads) == 1
            else " (only some labels in your data? train those heads alone, e.g. --labels negativity)"
        )
        err.print(f"[red]标注数据有误[/red] {exc}{hint}", highlight=False)
        raise typer.Exit(1) from None
    if feedback is not None:
        report["feedback"] = {"db": str(feedback), "rows": sum(1 for _ in extra[0].open("r", encoding="utf-8"))}
    target = next_version(output) if versioned else output
    save_classifier(clf, target, report)
    if extra:  # keep the feedback rows with the model they trained
        shutil.copy(extra[0], target / "feedback-rows.jsonl")
    if versioned:
        use_version(output, target.name)
    err.print(f"model written to {target}; thresholds {clf.thresholds_}", highlight=False)
    _print_metrics(report["dev_metrics"]["all"], "dev")


def eval_command(
    data: Annotated[list[Path], typer.Argument(help="Labelled JSONL/CSV files.")],
    model: Annotated[Path, typer.Option(help="Model directory.")] = DEFAULT_MODEL_DIR,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the metrics here.")] = None,
) -> None:
    """Per-label precision, recall, F1, PR-AUC and a confusion summary on labelled data."""
    from nlp.classify.model_files import load_classifier
    from nlp.train.datasets import LabelledDataError, LabelledSet, load_labelled
    from nlp.train.recipe import label_metrics

    clf = load_classifier(model)
    labelled = LabelledSet()
    try:
        for path in data:
            labelled = labelled + load_labelled(path)
    except (RecordError, LabelledDataError) as exc:
        err.print(f"[red]标注数据有误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    labelled = labelled.only(clf.labels)  # a model of some labels is measured on those
    proba = clf.predict_proba(labelled.messages)
    metrics = label_metrics(labelled.y, proba, clf.decide_matrix(proba), clf.labels)
    _print_metrics(metrics, ", ".join(p.name for p in data))
    if json_out:
        json_out.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), "utf-8")


def _heads(labels: str) -> tuple[str, ...]:
    """``--labels``: known names, each once, in the model's usual order."""
    given = [label.strip() for label in labels.replace("，", ",").split(",") if label.strip()]
    unknown = sorted(set(given) - set(LABELS))
    if unknown or not given:
        raise typer.BadParameter(f"choose from {', '.join(LABELS)} (got {labels!r})", param_hint="--labels")
    return tuple(label for label in LABELS if label in given)


def _print_metrics(metrics: dict, title: str) -> None:
    table = Table(title=f"metrics on {title}")
    columns = ["n", "positives", "precision", "recall", "f1", "pr_auc", "ece", "tp", "fp", "fn", "tn"]
    table.add_column("label")
    for column in columns:
        table.add_column(column, justify="right")
    for label, row in metrics.items():
        table.add_row(label, *(str(row.get(c, "")) for c in columns))
    Console().print(table)


def _feedback_file(db: Path) -> Path:
    """Moderator feedback from the service's store as a labelled JSONL (copied next to the model
    afterwards, so the manifest's data summary can be traced to the rows)."""
    from nlp.serve.store import Store

    if not db.exists():
        raise typer.BadParameter(f"{db} does not exist", param_hint="--feedback")
    rows = Store(db).feedback()
    path = Path(tempfile.mkdtemp(prefix="qunshao-feedback-")) / "feedback-rows.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            record = {"text": row["text"], "labels": row["labels"], "id": f"feedback-{row['id']}"}
            if row.get("group_topic"):
                record["group_topic"] = row["group_topic"]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    err.print(f"{len(rows)} moderator feedback rows from {db}", highlight=False)
    return path
