"""all-MiniLM-L6-v2 as an ONNX graph, built in memory from the weights ``FastMiniLM`` already loaded.

Used for bulk embedding (an ingest): ONNX Runtime runs the same arithmetic as the numpy forward
pass in ``tutor/embedding.py`` about 3x as fast as numpy in one process on 2 cores (its GEMMs use
every core, without worker processes), and its vectors match sentence-transformers' to cosine
0.99999 (tested). Nothing is exported with torch and nothing is written to disk: the graph and its
session take about a second to build.

Standard ONNX operators only (opset 17); ONNX Runtime fuses LayerNorm, GELU and the bias adds itself.
Inputs ``input_ids`` and ``attention_mask`` (int64, batch x tokens); output ``embedding`` (batch x 384):
mean pooling over real tokens, unit length, as sentence-transformers computes it.
"""

from __future__ import annotations

from typing import Any

LAYERS = 6
HEADS = 12
HIDDEN = 384
OPSET = 17


def build(weights: dict[str, Any]) -> bytes:
    """The serialized model. ``weights``: the safetensors arrays, linear layers transposed to (in, out)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    initializers: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: Any) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attributes: Any) -> str:
        out = f"n{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attributes))
        return out

    def linear(x: str, prefix: str) -> str:
        product = op("MatMul", [x, const(prefix + ".weight", weights[prefix + ".weight"])])
        return op("Add", [product, const(prefix + ".bias", weights[prefix + ".bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, const(prefix + ".weight", weights[prefix + ".weight"]),
                                         const(prefix + ".bias", weights[prefix + ".bias"])], axis=-1, epsilon=1e-12)

    def scalar(name: str, value: float) -> str:
        return const(name, np.array(value, np.float32))

    def ints(name: str, values: list[int]) -> str:
        return const(name, np.array(values, np.int64))

    # Embeddings: token type is always 0, so its row is folded into the position table.
    positions = weights["embeddings.position_embeddings.weight"] + weights["embeddings.token_type_embeddings.weight"][0]
    width = op("Shape", ["input_ids"], start=1, end=2)
    x = op("Add", [op("Gather", [const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"],
                      axis=0),
                   op("Slice", [const("positions", positions), ints("zero", [0]), width, ints("axis0", [0])])])
    x = layer_norm(x, "embeddings.LayerNorm")

    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    blocked = op("Mul", [op("Sub", [scalar("one", 1.0), mask]), scalar("minus_inf", -1e9)])
    blocked = op("Unsqueeze", [blocked, ints("axes12", [1, 2])])  # batch x 1 x 1 x tokens
    split_heads, merge_heads = ints("split", [0, 0, HEADS, HIDDEN // HEADS]), ints("merge", [0, 0, HIDDEN])
    scale = scalar("scale", 1 / np.sqrt(HIDDEN // HEADS))
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def heads(x: str, name: str, perm: list[int], p: str = p) -> str:
            return op("Transpose", [op("Reshape", [linear(x, p + "attention.self." + name), split_heads])], perm=perm)

        q, k, v = heads(x, "query", [0, 2, 1, 3]), heads(x, "key", [0, 2, 3, 1]), heads(x, "value", [0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), blocked])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(op("Add", [linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")  # GELU, the exact erf form, as BERT's
        h = op("Mul", [op("Mul", [h, scalar(f"half{i}", 0.5)]),
                       op("Add", [op("Erf", [op("Div", [h, scalar(f"sqrt2_{i}", np.sqrt(2.0))])]),
                                  scalar(f"one{i}", 1.0)])])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")

    summed = op("ReduceSum", [op("Mul", [x, op("Unsqueeze", [mask, ints("axis2", [2])])]), ints("axis1", [1])],
                keepdims=0)
    count = op("Max", [op("ReduceSum", [mask, ints("axis1b", [1])], keepdims=1), scalar("at_least", 1.0)])
    nodes.append(helper.make_node("LpNormalization", [op("Div", [summed, count])], ["embedding"], axis=1, p=2))

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
         for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tutor")
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    return model.SerializeToString()


def session(weights: dict[str, Any], threads: int) -> Any:
    """An ONNX Runtime session over the graph, on the CPU, with ``threads`` threads for each operator."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no notes about constant folding on every ingest
    # Idle threads sleep instead of spinning: between batches the ingest writes to Chroma on these cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(build(weights), options, providers=["CPUExecutionProvider"])
