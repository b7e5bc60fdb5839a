"""``qunshao serve``: the moderation service for QQ / WeChat / Telegram bots (see nlp.serve)."""

from __future__ import annotations

import copy
import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from nlp.classify.model_files import DEFAULT_MODEL_DIR
from nlp.cli.output import EXPLAIN_HELP, err, explain_rule, read_groups


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config() -> dict:
    """uvicorn's logging setup plus the service's own logger (``qunshao``), printed like uvicorn's
    lines: without a handler Python drops its INFO records, and ``--dry-run``'s "would block" lines
    and a group state that could not be restored went nowhere."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["qunshao"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    token: Annotated[str | None, typer.Option(help="Bearer token clients must send (or QUNSHAO_TOKEN).")] = None,
    model: Annotated[Path, typer.Option(help="Model directory.")] = DEFAULT_MODEL_DIR,
    db: Annotated[Path, typer.Option(help="SQLite file for feedback, alerts and group state.")] = Path(
        "qunshao-serve.db"
    ),
    max_messages: Annotated[int, typer.Option(help="Most messages in one request (more: 413).")] = 256,
    max_wait_ms: Annotated[float, typer.Option(help="How long a request waits to share a batch.")] = 5.0,
    dry_run: Annotated[bool, typer.Option(help="Only log what would be blocked or reviewed.")] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput under load).")] = False,
    vector_cache: Annotated[
        str | None,
        typer.Option(help="On-disk vector cache across restarts (a directory, or 'auto' for $QUNSHAO_HOME/vectors)."),
    ] = None,
    groups: Annotated[
        Path | None,
        typer.Option(
            help="Group purposes and house rules: YAML/JSON {group: {topic, examples, admins, allowed_domains}}."
        ),
    ] = None,
    state_seconds: Annotated[
        float,
        typer.Option(min=0, help="Save what was learnt of each group (into --db) at most this often, and at shutdown."),
    ] = 30.0,
    explain: Annotated[str, typer.Option(help=EXPLAIN_HELP)] = "auto",
) -> None:
    """Serve /v1/moderate, /v1/moderations (OpenAI-compatible), group streams, feedback, /metrics."""
    import uvicorn

    from nlp.serve import Settings, create_app

    explain_rule(explain)  # as a bad --groups file: stopped here, not inside the server's startup
    read_groups(groups)  # a bad file stops here, with a message, not inside the server's startup

    token = token or os.environ.get("QUNSHAO_TOKEN") or None
    if not token and not _is_loopback(host):
        err.print(
            f"[yellow]警告[/yellow] serving on {host} without a token: anyone who can reach it can use it "
            "(set --token or QUNSHAO_TOKEN)",
            highlight=False,
        )
    settings = Settings(
        model=model,
        db=db,
        token=token,
        max_messages=max_messages,
        max_wait_ms=max_wait_ms,
        dry_run=dry_run,
        vector_cache=vector_cache,
        groups=groups,
        state_seconds=state_seconds,
        explain=explain,
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        log_config=_log_config(),
        timeout_graceful_shutdown=30,  # in-flight requests finish on SIGTERM/Ctrl-C
    )
