"""Graph rewrites that make the int8 encoder graph cheaper to run without changing what it computes.

ONNX Runtime's stock dynamic quantisation picks one activation scale for the whole batch tensor, so
a message's vector moved with its batch-mates (cosine 0.99 between batch sizes) and a label could
flip with ``--batch-size``. :func:`per_token_activations` gives every token its own scale, which
makes a message's vector independent of what it is batched with (max difference ~1e-7).

Per-token scales cost speed: the runtime's fused integer matmul only takes one activation scale,
so the quantiser's graph ran ``MatMulInteger -> Cast -> Mul(row scale x channel scale) -> Add``
with a full-size scale tensor per matmul, and the exported attention spent its time in reshapes,
transposes and mask arithmetic. :func:`scale_rows_after_integer_matmul` moves the channel scale
into the fused ``MatMulIntegerToFloat`` and leaves one row multiply; :func:`fuse_attention` hands
each self-attention block (its Q/K/V biases included) to ONNX Runtime's ``MultiHeadAttention``.
Both only rearrange arithmetic: results stay batch-invariant and as close to fp32 as before
(tests/test_encoder.py); each rewrite leaves any block it does not recognise as it was.

Imports onnx lazily (through the model objects it is handed): only building needs it.
"""

from __future__ import annotations

import math

ACTIVATION_QUANT_KEY = "qunshao.activation_quant"
PER_TOKEN = "per-token"
MS_DOMAIN = "com.microsoft"


class _Graph:
    """Producer/consumer lookups over one ``GraphProto`` and the edits a rewrite collects: nodes
    replaced by others in place, constants added; :meth:`commit` writes them back, sorted and with
    whatever no output needs any more dropped."""

    def __init__(self, model) -> None:
        # Edits are keyed by id(node): protobuf hands back the same wrapper for an element while one
        # is alive, and self.producer keeps every node's wrapper alive until the rewrite is done.
        self.model = model
        self.graph = model.graph
        self.initializers = {i.name: i for i in self.graph.initializer}
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {out.name for out in self.graph.output}
        self._replaced: dict[int, list] = {}

    def read_once(self, name: str) -> bool:
        """Whether one node, and nothing else, reads ``name``: a rewrite may then drop it."""
        return name not in self.outputs and len(self.consumers.get(name, [])) == 1

    def only_consumer(self, name: str, op_type: str):
        """The node reading ``name`` if :meth:`read_once` holds and it is an ``op_type``."""
        if not self.read_once(name) or self.consumers[name][0].op_type != op_type:
            return None
        return self.consumers[name][0]

    def made_by(self, name: str, op_type: str):
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def constant(self, name: str):
        """The numpy value of an initializer or ``Constant`` node output, else None."""
        from onnx import numpy_helper

        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.made_by(name, "Constant")
        if node is not None and node.attribute and node.attribute[0].name == "value":
            return numpy_helper.to_array(node.attribute[0].t)
        return None

    def add_constant(self, name: str, value) -> str:
        from onnx import numpy_helper

        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(value, name)
            self.graph.initializer.append(self.initializers[name])
        return name

    def replace(self, node, new_nodes: list, drop=()) -> None:
        """``node`` becomes ``new_nodes``; the nodes in ``drop`` go (their work is in the new ones)."""
        self._replaced[id(node)] = new_nodes
        for dropped in drop:
            self._replaced[id(dropped)] = []

    def commit(self) -> None:
        """Write the edits back (nothing to do without any); declares the contrib-op domain."""
        if not self._replaced:
            return
        if any(new.domain == MS_DOMAIN for news in self._replaced.values() for new in news):
            _use_ms_domain(self.model)
        nodes = [new for node in self.graph.node for new in self._replaced.get(id(node), [node])]
        producer = {out: node for node in nodes for out in node.output}
        live, needed = {}, set()
        stack = [out.name for out in self.graph.output]
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            node = producer.get(name)
            if node is not None and id(node) not in live:
                live[id(node)] = node
                stack.extend(node.input)
        available = {i.name for i in self.graph.input} | set(self.initializers) | {""}
        ordered, pending = [], [node for node in nodes if id(node) in live]
        while pending:
            ready = [node for node in pending if all(name in available for name in node.input)]
            if not ready:
                raise ValueError(f"graph rewrite left {pending[0].name!r} without its inputs")
            for node in ready:
                available.update(node.output)
            ordered += ready
            placed = {id(node) for node in ready}
            pending = [node for node in pending if id(node) not in placed]
        del self.graph.node[:]
        self.graph.node.extend(ordered)
        kept = [init for init in self.graph.initializer if init.name in needed]
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept)
        self._replaced.clear()


