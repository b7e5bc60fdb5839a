"""The ``qunshao`` command: one typer app, one module per sub-command family.

Exit codes (../shared/DESIGN.md): 0 success, 2 usage error (typer's own, and a named file that is
not there), 1 failure.
"""

from __future__ import annotations

import os

import typer

from nlp.cli.conflicts import conflicts_command
from nlp.cli.importer import import_command
from nlp.cli.inspect import inspect_command
from nlp.cli.model import model_app
from nlp.cli.output import err
from nlp.cli.report import report_command
from nlp.cli.score import score_command
from nlp.cli.serve import serve_command
from nlp.cli.topics import topics_command
from nlp.cli.train import eval_command, train_command

app = typer.Typer(
    name="qunshao",
    help="群哨: watch Chinese community group chats for ads, negativity, off-topic chatter and conflicts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(model_app, name="model")
app.command("import")(import_command)
app.command("inspect")(inspect_command)
app.command("score")(score_command)
app.command("topics")(topics_command)
app.command("conflicts")(conflicts_command)
app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("train")(train_command)
app.command("eval")(eval_command)


def main() -> None:
    """The console entry point. A file that is not there (an input, ``--model``, ``--groups``) or
    cannot be read ends the command with its message, not a traceback (``QUNSHAO_TRACEBACK=1``
    shows the traceback): not found is a usage error (2), anything else the system refused a
    failure (1)."""
    try:
        app()
    except OSError as exc:
        if os.environ.get("QUNSHAO_TRACEBACK"):
            raise
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        usage = isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError)
        raise SystemExit(2 if usage else 1) from None
