"""The one entry point for sentence vectors: ``Encoder(model).encode(texts)``.

Like sentence-transformers' ``encode``, callers hand over a list of texts and get an array back;
normalisation, de-duplication, length-sorted batching and backend choice happen here, once, so no
caller re-implements them. Texts are put into qunshao's canonical form first (NFKC, lower case,
简体): m3e's vocabulary is lower-case, so ``VX`` would otherwise be ``[UNK]``.

``model`` accepts ``m3e-small``/``default`` (the fetched default), a local directory, or any
sentence-transformers name (resolved by sentence-transformers itself, for users who are online).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from nlp.embed.backends import Backend, OnnxBackend, TorchBackend
from nlp.embed.default_model import ONNX_FILE, WHEEL_MODELS, WheelModel, model_dir, read_provenance
from nlp.embed.onnx_export import build_int8_onnx, onnx_cache_path, weight_files
from nlp.embed.vector_cache import VectorCache, file_digest
from nlp.home import qunshao_home
from nlp.text.normalize import normalize

BackendName = Literal["auto", "onnx", "torch"]
DEFAULT_MAX_LENGTH = 128  # chat messages: p99 well under 128 characters; longer ones are truncated
# (rows, tokens) per batch. CPU: small batches stay in cache (measured below). GPU: big batches keep
# the card busy between kernel launches (on an H100 16,384 tokens embedded 20,800 msg/s against 7,200 at
# the CPU's 1,024; docs/benchmarks-core-gpu.md).
CPU_BATCHING = (128, 1024)
GPU_BATCHING = (1024, 16384)


class ModelNotFetchedError(FileNotFoundError):
    """The default model is named but not in the cache yet: its files are not there, so commands
    report it like any missing file (its message says to run ``qunshao model fetch``)."""


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


@dataclass(frozen=True)
class Tokenized:
    """Texts ready for the model: all of them in input order, and the distinct ones not yet cached
    with their token ids; ``preloaded`` holds vectors found in the on-disk cache."""

    canonical: list[str]
    missing: list[str]
    tokens: list
    dedup: bool = True
    preloaded: dict[str, np.ndarray] = field(default_factory=dict)


class Encoder:
    """Sentence encoder with one batch core for every caller (CLI, bots, training).

    Batches are cut by a *token budget* (rows x longest row <= ``token_budget``, at most
    ``batch_size`` rows) over texts sorted by token count, so a batch of ``收到`` is wide and a batch
    of long notices is narrow, and padding stays negligible. Texts longer than ``max_length`` tokens
    are truncated (128 by default: a chat message's topic and tone are in its first 128 tokens, and
    attention cost grows with the square of the length). Vectors of recent distinct texts are kept in
    a bounded in-memory cache (``cache_size`` entries), so a bot that sees ``收到`` a thousand times
    embeds it once. The CPU's 1,024-token budget was measured: 530 msg/s against 350 at 4,096 on
    chat-like text (2-core CPU; bigger batches fall out of cache without padding any less); a GPU
    gets far bigger batches by default (``GPU_BATCHING``).

    ``vector_cache`` (a directory, or ``"auto"`` for ``$QUNSHAO_HOME/vectors``) adds a bounded
    on-disk cache across runs, keyed by :meth:`model_key` (:mod:`nlp.embed.vector_cache`): a rerun
    over yesterday's archive embeds only what is new.
    """

    def __init__(
        self,
        model: str | Path = "m3e-small",
        backend: BackendName = "auto",
        device: str = "auto",
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int | None = None,
        token_budget: int | None = None,
        cache_size: int = 20_000,
        threads: int | None = None,
        home: Path | None = None,
        vector_cache: str | Path | None = None,
        vector_cache_size: int = 200_000,
    ) -> None:
        self.model = str(model)
        self.max_length = max_length
        self.cache_size = cache_size
        home = home or qunshao_home()
        self.resolved = resolve_model(model, home)
        if device == "auto":
            device = "cpu" if backend == "onnx" else default_device()  # onnx here is the CPU runtime
        self.device = device
        rows, budget = CPU_BATCHING if self.device == "cpu" else GPU_BATCHING
        self.batch_size = batch_size or rows
        self.token_budget = token_budget or budget
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
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        if vector_cache == "auto":
            vector_cache = home / "vectors"
        self.vector_cache = (
            VectorCache(vector_cache, self.model_key(), self.dim, vector_cache_size) if vector_cache else None
        )

    def model_key(self) -> str:
        """What computes the vectors, hashed: the ONNX file's bytes, or the weights with dtype,
        device kind and truncation. Vectors cached under one key are exactly what that model gives."""
        backend = self.backend
        if isinstance(backend, OnnxBackend):
            what = f"onnx:{file_digest([backend.onnx_path])}"
        elif self.resolved.path is not None:
            what = f"torch:{file_digest(weight_files(self.resolved.path))}"
        else:
            what = f"hub:{self.resolved.name}"  # a hub name: its revision is sentence-transformers' business
        if isinstance(backend, TorchBackend):
            what += f":{'fp16' if backend.fp16 else 'fp32'}:{self.device.split(':')[0]}"
        return hashlib.sha256(f"{what}:max_length={self.max_length}".encode()).hexdigest()

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
        return self.encode_normalized([normalize(t) for t in texts], batch_size, show_progress_bar)

    def encode_normalized(
        self, canonical: Sequence[str], batch_size: int | None = None, show_progress_bar: bool = False
    ) -> np.ndarray:
        """:meth:`encode` for texts already in canonical form (the text stage made it once)."""
        return self.encode_tokenized(self.tokenize(canonical), batch_size, show_progress_bar)

    def tokenize(self, canonical: Sequence[str], dedup: bool = True) -> Tokenized:
        """The CPU-side half of :meth:`encode_normalized`: de-duplicate and tokenise what the cache
        does not hold. Safe to run in a worker thread while the model embeds the previous batch.
        ``dedup=False`` embeds every text, repeats included (to measure what de-duplication saves)."""
        if not dedup:
            return Tokenized(list(canonical), list(canonical), self.backend.tokenize(list(canonical)), dedup=False)
        unique = list(dict.fromkeys(canonical))
        with self._cache_lock:
            missing = [t for t in unique if t not in self._cache]
        preloaded: dict[str, np.ndarray] = {}
        if self.vector_cache is not None and missing:
            preloaded = self.vector_cache.get_many(missing)
            missing = [t for t in missing if t not in preloaded]
        tokens = self.backend.tokenize(missing) if missing else []
        return Tokenized(list(canonical), missing, tokens, preloaded=preloaded)

    def encode_tokenized(
        self, tokenized: Tokenized, batch_size: int | None = None, show_progress_bar: bool = False
    ) -> np.ndarray:
        """The model half: embed the tokenised texts, fill the cache, fan vectors out in input order."""
        canonical = tokenized.canonical
        if not canonical:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not tokenized.dedup:
            return self._embed(tokenized.tokens, batch_size or self.batch_size, show_progress_bar)
        unique = list(dict.fromkeys(canonical))
        found = self._cached(unique)
        if tokenized.preloaded:
            found.update(tokenized.preloaded)
            self._remember(list(tokenized.preloaded), found)
        todo = [i for i, t in enumerate(tokenized.missing) if t not in found]
        texts = [tokenized.missing[i] for i in todo]
        tokens = [tokenized.tokens[i] for i in todo]
        # Texts that were cached when tokenised may have been evicted since (another batch ran in
        # between, as score_stream does): tokenise those now.
        asked = set(tokenized.missing)
        evicted = [t for t in unique if t not in found and t not in asked]
        if evicted:
            texts += evicted
            tokens += self.backend.tokenize(evicted)
        if texts:
            vectors = self._embed(tokens, batch_size or self.batch_size, show_progress_bar)
            found.update(zip(texts, vectors, strict=True))
            self._remember(texts, found)
            if self.vector_cache is not None:
                self.vector_cache.put_many(zip(texts, vectors, strict=True))
        return np.stack([found[t] for t in canonical])

    def batches(self, lengths: Sequence[int], batch_size: int | None = None) -> list[list[int]]:
        """Indices into ``lengths`` cut into batches: longest first, each within the token budget.

        Longest first also means a memory problem shows on the first batch, not after minutes."""
        rows = batch_size or self.batch_size
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        out: list[list[int]] = []
        for i in order:
            if out and len(out[-1]) < rows and (len(out[-1]) + 1) * lengths[out[-1][0]] <= self.token_budget:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def _embed(self, tokens: list, batch_size: int, show_progress_bar: bool) -> np.ndarray:
        batches = self.batches([len(t) for t in tokens], batch_size)
        if show_progress_bar:
            from rich.progress import track

            batches = track(batches, description="encoding", transient=True)
        vectors: np.ndarray | None = None
        for batch in batches:
            out = self.backend.embed_tokens([tokens[i] for i in batch])
            if vectors is None:
                vectors = np.empty((len(tokens), out.shape[1]), dtype=np.float32)
            vectors[batch] = out
        assert vectors is not None
        return vectors

    def _cached(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._cache_lock:
            hits = {t: self._cache[t] for t in texts if t in self._cache}
            for t in hits:
                self._cache.move_to_end(t)
        return hits

    def _remember(self, texts: list[str], vectors: dict[str, np.ndarray]) -> None:
        if not self.cache_size:
            return
        with self._cache_lock:
            for t in texts[-self.cache_size :]:
                self._cache[t] = vectors[t]
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