def per_token_activations(model) -> None:
    """Rewrite every ``DynamicQuantizeLinear`` (one scale per tensor) into symmetric per-token
    quantisation: each row of the ``[batch, tokens, features]`` activation gets its own scale
    (max |x| / 127, zero point 128 so ONNX Runtime's fast u8 x s8 kernels still apply).

    The scale is reduced over the last axis with its dimension kept, so it comes out ``[batch,
    tokens, 1]`` and broadcasts through the existing ``Mul`` nodes with no reshaping; the rows are
    divided by it and quantised with scale 1, which rounds exactly as a per-axis ``QuantizeLinear``
    (bit-identical) in seven nodes where the per-axis form needed thirteen: a single message pays
    ONNX Runtime's per-node dispatch for each, sixteen times over."""
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
            helper.make_node("ReduceMax", [x], [f"{p}_max"], axes=[-1], keepdims=1),
            helper.make_node("ReduceMin", [x], [f"{p}_min"], axes=[-1], keepdims=1),
            helper.make_node("Neg", [f"{p}_min"], [f"{p}_neg_min"]),
            helper.make_node(
                "Max", [f"{p}_max", f"{p}_neg_min", const(f"{p}_eps", np.array(1e-8, np.float32))], [f"{p}_absmax"]
            ),
            helper.make_node("Mul", [f"{p}_absmax", const(f"{p}_inv127", np.array(1 / 127, np.float32))], [scale]),
            helper.make_node("Div", [x, scale], [f"{p}_rows"]),
            helper.make_node(
                "QuantizeLinear", [f"{p}_rows", const(f"{p}_one", np.array(1.0, np.float32)), zero_point], [quantized]
            ),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    helper.set_model_props(model, {ACTIVATION_QUANT_KEY: PER_TOKEN})


def scale_rows_after_integer_matmul(model) -> int:
    """``MatMulInteger -> Cast -> Mul(Mul(row scale, channel scale))`` becomes
    ``MatMulIntegerToFloat(activation scale 1, channel scale) -> Mul(row scale)``.

    The fused op applies per-channel weight scales while it writes the GEMM's output, so the int32
    tensor, its float copy and the ``[batch, tokens, channels]`` product of the two scales are never
    materialised. Returns how many matmuls were rewritten."""
    import numpy as np
    from onnx import helper

    if _has_subgraphs(model):
        return 0
    g = _Graph(model)
    done = 0
    for node in list(g.graph.node):
        if node.op_type != "MatMulInteger" or len(node.input) != 4:
            continue
        cast = g.only_consumer(node.output[0], "Cast")
        scale_mul = g.only_consumer(cast.output[0], "Mul") if cast is not None else None
        if scale_mul is None:
            continue
        scales_name = next((n for n in scale_mul.input if n != cast.output[0]), None)
        scales = g.made_by(scales_name, "Mul")
        if scales is None or not g.read_once(scales_name):
            continue
        channel = [n for n in scales.input if n in g.initializers]
        row = [n for n in scales.input if n not in g.initializers]
        if len(channel) != 1 or len(row) != 1 or g.constant(channel[0]).ndim > 1:
            continue
        one = g.add_constant("qunshao_activation_scale_one", np.array(1.0, np.float32))  # added once
        activations, weights, a_zero, w_zero = node.input
        unscaled = f"{node.output[0]}_channel_scaled"
        g.replace(
            node,
            [
                helper.make_node(
                    "MatMulIntegerToFloat",
                    [activations, weights, one, channel[0], a_zero, w_zero],
                    [unscaled],
                    name=f"{node.name}_to_float",
                    domain=MS_DOMAIN,
                ),
                helper.make_node("Mul", [unscaled, row[0]], list(scale_mul.output), name=f"{node.name}_row_scale"),
            ],
            drop=(cast, scale_mul, scales),
        )
        done += 1
    g.commit()
    return done


