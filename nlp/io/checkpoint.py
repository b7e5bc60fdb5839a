"""Resumable output: a scored file plus a small checkpoint saying how much of it is final.

A long ``qunshao score`` run can be killed at any moment (``kill -9``, a reboot, an OOM). Every few
seconds, between batches, the rows are flushed and fsynced, then the checkpoint (``OUT.checkpoint``)
is replaced atomically with: how many input records were consumed, the output's byte length at that point, and
the pipeline's learnt state. ``--resume`` truncates the output back to that length (dropping any
half-written batch), skips the consumed records and restores the state, so every message ends up in
the output exactly once and with the verdict an uninterrupted run gives. A finished run removes its
checkpoint.

The state is pickled: the checkpoint is written and read by qunshao itself, next to its own output.
Imports only the standard library.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass
class Checkpoint:
    inputs: list[str]
    consumed: int = 0  # input records read (good ones; bad ones are skipped again on resume)
    written: int = 0  # output rows
    offset: int = 0  # output bytes that are final
    state: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def checkpoint_path(output: str | Path) -> Path:
    return Path(f"{output}.checkpoint")


def load_checkpoint(output: str | Path) -> Checkpoint | None:
    path = checkpoint_path(output)
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        payload = pickle.load(handle)
    if payload.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint from another qunshao version; remove it and start again")
    return payload["checkpoint"]


def save_checkpoint(output: str | Path, checkpoint: Checkpoint) -> None:
    """Atomically replace the checkpoint (write a temporary file, fsync, rename)."""
    path = checkpoint_path(output)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump({"version": VERSION, "checkpoint": checkpoint}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def truncate_to(output: str | Path, offset: int) -> None:
    """Drop whatever was written after the last checkpoint (a batch cut short by the kill)."""
    with open(output, "r+b") as handle:
        handle.truncate(offset)


def remove_checkpoint(output: str | Path) -> None:
    checkpoint_path(output).unlink(missing_ok=True)
