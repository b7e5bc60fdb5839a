"""Where qunshao keeps what it downloads or builds (encoder weights, ONNX files, jieba's cache).

One directory, ``$QUNSHAO_HOME`` (default ``~/.cache/qunshao``), so an operator can move, share or
wipe it in one place. Imports nothing from the rest of the package.
"""

from __future__ import annotations

import os
from pathlib import Path


def qunshao_home() -> Path:
    """The cache root; created on first use."""
    root = Path(os.environ.get("QUNSHAO_HOME") or Path.home() / ".cache" / "qunshao").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
