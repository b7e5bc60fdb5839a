"""Backends turn one batch of normalised texts into L2-normalised sentence vectors.

``OnnxBackend`` (int8 ONNX Runtime, the CPU default) and ``TorchBackend`` (sentence-transformers,
the reference and the CUDA default, fp16 on GPU) share one tiny interface so the :class:`Encoder`
owns batching, caching and ordering once for both.

Heavy imports (onnxruntime, sentence-transformers/torch) happen only in the backend that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np


class Backend(Protocol):
    name: str
    device: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def load_tokenizer(model_path: Path, max_length: int):
    """A fast ``tokenizers.Tokenizer`` truncating at ``max_length`` and padding nothing itself."""
    from tokenizers import Tokenizer

    path = model_path / "tokenizer.json"
    if path.exists():
        tokenizer = Tokenizer.from_file(str(path))
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_path)).backend_tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


class OnnxBackend:
    """int8 ONNX Runtime on the CPU; threads default to the machine's cores."""

    name = "onnx"
    device = "cpu"

    def __init__(self, onnx_path: Path, model_path: Path, max_length: int, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(model_path, max_length)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.session.run(None, self.tokenize(texts))[0].astype(np.float32, copy=False)


class TorchBackend:
    """sentence-transformers: the reference path, and the fast path on CUDA (fp16 there)."""

    name = "torch"

    def __init__(self, model: str, device: str, max_length: int, fp16: bool | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.device = device
        self.model = SentenceTransformer(model, device=device)
        self.model.max_seq_length = max_length
        if fp16 if fp16 is not None else device.startswith("cuda"):
            self.model.half()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
