"""What the pinned pool buys: allocation round trips, and handing a tensor to another process.

Two comparisons, each side by side with its baseline in the same call:

* alloc + free round trips per second of :class:`PinnedPool` against allocating a fresh
  ``bytearray`` (zero-filled) and a fresh anonymous ``mmap`` (pages not touched) of the same
  size, which is what a client does without a pool. The pool is otherwise empty, so every
  round trip splits the arena down to the block and merges it back: the buddy allocator's
  worst case;
* handing a tensor (64 MiB by default) to another process: a handle sent over a Unix socket
  to a process that already mapped the arena, against pickling the array through a
  ``multiprocessing`` pipe. Each hand-off is timed until the receiver holds a numpy array of
  the data; the receiver then hashes what it holds, and the hashes are compared with the
  sender's, outside the timing. The one-off cost of copying an existing array *into* the pool
  is reported too, since a producer that did not build its tensor in the pool pays it.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import numpy.typing as npt

from ainos.kernel.memory import (
    DEFAULT_ARENA_BYTES,
    ArenaMapping,
    PinnedHandle,
    PinnedPool,
    recv_arena_fd,
    send_arena_fd,
)

__all__ = ["AllocRoundTrips", "HandoffTimes", "MemoryBenchResult", "run_memory_bench"]

Progress = Callable[[str, float], None]  # (step, fraction done)

MiB = 1 << 20
_OWNER = "bench"


@dataclass(frozen=True)
class AllocRoundTrips:
    """alloc + free of ``size_bytes``, per second, for the pool and its two baselines."""

    size_bytes: int
    pool_per_second: float
    bytearray_per_second: float
    mmap_per_second: float

    @property
    def speedup_vs_bytearray(self) -> float:
        return self.pool_per_second / self.bytearray_per_second

    @property
    def speedup_vs_mmap(self) -> float:
        return self.pool_per_second / self.mmap_per_second


@dataclass(frozen=True)
class HandoffTimes:
    """Median seconds to put ``tensor_bytes`` in another process's hands, both ways."""

    tensor_bytes: int
    rounds: int
    zero_copy_seconds: float
    pickle_pipe_seconds: float
    stage_copy_seconds: float
    bytes_verified: bool

    @property
    def speedup(self) -> float:
        return self.pickle_pipe_seconds / self.zero_copy_seconds


@dataclass(frozen=True)
class MemoryBenchResult:
    quick: bool
    arena_bytes: int
    locked: bool
    lock_reason: str | None
    alloc: list[AllocRoundTrips] = field(default_factory=list)
    handoff: HandoffTimes | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "memory",
            "quick": self.quick,
            "arena_bytes": self.arena_bytes,
            "locked": self.locked,
            "lock_reason": self.lock_reason,
            "alloc": [
                {
                    **asdict(row),
                    "speedup_vs_bytearray": row.speedup_vs_bytearray,
                    "speedup_vs_mmap": row.speedup_vs_mmap,
                }
                for row in self.alloc
            ],
            "handoff": (
                {**asdict(self.handoff), "speedup": self.handoff.speedup}
                if self.handoff is not None
                else None
            ),
        }


def _per_second(operation: Callable[[], object], seconds: float) -> float:
    """Round trips per second over about ``seconds`` (at least one batch)."""
    batch = 16
    rounds = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            operation()
        rounds += batch
        now = time.perf_counter()
        if now >= deadline:
            return rounds / (now - started)


def _alloc_round_trips(pool: PinnedPool, size: int, seconds: float) -> AllocRoundTrips:
    def pooled() -> None:
        pool.free(pool.alloc(size, _OWNER), _OWNER)

    def fresh_bytearray() -> None:
        bytearray(size)  # zero-filled, then freed at once

    def fresh_mmap() -> None:
        mmap.mmap(-1, size).close()

    return AllocRoundTrips(
        size_bytes=size,
        pool_per_second=_per_second(pooled, seconds),
        bytearray_per_second=_per_second(fresh_bytearray, seconds),
        mmap_per_second=_per_second(fresh_mmap, seconds),
    )


def _digest(data: npt.NDArray[Any]) -> str:
    return hashlib.blake2b(data.data.cast("B")).hexdigest()


