"""Build the CPU fast path: a sentence encoder exported to ONNX with pooling inside, int8-quantised.

Putting mean/CLS pooling and L2 normalisation into the graph means the runtime returns finished
sentence vectors, so the ONNX and torch backends differ only in arithmetic. Weights are int8 per
output channel; activations are quantised **per token** at run time, so a message's vector does not
depend on its batch-mates, and the graph is then rewritten into ONNX Runtime's fused kernels
(:mod:`nlp.embed.onnx_rewrite`). Attention is exported in its eager form because that is the shape
the attention rewrite recognises (the SDPA export hides it in mask arithmetic). Built once per model
and cached; the file name says which graph generation it is, so an older cached graph is not reused.

Imports torch/transformers/onnxruntime lazily: only building needs them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

from nlp.embed.onnx_rewrite import fuse_attention, per_token_activations, scale_rows_after_integer_matmul
from nlp.home import qunshao_home

ONNX_INPUTS = ("input_ids", "attention_mask")
# v2: channel scales inside MatMulIntegerToFloat, fused MultiHeadAttention (docs/benchmarks-core.md).
ONNX_NAME = "model-int8-token-v2.onnx"


def read_pooling(model_path: Path) -> str:
    """``mean`` or ``cls``, from a sentence-transformers pooling config when there is one."""
    config = model_path / "1_Pooling" / "config.json"
    if config.exists():
        settings = json.loads(config.read_text("utf-8"))
        if settings.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def weight_files(model_path: Path) -> list[Path]:
    """A local model directory's weight files (what identifies the model), sorted."""
    return sorted(p for p in model_path.rglob("*") if p.suffix in {".bin", ".safetensors"})


def onnx_cache_path(model_path: Path, home: Path | None = None) -> Path:
    """Where a local model's int8 ONNX lives: keyed by its path and weight files' size and mtime."""
    key = hashlib.sha256(str(model_path.resolve()).encode())
    for w in weight_files(model_path):
        stat = w.stat()
        key.update(f"{w.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return (home or qunshao_home()) / "onnx" / f"{model_path.name}-{key.hexdigest()[:12]}" / ONNX_NAME


def build_int8_onnx(model_path: Path, out_path: Path, pooling: str | None = None, opset: int = 17) -> Path:
    """Export ``model_path`` (a transformers encoder) with pooling + normalisation, then quantise."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    pooling = pooling or read_pooling(model_path)
    try:
        encoder = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()
    except (TypeError, ValueError):  # an architecture without the eager/SDPA choice
        encoder = AutoModel.from_pretrained(str(model_path)).eval()
    num_heads = getattr(encoder.config, "num_attention_heads", None)

    class SentenceGraph(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    dummy = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = Path(tmp) / "model-fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(
                SentenceGraph(encoder),
                dummy,
                str(fp32),
                input_names=list(ONNX_INPUTS),
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=opset,
                dynamo=False,
            )
        int8 = Path(tmp) / ONNX_NAME
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # onnxruntime suggests pre-processing on the root logger
        try:
            quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        model = onnx.load(str(int8))
        per_token_activations(model)
        plain = model.SerializeToString()
        scale_rows_after_integer_matmul(model)
        if num_heads:
            fuse_attention(model, num_heads)
        if not rewrite_agrees(plain, model.SerializeToString(), getattr(encoder.config, "vocab_size", 1000)):
            # A log line, not a warning: warnings are silenced around the exporter's chatter here.
            logging.getLogger(__name__).warning(
                "%s: the fused int8 graph disagreed with the plain one; kept the plain one", model_path.name
            )
            model = onnx.load_from_string(plain)
        onnx.save(model, str(int8))
        os.replace(int8, out_path)
    return out_path


def rewrite_agrees(plain: bytes, rewritten: bytes, vocab_size: int, min_cosine: float = 0.99) -> bool:
    """Whether the rewritten graph gives the plain per-token graph's vectors on padded batches.

    A guard for models whose export only looks like what the rewrites expect: a wrong mask or head
    split shows up as a cosine far below 1, while int8 rounding moves a vector by ~0.001 at most
    (a tiny float difference can flip one rounding and its error travels)."""
    import numpy as np
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    lengths = [3, 5, 9, 17, 40, 64]
    ids = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(100, vocab_size, n)
        mask[row, :n] = 1
    feed = {"input_ids": ids, "attention_mask": mask}
    vectors = []
    for graph in (plain, rewritten):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                graph, options, providers=["CPUExecutionProvider"], disabled_optimizers=["MatMulIntegerToFloatFusion"]
            )
            vectors.append(session.run(None, feed)[0])
        except Exception:  # onnxruntime raises its own error types for a graph it cannot load or run
            if graph is plain:
                raise
            return False
    return bool(np.min(np.sum(vectors[0] * vectors[1], axis=1)) >= min_cosine)
