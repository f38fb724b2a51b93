"""A BERT sentence encoder as an ONNX graph, built straight from its safetensors weights.

The graph computes what sentence-transformers computes: the BERT encoder, then pooling over
the attention mask (mean, or the [CLS] token) and, where the model has a Normalize module, L2
normalisation. Sub-graphs are laid out as PyTorch's exporter lays out Hugging Face's BERT
(Q/K/V MatMul+Add+Reshape+Transpose, the mask turned into an additive bias by
``(1 - mask) * -10000``, the position ids sliced from a constant row, erf GELU), because
that is the shape ONNX Runtime's transformer optimizer recognises and fuses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors import SafetensorError
from safetensors.numpy import load_file

from ainos.errors import ModelError, UnsupportedModel

from ._spec import BertConfig, SentenceEncoderSpec

__all__ = [
    "INPUT_NAMES",
    "OPSET",
    "SENTENCE_EMBEDDING",
    "TOKEN_EMBEDDINGS",
    "build_sentence_encoder",
    "ffn_output_matmuls",
    "load_bert_weights",
]

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
SENTENCE_EMBEDDING = "sentence_embedding"
TOKEN_EMBEDDINGS = "token_embeddings"

# Additive bias for masked keys: original BERT's value. exp(-10000) is 0 in float32, and
# unlike the float32 minimum it cannot overflow to -inf when added to a score.
_MASK_BIAS = -10000.0

Array = np.ndarray[Any, Any]
Step = Callable[[float], None]


def load_bert_weights(spec: SentenceEncoderSpec) -> dict[str, Array]:
    """The encoder's tensors, keyed without any head prefix (``bert.`` …)."""
    try:
        tensors = load_file(spec.weights)
    except (SafetensorError, OSError) as error:
        raise ModelError(f"{spec.weights} cannot be read: {error}") from error
    anchor = "embeddings.word_embeddings.weight"
    prefixes = [name.removesuffix(anchor) for name in tensors if name.endswith(anchor)]
    if len(prefixes) != 1:
        raise UnsupportedModel(f"{spec.weights}: no BERT word embeddings ({anchor}) found")
    prefix = prefixes[0]
    return {name.removeprefix(prefix): t for name, t in tensors.items() if name.startswith(prefix)}