def fuse_attention(model, num_heads: int) -> int:
    """Each exported self-attention block, from its Q/K/V bias adds to the merged heads, becomes one
    ``MultiHeadAttention`` node (biases passed in, padding from the ``attention_mask`` input).

    Recognised: ``Softmax(Q K^T * scale + mask)`` over ``Reshape -> Transpose`` of ``x W + b``
    and merged back by ``Transpose -> Reshape``, the shape transformers' eager BERT-style export
    has; the mask must come from the graph's ``attention_mask`` without model computation.
    The runtime masks with -10000 instead of the dtype's minimum: both give padded keys a weight
    of exactly zero. Returns how many blocks were fused."""
    import numpy as np
    from onnx import TensorProto, helper

    if "attention_mask" not in {i.name for i in model.graph.input} or _has_subgraphs(model):
        return 0
    g = _Graph(model)
    mask = None
    done = 0
    for softmax in [n for n in g.graph.node if n.op_type == "Softmax"]:
        block = _attention_block(g, softmax)
        if block is None:
            continue
        (q, k, v), biases, scale, out_reshape, dropped = block
        hidden = biases[0].shape[0]
        if hidden % num_heads or not math.isclose(scale, (hidden // num_heads) ** -0.5, rel_tol=1e-3):
            continue
        if mask is None:
            mask = "qunshao_key_padding_mask"
            g.graph.node.append(
                helper.make_node("Cast", ["attention_mask"], [mask], to=TensorProto.INT32, name="qunshao_mask_int32")
            )
        bias = g.add_constant(f"{softmax.name}_qkv_bias", np.concatenate(biases).astype(np.float32))
        fused = helper.make_node(
            "MultiHeadAttention",
            [q, k, v, bias, mask],
            list(out_reshape.output),
            name=f"{softmax.name}_multi_head_attention",
            domain=MS_DOMAIN,
            num_heads=num_heads,
            scale=float(scale),
        )
        g.replace(out_reshape, [fused], drop=dropped)
        done += 1
    g.commit()
    return done


def _attention_block(g: _Graph, softmax):
    """The pieces of one attention block ending in ``softmax``, or None where the shape differs."""
    scores = g.made_by(softmax.input[0], "Add")
    if scores is None or not g.read_once(scores.output[0]):
        return None
    scaled = next(
        (
            node
            for node in map(g.producer.get, scores.input)
            if _op(node) in {"Mul", "Div"} and g.made_by(node.input[0], "MatMul") is not None
        ),
        None,
    )
    if scaled is None or not g.read_once(scaled.output[0]):
        return None
    mask_name = next(n for n in scores.input if n != scaled.output[0])
    if not _is_padding_mask(g, mask_name):
        return None
    qk = g.made_by(scaled.input[0], "MatMul")
    factor = g.constant(scaled.input[1])
    if not g.read_once(qk.output[0]) or factor is None or factor.size != 1:
        return None
    scale = float(factor.reshape(())) if scaled.op_type == "Mul" else 1.0 / float(factor.reshape(()))
    context = g.only_consumer(softmax.output[0], "MatMul")
    if context is None or context.input[0] != softmax.output[0]:
        return None
    merged = g.only_consumer(context.output[0], "Transpose")
    if merged is None or _perm(merged) != [0, 2, 1, 3]:
        return None
    out_reshape = g.only_consumer(merged.output[0], "Reshape")
    if out_reshape is None:
        return None
    heads = [(qk.input[0], [0, 2, 1, 3]), (qk.input[1], [0, 2, 3, 1]), (context.input[1], [0, 2, 1, 3])]
    projections, biases, dropped = [], [], [scores, scaled, qk, softmax, context, merged]
    for name, perm in heads:
        transpose = g.made_by(name, "Transpose")
        split = g.made_by(transpose.input[0], "Reshape") if transpose is not None and _perm(transpose) == perm else None
        add = g.made_by(split.input[0], "Add") if split is not None else None
        if add is None or not all(g.read_once(node.output[0]) for node in (transpose, split, add)):
            return None
        bias = next((n for n in add.input if n in g.initializers), None)
        if bias is None or g.constant(bias).ndim != 1:
            return None
        projections.append(next(n for n in add.input if n != bias))
        biases.append(g.constant(bias))
        dropped += [transpose, split, add]
    if len({b.shape for b in biases}) != 1:
        return None
    return projections, biases, scale, out_reshape, dropped


def _op(node) -> str | None:
    return node.op_type if node is not None else None


def _perm(node) -> list[int] | None:
    attr = next((a for a in node.attribute if a.name == "perm"), None)
    return list(attr.ints) if attr is not None else None


_MODEL_OPS = {"MatMul", "MatMulInteger", "MatMulIntegerToFloat", "Gemm", "Softmax", "LayerNormalization"}


def _is_padding_mask(g: _Graph, name: str) -> bool:
    """Whether ``name`` comes from the ``attention_mask`` input by shape and mask arithmetic only
    (the exporter also reads the hidden states' shape), with no model computation on the way."""
    seen, stack, reached = set(), [name], False
    while stack:
        current = stack.pop()
        if current in seen or current == "" or current in g.initializers:
            continue
        seen.add(current)
        if current == "attention_mask":
            reached = True
            continue
        node = g.producer.get(current)
        if node is None:
            continue  # another graph input (input_ids' shape)
        if node.op_type in _MODEL_OPS:
            return False
        if node.op_type != "Shape":  # a shape says nothing of the values it was taken from
            stack.extend(node.input)
    return reached


def _has_subgraphs(model) -> bool:
    """Whether a node carries a graph of its own (If, Loop, Scan): its reads of outer names are not
    inputs this module sees, so its rewrites, which drop what no node reads, keep out."""
    return any(attr.type in (attr.GRAPH, attr.GRAPHS) for node in model.graph.node for attr in node.attribute)


def _use_ms_domain(model) -> None:
    from onnx import helper

    if not any(op.domain == MS_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
