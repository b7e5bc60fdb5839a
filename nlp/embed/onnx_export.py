"""Build the CPU fast path: a sentence encoder exported to ONNX with pooling inside, int8-quantised.

Putting mean/CLS pooling and L2 normalisation into the graph means the runtime returns finished
sentence vectors, so the ONNX and torch backends differ only in arithmetic. Weights are int8 per
output channel; activations are quantised **per token** at run time (:func:`per_token_activations`).
ONNX Runtime's stock dynamic quantisation picks one activation scale for the whole batch tensor, so
a message's vector moved with its batch-mates (cosine 0.99 between batch sizes) and a label could
flip with ``--batch-size``; one scale per token makes every message's vector independent of what it
is batched with (max difference ~1e-7) and is more faithful to fp32 (cosine >= 0.997 on the sample
chat), at ~20% of the int8 speed-up (docs/benchmarks.md). Built once per model and cached.

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

from nlp.home import qunshao_home

ONNX_INPUTS = ("input_ids", "attention_mask")
# Recorded in the model's metadata: the backend must then keep ONNX Runtime from fusing
# MatMulInteger+Cast+Mul into MatMulIntegerToFloat, whose activation scale must be a scalar.
ACTIVATION_QUANT_KEY = "qunshao.activation_quant"
PER_TOKEN = "per-token"


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
    return (home or qunshao_home()) / "onnx" / f"{model_path.name}-{key.hexdigest()[:12]}" / "model-int8-token.onnx"


def build_int8_onnx(model_path: Path, out_path: Path, pooling: str | None = None, opset: int = 17) -> Path:
    """Export ``model_path`` (a transformers encoder) with pooling + normalisation, then quantise."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    pooling = pooling or read_pooling(model_path)
    encoder = AutoModel.from_pretrained(str(model_path)).eval()

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
        int8 = Path(tmp) / "model-int8-token.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # onnxruntime suggests pre-processing on the root logger
        try:
            quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        model = onnx.load(str(int8))
        per_token_activations(model)
        onnx.save(model, str(int8))
        os.replace(int8, out_path)
    return out_path


def per_token_activations(model) -> None:
    """Rewrite every ``DynamicQuantizeLinear`` (one scale per tensor) into symmetric per-token
    quantisation: each row of the ``[batch, tokens, features]`` activation gets its own scale
    (max |x| / 127, zero point 128 so ONNX Runtime's fast u8 x s8 kernels still apply).

    Downstream nodes are untouched: the scale output changes shape from ``[]`` to
    ``[batch, tokens, 1]`` and broadcasts through the existing ``Mul`` nodes."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    nodes = []

    def const(name: str, value) -> str:
        graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x = node.input[0]
        quantized, scale, zero_point = node.output
        p = f"{node.name}_per_token"
        graph.initializer.append(numpy_helper.from_array(np.array(128, dtype=np.uint8), zero_point))
        nodes += [
            helper.make_node("Shape", [x], [f"{p}_shape"]),
            helper.make_node("Flatten", [x], [f"{p}_rows"], axis=2),  # [batch*tokens, features]
            helper.make_node("ReduceMax", [f"{p}_rows"], [f"{p}_max"], axes=[1], keepdims=0),
            helper.make_node("ReduceMin", [f"{p}_rows"], [f"{p}_min"], axes=[1], keepdims=0),
            helper.make_node("Neg", [f"{p}_min"], [f"{p}_neg_min"]),
            helper.make_node(
                "Max", [f"{p}_max", f"{p}_neg_min", const(f"{p}_eps", np.array(1e-8, np.float32))], [f"{p}_absmax"]
            ),
            helper.make_node(
                "Mul", [f"{p}_absmax", const(f"{p}_inv127", np.array(1 / 127, np.float32))], [f"{p}_row_scale"]
            ),
            helper.make_node("Shape", [f"{p}_row_scale"], [f"{p}_n_rows"]),
            helper.make_node("Expand", [const(f"{p}_128", np.array([128], np.uint8)), f"{p}_n_rows"], [f"{p}_zps"]),
            helper.make_node("QuantizeLinear", [f"{p}_rows", f"{p}_row_scale", f"{p}_zps"], [f"{p}_q"], axis=0),
            helper.make_node("Reshape", [f"{p}_q", f"{p}_shape"], [quantized]),
            helper.make_node(
                "Slice",
                [f"{p}_shape", const(f"{p}_0", np.array([0], np.int64)), const(f"{p}_2", np.array([2], np.int64))],
                [f"{p}_batch_tokens"],
            ),
            helper.make_node(
                "Concat", [f"{p}_batch_tokens", const(f"{p}_1", np.array([1], np.int64))], [f"{p}_scale_shape"], axis=0
            ),
            helper.make_node("Reshape", [f"{p}_row_scale", f"{p}_scale_shape"], [scale]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    helper.set_model_props(model, {ACTIVATION_QUANT_KEY: PER_TOKEN})
