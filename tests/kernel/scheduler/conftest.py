"""Small ONNX models built in the test, and sessions on them."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ainos.kernel.scheduler import session_options


def build_mlp(hidden: int, layers: int, tokens: int) -> bytes:
    """``layers`` times (MatMul, Relu) on ``[batch, tokens, hidden]``, rows independent."""
    rng = np.random.default_rng(7)
    nodes, weights, x = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32)
        weights.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [
            helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]),
            helper.make_node("Relu", [f"m{i}"], [f"r{i}"]),
        ]
        x = f"r{i}"
    shape = ["batch", tokens, hidden]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


@pytest.fixture(scope="session")
def small_session() -> Any:
    """A few milliseconds a run: for batching and cancellation."""
    return ort.InferenceSession(
        build_mlp(64, 4, 8), session_options(), providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="session")
def heavy_model() -> bytes:
    """A batch of 256 rows takes a good fraction of a second: long enough to abort midway."""
    return build_mlp(512, 32, 16)


@pytest.fixture(scope="session")
def heavy_session(heavy_model: bytes) -> Any:
    return ort.InferenceSession(heavy_model, session_options(), providers=["CPUExecutionProvider"])


def feeds(rows: int, hidden: int, tokens: int, seed: int = 0) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((rows, tokens, hidden)).astype(np.float32)}


@pytest.fixture
def small_feeds() -> Any:
    return lambda rows, seed=0: feeds(rows, 64, 8, seed)


@pytest.fixture
def heavy_feeds() -> Any:
    return lambda rows, seed=0: feeds(rows, 512, 16, seed)
