"""Embeddings whose tensors live in the pinned pool: a daemon client writes token ids into
its pinned block and reads the vectors from another, and neither crosses the socket.

The daemon binds the pool's memory straight to the ONNX Runtime session (IOBinding): the
input ids and mask are read where the client wrote them, and the output is written where
the client reads it. Layout of the input block: int64 ``[2, rows, length]`` — token ids,
then the attention mask; of the output block: float32 ``[rows, dimension]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ainos.ai.ml._embeddings import EmbeddingService
from ainos.errors import InvalidArgument, NotFound
from ainos.kernel.control import ControlClient, OperationContext, OperationRegistry, PreparedWork
from ainos.kernel.memory import ArenaMapping
from ainos.kernel.scheduler import CancelToken, RunAborted
from ainos.protocol.memory import PinnedHandle
from ainos.protocol.scheduler import JobState, Priority

__all__ = ["embed_through_pool", "register_pinned_operations"]


def _int(args: dict[str, Any], key: str) -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"argument {key!r} must be a positive integer")
    return value


def register_pinned_operations(
    registry: OperationRegistry, embeddings: EmbeddingService, default_model: str
) -> None:
    def embed_pinned(args: dict[str, Any], context: OperationContext) -> PreparedWork:
        pool = context.pool
        if pool is None:
            raise NotFound("this runtime has no pinned memory pool")
        model = args.get("model", default_model)
        if not isinstance(model, str):
            raise InvalidArgument("argument 'model' must be a model alias")
        rows, length = _int(args, "rows"), _int(args, "length")
        owned = {h.handle_id: h for h in pool.handles(context.owner)}
        handles = []
        for key in ("input_handle_id", "output_handle_id"):
            handle = owned.get(_int(args, key))
            if handle is None:
                raise NotFound(f"no pinned block {args[key]} held by this client ({key})")
            handles.append(handle)
        source, target = handles
        session = embeddings.session(model)
        dimension = embeddings.dimension(model)
        if length > embeddings.tokenizer(model).max_length:
            raise InvalidArgument(f"length {length} exceeds the model's window")
        if source.size < 2 * rows * length * 8 or target.size < rows * dimension * 4:
            raise InvalidArgument(
                f"blocks too small: input needs {2 * rows * length * 8} bytes, "
                f"output {rows * dimension * 4}"
            )
        ids, mask = pool.array(source, np.int64, (2, rows, length))
        out = pool.array(target, np.float32, (rows, dimension))
        names = {i.name for i in session.get_inputs()}

        def work(_inputs: None, token: CancelToken) -> dict[str, int]:
            import onnxruntime as ort

            binding = session.io_binding()
            binding.bind_cpu_input("input_ids", ids)
            binding.bind_cpu_input("attention_mask", mask)
            if "token_type_ids" in names:
                binding.bind_cpu_input("token_type_ids", np.zeros_like(ids))
            binding.bind_output(
                "sentence_embedding", "cpu", 0, np.float32, [rows, dimension], out.ctypes.data
            )
            options = ort.RunOptions()
            unregister = token.on_cancel(lambda: setattr(options, "terminate", True))
            try:
                token.raise_if_cancelled()
                session.run_with_iobinding(binding, options)
            except Exception as error:
                if token.cancelled:
                    raise RunAborted(f"aborted: {token.reason}") from error
                raise
            finally:
                unregister()
            return {"rows": rows, "dimension": dimension, "output_handle_id": target.handle_id}

        return PreparedWork(
            work=work,
            model=f"{model}:pinned",
            abortable=True,
            device=embeddings.executor(model),
        )

    registry.register(
        "embed.pinned",
        embed_pinned,
        "embeddings of pre-tokenised ids in a pinned block, written to another pinned block",
    )


def embed_through_pool(
    client: ControlClient,
    mapping: ArenaMapping,
    feeds: dict[str, np.ndarray[Any, Any]],
    *,
    model: str,
    dimension: int,
    priority: Priority | None = None,
) -> np.ndarray[Any, Any]:
    """Client side: stage ``feeds`` in the pool, run ``embed.pinned``, return a copy of the
    vectors (the blocks are freed before returning)."""
    ids = np.asarray(feeds["input_ids"], dtype=np.int64)
    rows, length = ids.shape
    source: PinnedHandle = client.alloc_pinned(2 * rows * length * 8)
    target: PinnedHandle = client.alloc_pinned(rows * dimension * 4)
    try:
        staged = mapping.array(source, np.int64, (2, rows, length))
        staged[0] = ids
        staged[1] = feeds["attention_mask"]
        job = client.run(
            "embed.pinned",
            {
                "model": model,
                "rows": rows,
                "length": length,
                "input_handle_id": source.handle_id,
                "output_handle_id": target.handle_id,
            },
            priority=priority,
        )
        if job.state is not JobState.COMPLETED:
            raise InvalidArgument(f"embed.pinned {job.state.value}: {job.error}")
        return mapping.array(target, np.float32, (rows, dimension)).copy()
    finally:
        client.free_pinned(source.handle_id)
        client.free_pinned(target.handle_id)
