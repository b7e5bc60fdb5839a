"""The one entry point for sentence vectors: ``Encoder(model).encode(texts)``.

Like sentence-transformers' ``encode``, callers hand over a list of texts and get an array back;
normalisation, de-duplication, length-sorted batching and backend choice happen here, once, so no
caller re-implements them. Texts are put into qunshao's canonical form first (NFKC, lower case,
简体): m3e's vocabulary is lower-case, so ``VX`` would otherwise be ``[UNK]``.

``model`` accepts ``m3e-small``/``default`` (the fetched default), a local directory, or any
sentence-transformers name (resolved by sentence-transformers itself, for users who are online).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from nlp.embed.backends import Backend, OnnxBackend, TorchBackend
from nlp.embed.default_model import ONNX_FILE, WHEEL_MODELS, WheelModel, model_dir, read_provenance
from nlp.embed.onnx_export import build_int8_onnx, onnx_cache_path
from nlp.home import qunshao_home
from nlp.text.normalize import normalize

BackendName = Literal["auto", "onnx", "torch"]
DEFAULT_MAX_LENGTH = 128  # chat messages: p99 well under 128 characters; longer ones are truncated


class ModelNotFetchedError(RuntimeError):
    """The default model is named but not in the cache yet."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model argument points: a local directory, or a hub name for sentence-transformers."""

    name: str
    path: Path | None
    spec: WheelModel | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None


def resolve_model(model: str | Path, home: Path | None = None) -> ResolvedModel:
    key = str(model)
    if key in WHEEL_MODELS:
        spec = WHEEL_MODELS[key]
        directory = model_dir(spec, home)
        if read_provenance(directory) is None:
            raise ModelNotFetchedError(
                f"默认模型 {spec.name} 尚未下载：请先运行 `qunshao model fetch` (default model not fetched; "
                "run `qunshao model fetch`, or pass --model with a local path or sentence-transformers name)"
            )
        return ResolvedModel(spec.name, directory, spec)
    path = Path(key).expanduser()
    if path.is_dir():
        return ResolvedModel(path.name, path.resolve())
    return ResolvedModel(key, None)


def default_device() -> str:
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def ensure_onnx(resolved: ResolvedModel, home: Path | None = None) -> Path:
    """The int8 ONNX file for a local model, built on first use."""
    if resolved.path is None:
        raise ValueError(f"the onnx backend needs a local model directory, not the hub name {resolved.name!r}")
    target = resolved.path / ONNX_FILE if resolved.spec else onnx_cache_path(resolved.path, home)
    if not target.exists():
        pooling = resolved.spec.pooling if resolved.spec else None
        build_int8_onnx(resolved.path, target, pooling=pooling)
    return target


class Encoder:
    """Sentence encoder with one batch core for every caller (CLI, bots, training)."""

    def __init__(
        self,
        model: str | Path = "m3e-small",
        backend: BackendName = "auto",
        device: str = "auto",
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 64,
        threads: int | None = None,
        home: Path | None = None,
    ) -> None:
        self.model = str(model)
        self.max_length = max_length
        self.batch_size = batch_size
        home = home or qunshao_home()
        self.resolved = resolve_model(model, home)
        self.device = default_device() if device == "auto" else device
        if backend == "auto":
            backend = "onnx" if self.device == "cpu" and self.resolved.is_local else "torch"
        if backend == "onnx":
            if self.device != "cpu":
                raise ValueError("the onnx backend runs on the CPU; use backend='torch' for CUDA")
            self.backend: Backend = OnnxBackend(
                ensure_onnx(self.resolved, home), self.resolved.path, max_length, threads
            )
        elif backend == "torch":
            source = str(self.resolved.path) if self.resolved.path else self.resolved.name
            self.backend = TorchBackend(source, self.device, max_length)
        else:
            raise ValueError(f"unknown backend {backend!r}: choose auto, onnx or torch")

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @cached_property
    def dim(self) -> int:
        return int(self.backend.embed([""]).shape[1])

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised, in input order; each distinct text embedded once."""
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; wrap a single text in a list")
        canonical = [normalize(t) for t in texts]
        unique = list(dict.fromkeys(canonical))
        if not unique:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Longest first: similar lengths share a batch, so padding is small, and a memory
        # problem shows up on the first batch rather than after minutes.
        order = sorted(range(len(unique)), key=lambda i: -len(unique[i]))
        size = batch_size or self.batch_size
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        if show_progress_bar:
            from rich.progress import track

            batches = track(batches, description="encoding", transient=True)
        vectors: np.ndarray | None = None
        for batch in batches:
            out = self.backend.embed([unique[i] for i in batch])
            if vectors is None:
                vectors = np.empty((len(unique), out.shape[1]), dtype=np.float32)
            vectors[batch] = out
        assert vectors is not None
        index = {text: i for i, text in enumerate(unique)}
        return vectors[[index[t] for t in canonical]]
