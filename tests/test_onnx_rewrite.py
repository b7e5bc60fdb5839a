"""The int8 graph rewrites: each keeps the arithmetic, and the build refuses a rewrite that does not."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from nlp.embed.onnx_export import rewrite_agrees
from nlp.embed.onnx_rewrite import per_token_activations, scale_rows_after_integer_matmul


def _run(model, feed: dict) -> np.ndarray:
    session = ort.InferenceSession(
        model.SerializeToString(),
        providers=["CPUExecutionProvider"],
        disabled_optimizers=["MatMulIntegerToFloatFusion"],
    )
    return session.run(None, feed)[0]


def _quantised_matmul_graph(weights: np.ndarray, channel_scale: np.ndarray, bias: np.ndarray):
    """What the quantiser plus per-token scales write for ``x W + b``: an integer matmul, a cast,
    the product of row and channel scales, the bias add."""
    k, n = weights.shape
    nodes = [
        helper.make_node("MatMulInteger", ["xq", "w", "xzp", "wzp"], ["acc"], name="mm"),
        helper.make_node("Cast", ["acc"], ["acc_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["row_scale", "w_scale"], ["scales"]),
        helper.make_node("Mul", ["acc_f", "scales"], ["y"]),
        helper.make_node("Add", ["bias", "y"], ["out"]),
    ]
    inits = [
        numpy_helper.from_array(weights, "w"),
        numpy_helper.from_array(np.array(128, np.uint8), "xzp"),
        numpy_helper.from_array(np.zeros(n, np.int8), "wzp"),
        numpy_helper.from_array(channel_scale, "w_scale"),
        numpy_helper.from_array(bias, "bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("xq", TensorProto.UINT8, ["b", "t", k]),
            helper.make_tensor_value_info("row_scale", TensorProto.FLOAT, ["b", "t", 1]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_channel_scales_move_into_the_fused_matmul_and_results_stay() -> None:
    rng = np.random.default_rng(3)
    model = _quantised_matmul_graph(
        rng.integers(-127, 128, (64, 48)).astype(np.int8),
        (rng.random(48).astype(np.float32) + 0.5) / 100,
        rng.standard_normal(48).astype(np.float32),
    )
    feed = {
        "xq": rng.integers(0, 256, (3, 7, 64)).astype(np.uint8),
        "row_scale": (rng.random((3, 7, 1)).astype(np.float32) + 0.1) / 50,
    }
    before = _run(model, feed)
    assert scale_rows_after_integer_matmul(model) == 1
    ops = Counter(node.op_type for node in model.graph.node)
    assert ops["MatMulIntegerToFloat"] == 1 and ops["MatMulInteger"] == ops["Cast"] == 0
    assert ops["Mul"] == 1  # the row scale only; the [b, t, channels] scale product is gone
    np.testing.assert_allclose(_run(model, feed), before, rtol=1e-5, atol=1e-5)


def test_a_graph_of_another_shape_is_left_as_it_was() -> None:
    model = _quantised_matmul_graph(np.ones((8, 4), np.int8), np.ones(4, np.float32), np.zeros(4, np.float32))
    cast = next(node for node in model.graph.node if node.op_type == "Cast")
    model.graph.output.append(helper.make_tensor_value_info(cast.output[0], TensorProto.FLOAT, None))  # read twice
    before = model.SerializeToString()
    assert scale_rows_after_integer_matmul(model) == 0
    assert model.SerializeToString() == before


@pytest.fixture(scope="module")
def shipped_graph(onnx_encoder):
    return onnx.load(str(onnx_encoder.backend.onnx_path))


def test_the_default_encoder_runs_fused_kernels(shipped_graph) -> None:
    ops = Counter(node.op_type for node in shipped_graph.graph.node)
    assert ops["MultiHeadAttention"] == 4  # m3e-small's four layers
    assert ops["Softmax"] == ops["MatMulInteger"] == 0
    assert ops["MatMulIntegerToFloat"] == 24  # Q, K, V, output, two feed-forward per layer


def test_the_build_guard_catches_a_wrong_head_split_and_a_lost_mask(shipped_graph) -> None:
    good = shipped_graph.SerializeToString()
    assert rewrite_agrees(good, good, vocab_size=21128)
    wrong_heads = onnx.load_from_string(good)
    lost_mask = onnx.load_from_string(good)
    for node in wrong_heads.graph.node:
        if node.op_type == "MultiHeadAttention":
            next(a for a in node.attribute if a.name == "num_heads").i = 4
    for node in lost_mask.graph.node:
        if node.op_type == "MultiHeadAttention":
            del node.input[4]  # padding keys take part in attention
    assert not rewrite_agrees(good, wrong_heads.SerializeToString(), vocab_size=21128)
    assert not rewrite_agrees(good, lost_mask.SerializeToString(), vocab_size=21128)
    unloadable = onnx.load_from_string(good)
    next(node for node in unloadable.graph.node if node.op_type == "MultiHeadAttention").op_type = "NoSuchAttention"
    assert not rewrite_agrees(good, unloadable.SerializeToString(), vocab_size=21128)  # refused, not raised


def test_a_build_whose_rewrite_disagrees_keeps_the_plain_graph(onnx_encoder, tmp_path, monkeypatch, caplog) -> None:
    import nlp.embed.onnx_export as onnx_export

    real_fuse = onnx_export.fuse_attention

    def fuse_with_wrong_heads(model, num_heads: int) -> int:
        fused = real_fuse(model, num_heads)
        for node in model.graph.node:  # what a rewrite that mis-read the head split would write
            if node.op_type == "MultiHeadAttention":
                next(a for a in node.attribute if a.name == "num_heads").i = num_heads // 2
        return fused

    monkeypatch.setattr(onnx_export, "fuse_attention", fuse_with_wrong_heads)
    out = onnx_export.build_int8_onnx(onnx_encoder.resolved.path, tmp_path / "model.onnx")
    ops = Counter(node.op_type for node in onnx.load(str(out)).graph.node)
    assert ops["MultiHeadAttention"] == 0 and ops["MatMulInteger"] == 24  # the plain per-token graph
    assert "kept the plain one" in caplog.text


def test_per_token_quantisation_rounds_as_a_per_axis_quantizelinear() -> None:
    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zp"], name="dql")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", 64])],
        [
            helper.make_tensor_value_info("q", TensorProto.UINT8, None),
            helper.make_tensor_value_info("scale", TensorProto.FLOAT, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    per_token_activations(model)
    x = np.random.default_rng(5).standard_normal((3, 9, 64)).astype(np.float32)
    x[1, 2] = 0.0  # an all-zero row (padding-like) takes the epsilon scale, not a division by zero
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    q, scale = session.run(None, {"x": x})
    assert scale.shape == (3, 9, 1)
    expected_scale = np.maximum(np.abs(x).max(axis=-1, keepdims=True), np.float32(1e-8)) * np.float32(1 / 127)
    np.testing.assert_array_equal(scale, expected_scale)
    # ONNX's QuantizeLinear: round half to even of x / scale, plus the zero point, saturated
    expected = np.clip(np.rint(x / expected_scale) + 128, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(q, expected)
    assert (q[1, 2] == 128).all()