def _handoff_receiver(sock: socket.socket, pipe: Connection) -> None:
    """The other process: maps the arena once, then takes tensors by handle or by pickle."""
    fd, arena_id = recv_arena_fd(sock)
    mapping = ArenaMapping(fd, arena_id=arena_id.decode())
    reader = sock.makefile("rb")
    held: npt.NDArray[Any] | None = None
    try:
        for line in reader:
            command, _, argument = line.rstrip(b"\n").partition(b" ")
            if command == b"handle":
                handle = PinnedHandle.model_validate_json(argument)
                held = mapping.array(handle, np.float32)
                sock.sendall(b"ok\n")
            elif command == b"pickle":
                held = pipe.recv()
                sock.sendall(b"ok\n")
            elif command == b"digest":
                assert held is not None
                sock.sendall(_digest(held).encode() + b"\n")
            else:
                break
    finally:
        held = None
        mapping.close()
        sock.close()


def _handoff(pool: PinnedPool, tensor_bytes: int, rounds: int) -> HandoffTimes:
    count = tensor_bytes // 4
    rng = np.random.default_rng(0)
    tensor = rng.standard_normal(count, dtype=np.float32)
    expected = _digest(tensor)
    context = multiprocessing.get_context("spawn")
    parent, child = socket.socketpair()
    pipe_reader, pipe_writer = context.Pipe(duplex=False)
    receiver = context.Process(
        target=_handoff_receiver, args=(child, pipe_reader), name="ainos-bench-receiver"
    )
    receiver.start()
    child.close()
    pipe_reader.close()
    replies = parent.makefile("rb")
    handle = pool.alloc(count * 4, _OWNER)
    try:
        send_arena_fd(parent, pool.fd, pool.arena_id.encode())
        staged = pool.array(handle, np.float32)
        stage: list[float] = []
        for _ in range(rounds):
            began = time.perf_counter()
            np.copyto(staged, tensor)
            stage.append(time.perf_counter() - began)
        del staged

        def ask(command: bytes) -> bytes:
            parent.sendall(command + b"\n")
            return replies.readline().rstrip(b"\n")

        zero_copy: list[float] = []
        message = b"handle " + handle.to_json().encode()
        for _ in range(rounds):
            began = time.perf_counter()
            if ask(message) != b"ok":
                raise RuntimeError("the receiver did not take the handle")
            zero_copy.append(time.perf_counter() - began)
        verified = ask(b"digest").decode() == expected

        pickled: list[float] = []
        for _ in range(rounds):
            began = time.perf_counter()
            parent.sendall(b"pickle\n")
            pipe_writer.send(tensor)
            if replies.readline() != b"ok\n":
                raise RuntimeError("the receiver did not take the pickled tensor")
            pickled.append(time.perf_counter() - began)
        verified = verified and ask(b"digest").decode() == expected
        parent.sendall(b"quit\n")
    finally:
        replies.close()
        parent.close()
        pipe_writer.close()
        receiver.join(timeout=30)
        if receiver.is_alive():
            receiver.kill()
            receiver.join()
        pool.free(handle, _OWNER)
    return HandoffTimes(
        tensor_bytes=count * 4,
        rounds=rounds,
        zero_copy_seconds=statistics.median(zero_copy),
        pickle_pipe_seconds=statistics.median(pickled),
        stage_copy_seconds=statistics.median(stage),
        bytes_verified=verified,
    )


def run_memory_bench(
    *,
    quick: bool = False,
    tensor_bytes: int = 64 * MiB,
    alloc_sizes: tuple[int, ...] = (4096, MiB, 16 * MiB),
    alloc_seconds: float | None = None,
    handoff_rounds: int | None = None,
    arena_bytes: int | None = None,
    progress: Progress | None = None,
) -> MemoryBenchResult:
    """Run both comparisons. ``quick`` (well under 20 s) trades precision for time."""
    seconds = alloc_seconds if alloc_seconds is not None else (0.4 if quick else 2.0)
    rounds = handoff_rounds if handoff_rounds is not None else (3 if quick else 10)
    if tensor_bytes < 4 or rounds < 1:
        raise ValueError("tensor_bytes must hold one float32 and handoff_rounds be positive")
    needed = max(tensor_bytes, *alloc_sizes)
    arena = arena_bytes or max(DEFAULT_ARENA_BYTES, 1 << (2 * needed - 1).bit_length())
    report = progress or (lambda _step, _fraction: None)
    steps = len(alloc_sizes) + 1
    with PinnedPool(arena) as pool:
        rows = []
        for done, size in enumerate(alloc_sizes):
            report(f"alloc {size} B", done / steps)
            rows.append(_alloc_round_trips(pool, size, seconds))
        report("hand-off", len(alloc_sizes) / steps)
        handoff = _handoff(pool, tensor_bytes, rounds)
        report("done", 1.0)
        return MemoryBenchResult(
            quick=quick,
            arena_bytes=pool.total_bytes,
            locked=pool.locked,
            lock_reason=pool.lock_reason,
            alloc=rows,
            handoff=handoff,
        )
