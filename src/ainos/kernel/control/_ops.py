"""Operations a client can submit by name: the daemon's side of ``submit``.

A remote client cannot hand the daemon a callable, so a job names an operation and gives
its arguments; the operation turns them into scheduler work. The kernel offers a few
operations of its own (no-op, sleep, reading pinned memory); the layers above register
theirs (model runs, generations) through :meth:`OperationRegistry.register`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ainos.errors import InvalidArgument, NotFound
from ainos.kernel.memory import PinnedPool
from ainos.kernel.scheduler import Batching, CancelToken, RunAborted, Work

__all__ = ["OperationContext", "OperationRegistry", "PreparedWork", "builtin_operations"]


@dataclass(frozen=True)
class PreparedWork:
    """What an operation makes of its arguments: scheduler work and how to run it."""

    work: Work[Any, Any]
    inputs: Any = None
    batching: Batching[Any, Any] | None = None
    batch_key: str | None = None
    model: str | None = None
    estimated_cost_ms: float | None = None
    memory_bytes: int = 0
    abortable: bool = False
    device: str = "cpu:0"  # the executor that runs it


@dataclass(frozen=True)
class OperationContext:
    """What an operation may use: the pool, and who is asking (their pinned blocks)."""

    pool: PinnedPool | None
    owner: str


Operation = Callable[[dict[str, Any], OperationContext], PreparedWork]


class OperationRegistry:
    def __init__(self) -> None:
        self._operations: dict[str, tuple[Operation, str]] = {}

    def register(self, name: str, operation: Operation, description: str) -> None:
        self._operations[name] = (operation, description)

    def names(self) -> dict[str, str]:
        return {name: description for name, (_, description) in sorted(self._operations.items())}

    def prepare(self, name: str, args: dict[str, Any], context: OperationContext) -> PreparedWork:
        entry = self._operations.get(name)
        if entry is None:
            raise NotFound(f"no operation {name!r} (known: {', '.join(sorted(self._operations))})")
        return entry[0](args, context)


def _number(args: dict[str, Any], key: str, default: float | None = None) -> float:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"argument {key!r} must be a number")
    return float(value)


def _integer(args: dict[str, Any], key: str, default: int | None = None) -> int:
    value = args.get(key, default)
    # bool is an int in Python but not in JSON; 1.5 or "1" is a client's mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"argument {key!r} must be an integer")
    return value


def _noop(args: dict[str, Any], context: OperationContext) -> PreparedWork:
    if args:
        raise InvalidArgument("noop takes no arguments")
    return PreparedWork(work=lambda _inputs, _token: None, estimated_cost_ms=0.0)


def _echo(args: dict[str, Any], context: OperationContext) -> PreparedWork:
    value = args.get("value")
    return PreparedWork(work=lambda _inputs, _token: value, estimated_cost_ms=0.0)


def _sleep(args: dict[str, Any], context: OperationContext) -> PreparedWork:
    """Hold a device slot for ``ms`` milliseconds; stops early when cancelled."""
    milliseconds = _number(args, "ms", 10.0)
    if not 0 <= milliseconds <= 600_000:
        raise InvalidArgument("argument 'ms' must be between 0 and 600000")

    def work(_inputs: None, token: CancelToken) -> float:
        deadline = time.monotonic() + milliseconds / 1000
        while (left := deadline - time.monotonic()) > 0:
            if token.cancelled:
                raise RunAborted(f"sleep stopped: {token.reason}")
            time.sleep(min(left, 0.005))
        return milliseconds

    return PreparedWork(work=work, estimated_cost_ms=milliseconds, abortable=True)


_ENCODINGS = ("base64", "hex", "sha256")


def _pinned_read(args: dict[str, Any], context: OperationContext) -> PreparedWork:
    """Read (part of) one of the caller's pinned blocks, in the daemon, without a copy in."""
    pool = context.pool
    if pool is None:
        raise NotFound("this runtime has no pinned memory pool")
    handle_id = _integer(args, "handle_id")
    encoding = args.get("encoding", "base64")
    if encoding not in _ENCODINGS:
        raise InvalidArgument(f"argument 'encoding' must be one of {', '.join(_ENCODINGS)}")
    handle = next((h for h in pool.handles(context.owner) if h.handle_id == handle_id), None)
    if handle is None:
        raise NotFound(f"no pinned block {handle_id} held by this client")
    offset = _integer(args, "offset", 0)
    length = _integer(args, "length", handle.size - offset)
    if offset < 0 or length < 0 or offset + length > handle.size:
        raise InvalidArgument(
            f"bytes {offset}..{offset + length} are outside the block of {handle.size} bytes"
        )

    def work(_inputs: None, _token: CancelToken) -> str:
        data = pool.view(handle)[offset : offset + length]
        if encoding == "sha256":
            return hashlib.sha256(data).hexdigest()
        if encoding == "hex":
            return data.hex()
        return base64.b64encode(data).decode()

    return PreparedWork(work=work, estimated_cost_ms=length / 1e6)


def builtin_operations() -> OperationRegistry:
    registry = OperationRegistry()
    registry.register("noop", _noop, "do nothing (measures the control plane itself)")
    registry.register("echo", _echo, "return args.value")
    registry.register("sleep", _sleep, "hold a device slot for args.ms milliseconds")
    registry.register(
        "pinned.read",
        _pinned_read,
        "read args.handle_id (offset, length) as base64, hex or sha256 (args.encoding)",
    )
    return registry