class _Graph:
    """Collects nodes and initializers; each helper returns its output's name."""

    def __init__(self, weights: Mapping[str, Array], bert: BertConfig) -> None:
        self._weights = weights
        self._bert = bert
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._names: set[str] = set()

    def _fresh(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._names:
            n += 1
            name = f"{hint}_{n}"
        self._names.add(name)
        return name

    def const(self, hint: str, value: Array) -> str:
        name = self._fresh(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def scalar(self, hint: str, value: float) -> str:
        return self.const(hint, np.array(value, dtype=np.float32))

    def ints(self, hint: str, values: int | Sequence[int]) -> str:
        return self.const(hint, np.array(values, dtype=np.int64))

    def op(self, op_type: str, inputs: Sequence[str], hint: str, **attrs: Any) -> str:
        out = self._fresh(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def weight(self, key: str, shape: tuple[int, ...], *, transpose: bool = False) -> str:
        """A checkpoint tensor as an initializer, checked against the config's shape."""
        try:
            value = self._weights[key]
        except KeyError:
            raise UnsupportedModel(f"the weights have no tensor {key!r}") from None
        if transpose:  # torch Linear stores [out, in]; MatMul wants [in, out]
            value = value.T
        if value.shape != shape:
            raise UnsupportedModel(f"tensor {key!r} has shape {value.shape}, expected {shape}")
        return self.const(key, np.ascontiguousarray(value, dtype=np.float32))

    def linear(self, x: str, key: str, n_in: int, n_out: int) -> str:
        w = self.weight(f"{key}.weight", (n_in, n_out), transpose=True)
        b = self.weight(f"{key}.bias", (n_out,))
        return self.op("Add", [self.op("MatMul", [x, w], f"{key}.matmul"), b], f"{key}.out")

    def layer_norm(self, x: str, key: str) -> str:
        h = self._bert.hidden_size
        gamma, beta = self.weight(f"{key}.weight", (h,)), self.weight(f"{key}.bias", (h,))
        eps = self._bert.layer_norm_eps
        return self.op("LayerNormalization", [x, gamma, beta], key, axis=-1, epsilon=eps)


def _embeddings(g: _Graph, bert: BertConfig) -> str:
    h = bert.hidden_size
    words = g.op(
        "Gather",
        [g.weight("embeddings.word_embeddings.weight", (bert.vocab_size, h)), "input_ids"],
        "embeddings.words",
    )
    types_table = g.weight("embeddings.token_type_embeddings.weight", (bert.type_vocab_size, h))
    types = g.op("Gather", [types_table, "token_type_ids"], "embeddings.token_types")
    # Position ids: a constant [1, max_positions] row sliced to the sequence length.
    seq_len = g.op(
        "Gather", [g.op("Shape", ["input_ids"], "input_shape"), g.ints("one", 1)], "seq_len"
    )
    seq_end = g.op("Unsqueeze", [seq_len, g.ints("axis0", [0])], "seq_end")
    position_ids = g.op(
        "Slice",
        [
            g.const("position_ids", np.arange(bert.max_positions, dtype=np.int64)[None, :]),
            g.ints("slice_start", [0]),
            seq_end,
            g.ints("slice_axis", [1]),
            g.ints("slice_step", [1]),
        ],
        "position_ids_sliced",
    )
    positions_table = g.weight("embeddings.position_embeddings.weight", (bert.max_positions, h))
    positions = g.op("Gather", [positions_table, position_ids], "embeddings.positions")
    summed = g.op(
        "Add", [g.op("Add", [words, types], "embeddings.add_types"), positions], "embeddings.sum"
    )
    return g.layer_norm(summed, "embeddings.LayerNorm")


def _mask_bias(g: _Graph) -> str:
    """[batch, seq] 0/1 mask -> [batch, 1, 1, seq] bias: 0 to attend, -10000 to ignore."""
    expanded = g.op(
        "Unsqueeze",
        [
            g.op("Unsqueeze", ["attention_mask", g.ints("axis1", [1])], "mask_b1s"),
            g.ints("axis2", [2]),
        ],
        "mask_b11s",
    )
    as_float = g.op("Cast", [expanded], "mask_float", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.scalar("one_f", 1.0), as_float], "mask_inverted")
    return g.op("Mul", [inverted, g.scalar("mask_bias_value", _MASK_BIAS)], "mask_bias")


def _attention(g: _Graph, x: str, bias: str, bert: BertConfig, key: str) -> str:
    h, heads, size = bert.hidden_size, bert.num_heads, bert.head_size
    split = g.ints(f"{key}.split_heads", [0, 0, heads, size])

    def project(name: str, perm: list[int]) -> str:
        out = g.linear(x, f"{key}.self.{name}", h, h)
        shaped = g.op("Reshape", [out, split], f"{key}.{name}_heads")
        return g.op("Transpose", [shaped], f"{key}.{name}_t", perm=perm)

    q = project("query", [0, 2, 1, 3])
    k = project("key", [0, 2, 3, 1])  # already transposed for Q·Kᵀ
    v = project("value", [0, 2, 1, 3])
    scores = g.op("MatMul", [q, k], f"{key}.scores")
    scaled = g.op("Div", [scores, g.scalar(f"{key}.sqrt_d", math.sqrt(size))], f"{key}.scaled")
    masked = g.op("Add", [scaled, bias], f"{key}.masked")
    probs = g.op("Softmax", [masked], f"{key}.probs", axis=-1)
    context = g.op("MatMul", [probs, v], f"{key}.context")
    merged = g.op(
        "Reshape",
        [
            g.op("Transpose", [context], f"{key}.context_t", perm=[0, 2, 1, 3]),
            g.ints(f"{key}.merge_heads", [0, 0, h]),
        ],
        f"{key}.context_merged",
    )
    out = g.linear(merged, f"{key}.output.dense", h, h)
    return g.layer_norm(g.op("Add", [out, x], f"{key}.residual"), f"{key}.output.LayerNorm")


def _gelu(g: _Graph, x: str, key: str) -> str:
    """x · ½ · (1 + erf(x / √2)), BERT's exact GELU."""
    erf = g.op(
        "Erf",
        [g.op("Div", [x, g.scalar(f"{key}.sqrt2", math.sqrt(2.0))], f"{key}.div")],
        f"{key}.erf",
    )
    one_plus = g.op("Add", [erf, g.scalar(f"{key}.one", 1.0)], f"{key}.one_plus")
    return g.op(
        "Mul", [g.op("Mul", [x, one_plus], f"{key}.mul"), g.scalar(f"{key}.half", 0.5)], key
    )


def _feed_forward(g: _Graph, x: str, bert: BertConfig, key: str) -> str:
    h, inner = bert.hidden_size, bert.intermediate_size
    up = _gelu(g, g.linear(x, f"{key}.intermediate.dense", h, inner), f"{key}.gelu")
    down = g.linear(up, f"{key}.output.dense", inner, h)
    return g.layer_norm(g.op("Add", [down, x], f"{key}.residual"), f"{key}.output.LayerNorm")


def ffn_output_matmuls(bert: BertConfig) -> list[str]:
    """Names of the feed-forward down-projection MatMul nodes, one per layer."""
    return [f"encoder.layer.{i}.output.dense.matmul" for i in range(bert.num_layers)]


def _pool(g: _Graph, tokens: str, spec: SentenceEncoderSpec) -> str:
    if spec.pooling == "cls":
        pooled = g.op("Gather", [tokens, g.ints("cls_index", 0)], "pooled", axis=1)
    else:
        # Mean over real tokens only: padding is zeroed out and not counted.
        mask = g.op(
            "Unsqueeze",
            [
                g.op("Cast", ["attention_mask"], "pool_mask", to=TensorProto.FLOAT),
                g.ints("axis_last", [2]),
            ],
            "pool_mask_b_s_1",
        )
        axis = g.ints("seq_axis", [1])
        total = g.op(
            "ReduceSum",
            [g.op("Mul", [tokens, mask], "masked_tokens"), axis],
            "token_sum",
            keepdims=0,
        )
        count = g.op("ReduceSum", [mask, axis], "token_count", keepdims=0)
        count = g.op("Max", [count, g.scalar("count_floor", 1e-9)], "token_count_floor")
        pooled = g.op("Div", [total, count], "pooled")
    if not spec.normalize:
        return pooled
    # As torch.nn.functional.normalize: divide by max(‖x‖₂, 1e-12).
    norm = g.op("ReduceL2", [pooled], "norm", axes=[1], keepdims=1)
    norm = g.op("Max", [norm, g.scalar("norm_floor", 1e-12)], "norm_floor")
    return g.op("Div", [pooled, norm], "normalized")


def build_sentence_encoder(
    spec: SentenceEncoderSpec,
    weights: Mapping[str, Array],
    *,
    on_layer: Step | None = None,
) -> onnx.ModelProto:
    """The whole model as ONNX: ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64,
    [batch, sequence]) to ``sentence_embedding`` [batch, hidden] and ``token_embeddings``
    [batch, sequence, hidden]. ``on_layer`` is told the fraction of layers built so far."""
    bert = spec.bert
    g = _Graph(weights, bert)
    hidden = _embeddings(g, bert)
    bias = _mask_bias(g)
    for i in range(bert.num_layers):
        key = f"encoder.layer.{i}"
        hidden = _attention(g, hidden, bias, bert, f"{key}.attention")
        hidden = _feed_forward(g, hidden, bert, key)
        if on_layer is not None:
            on_layer((i + 1) / bert.num_layers)
    # The last hidden state is also an output, so give it its public name.
    g.nodes.append(
        helper.make_node("Identity", [hidden], [TOKEN_EMBEDDINGS], name=TOKEN_EMBEDDINGS)
    )
    sentence = _pool(g, TOKEN_EMBEDDINGS, spec)
    g.nodes.append(
        helper.make_node("Identity", [sentence], [SENTENCE_EMBEDDING], name=SENTENCE_EMBEDDING)
    )

    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in INPUT_NAMES]
    outputs = [
        helper.make_tensor_value_info(
            SENTENCE_EMBEDDING, TensorProto.FLOAT, ["batch", bert.hidden_size]
        ),
        helper.make_tensor_value_info(
            TOKEN_EMBEDDINGS, TensorProto.FLOAT, ["batch", "sequence", bert.hidden_size]
        ),
    ]
    graph = helper.make_graph(g.nodes, "sentence_encoder", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # the oldest that opset 17 needs: loadable by older runtimes too
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ModelError(f"the converted graph is invalid: {error}") from error
    return model
