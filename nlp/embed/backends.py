"""Backends turn one batch of normalised texts into L2-normalised sentence vectors.

``OnnxBackend`` (int8 ONNX Runtime, the CPU default) and ``TorchBackend`` (sentence-transformers,
the reference and the CUDA default, fp16 on GPU) share one tiny interface so the :class:`Encoder`
owns batching, caching and ordering once for both.

Heavy imports (onnxruntime, sentence-transformers/torch) happen only in the backend that needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from nlp.embed.onnx_rewrite import ACTIVATION_QUANT_KEY, PER_TOKEN


class Backend(Protocol):
    """``tokenize`` turns texts into per-text token sequences (anything with ``len``: the encoder
    sorts and budgets batches by it); ``embed_tokens`` runs one batch of them."""

    name: str
    device: str

    def tokenize(self, texts: list[str]) -> list: ...

    def embed_tokens(self, batch: list) -> np.ndarray: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def pad_batch(batch: list[list[int]], pad_id: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays for token-id rows, padded to ``width`` (default:
    the longest row)."""
    width = width or max(len(seq) for seq in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


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
        # ONNX Runtime's fused SkipLayerNormalization ran 5-10% of the whole int8 encoder slower on
        # these CPUs than the plain Add, Add, LayerNormalization it replaces (paired A/B rounds).
        disabled = ["SkipLayerNormFusion"]
        if _activation_quant(onnx_path) == PER_TOKEN:
            # The fused op takes one activation scale per tensor and would silently undo per-token scales.
            disabled.append("MatMulIntegerToFloatFusion")
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
        )
        self.onnx_path = Path(onnx_path)
        self.tokenizer = load_tokenizer(model_path, max_length)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=True)]

    def embed_tokens(self, batch: list[list[int]]) -> np.ndarray:
        ids, mask = pad_batch(batch, self.pad_id)
        out = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out.astype(np.float32, copy=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_tokens(self.tokenize(texts))


def _activation_quant(onnx_path: Path) -> str | None:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return next((p.value for p in model.metadata_props if p.key == ACTIVATION_QUANT_KEY), None)


@dataclass(frozen=True, slots=True)
class _Sized:
    """One text with its token ids (empty where the backend falls back to ``encode`` on the text)."""

    text: str
    ids: list[int]
    n_tokens: int

    def __len__(self) -> int:
        return self.n_tokens


class TorchBackend:
    """sentence-transformers: the reference path, and the fast path on CUDA (fp16 there).

    For the common case (a Hugging Face transformer first, no prompts, no lower-casing of its own)
    texts are tokenised once, in :meth:`tokenize` (a worker thread may run it), and a batch goes
    straight through the model's modules: ``encode`` would tokenise again, sort again and copy
    per batch, which on a GPU costs more than the model itself (measured on an H100: the GPU path
    ran slower than plain ``encode`` until this). Other models take ``encode``."""

    name = "torch"

    def __init__(self, model: str, device: str, max_length: int, fp16: bool | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.device = device
        self.model = SentenceTransformer(model, device=device)
        self.model.max_seq_length = max_length
        self.fp16 = fp16 if fp16 is not None else device.startswith("cuda")
        if self.fp16:
            self.model.half()
        self.model.eval()
        first = self.model[0]
        self._direct = (
            type(first).__name__ == "Transformer"
            and not getattr(first, "do_lower_case", False)
            and getattr(self.model, "default_prompt_name", None) is None
            and getattr(self.model.tokenizer, "pad_token_id", None) is not None
        )
        self.pad_id = int(self.model.tokenizer.pad_token_id) if self._direct else 0

    def tokenize(self, texts: list[str]) -> list[_Sized]:
        lengths = self.model.tokenizer(
            texts, add_special_tokens=True, truncation=True, max_length=self.model.max_seq_length
        )["input_ids"]
        if not self._direct:  # encode tokenises again; keep only the counts for batching
            return [_Sized(text, [], len(ids)) for text, ids in zip(texts, lengths, strict=True)]
        return [_Sized(text, ids, len(ids)) for text, ids in zip(texts, lengths, strict=True)]

    def embed_tokens(self, batch: list[_Sized]) -> np.ndarray:
        if not self._direct:
            return self.embed([item.text for item in batch])
        import torch

        width = max(item.n_tokens for item in batch)
        if self.device != "cpu" and -(-width // 8) * 8 <= (self.model.max_seq_length or width):
            width = -(-width // 8) * 8  # few distinct shapes for the GPU's kernel and allocator caches
        ids, mask = pad_batch([item.ids for item in batch], self.pad_id, width)
        features = {
            "input_ids": torch.from_numpy(ids).to(self.device, non_blocking=True),
            "attention_mask": torch.from_numpy(mask).to(self.device, non_blocking=True),
        }
        with torch.inference_mode():
            vectors = self.model(features)["sentence_embedding"].float()
            vectors = torch.nn.functional.normalize(vectors, dim=1)
        return vectors.cpu().numpy()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
