"""``qunshao report``: score an archive, find its topics and conflicts, write one HTML report."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated

import typer

from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import (
    EXPLAIN_HELP,
    SkippedRecords,
    by_group_and_time,
    err,
    explain_rule,
    read_archives,
    read_groups,
)


def report_command(
    inputs: Annotated[list[Path], typer.Argument(help="Archives: QQ .txt, WeChat .csv, Telegram .json, CSV, JSONL.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML report to write.")],
    model: Annotated[Path, typer.Option(help="Classifier model directory.")] = DEFAULT_MODEL_DIR,
    groups: Annotated[Path | None, typer.Option(help="Group purposes: YAML/JSON {group: {topic, examples}}.")] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "群健康报告",
    explain: Annotated[str, typer.Option(help=EXPLAIN_HELP)] = "auto",
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of skipping it.")] = False,
) -> None:
    """Per group: activity, health metrics, label rates, topics over time, conflict alerts, a summary."""
    from rich.progress import Progress

    from nlp.conflict import ConflictMonitor
    from nlp.embed import Encoder
    from nlp.pipeline import Pipeline
    from nlp.report import group_health, render_report
    from nlp.topics import TopicModel

    profiles = read_groups(groups)
    explain = explain_rule(explain)
    report = SkippedRecords()
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("读取 (reading)", total=5)
        messages = by_group_and_time(read_archives(inputs, strict, report))
        progress.update(task, advance=1, description="评分 (scoring)")
        pipeline = Pipeline(model, profiles=profiles, explain=explain)
        verdicts = [v for start in range(0, len(messages), 512) for v in pipeline.score(messages[start : start + 512])]
        progress.update(task, advance=1, description="话题 (topics)")
        encoder = pipeline.classifier.encoder or Encoder()
        topics = TopicModel(encoder=encoder).fit(messages)
        progress.update(task, advance=1, description="冲突 (conflicts)")
        alerts = ConflictMonitor(pipeline=pipeline).process(messages, verdicts)
        progress.update(task, advance=1, description="报告 (report)")
        by_group: dict[str, list[int]] = defaultdict(list)
        for i, m in enumerate(messages):
            by_group[m.group].append(i)
        sections = []
        for group, idx in by_group.items():
            group_msgs = [messages[i] for i in idx]
            health = group_health(group_msgs, [verdicts[i].labels for i in idx])
            state = topics.groups_[group]
            per_day: dict[str, Counter] = defaultdict(Counter)
            for i in idx:
                topic = int(topics.labels_[i])
                if 0 <= topic < 5 and messages[i].ts is not None:
                    per_day[state.label(topic)][messages[i].ts.date()] += 1
            topic_days = {label: [c.get(d, 0) for d in health.days] for label, c in per_day.items()}
            latest = {a.alert_id: a.to_dict() for a in alerts if a.group == group}  # an escalation replaces its alert
            group_alerts = list(latest.values())
            texts = {m.id: f"{m.user or '?'}：{m.text}" for m in group_msgs}
            sections.append((health, state.topics, topic_days, group_alerts, texts))
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_report(title, sections), "utf-8")
        progress.update(task, advance=1)
    err.print(
        f"报告已写入 {output} ({len(messages)} messages, {len(by_group)} groups, {len(alerts)} alerts)"
        + (f"; {report.summary()}" if report.errors else ""),
        highlight=False,
    )
