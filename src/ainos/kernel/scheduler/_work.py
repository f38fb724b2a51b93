"""What a client hands the scheduler: the work (a callable), its inputs, and how to batch them."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from ainos.protocol.scheduler import JobSpec

from ._token import CancelToken

__all__ = ["ArrayBatching", "Batching", "Feeds", "Job", "Work", "new_job_id"]

I = TypeVar("I")  # noqa: E741 - inputs
O = TypeVar("O")  # noqa: E741 - outputs
I_contra = TypeVar("I_contra", contravariant=True)
O_co = TypeVar("O_co", covariant=True)

Feeds = Mapping[str, np.ndarray[Any, Any]]


class Work(Protocol[I_contra, O_co]):
    """Runs inputs to outputs on the device; checks or subscribes to ``token`` to stop early.

    Work that stopped because the token was tripped raises (any exception; :class:`RunAborted`
    is the clearest). Work that can abort a run in flight (an engine-level terminate, not just
    a check between steps) lets the scheduler preempt it: set ``Job.abortable``.
    """

    def __call__(self, inputs: I_contra, token: CancelToken, /) -> O_co: ...


class Batching(Protocol[I, O]):
    """How to merge inputs of several jobs along the batch axis, and split outputs back.

    ``take``/``merge`` also cut one job into chunks; ``join`` puts its chunk outputs together.
    """

    def rows(self, inputs: I) -> int: ...

    def take(self, inputs: I, start: int, stop: int) -> I: ...

    def merge(self, parts: Sequence[I]) -> I: ...

    def split(self, outputs: O, sizes: Sequence[int]) -> list[O]: ...

    def join(self, parts: Sequence[O]) -> O: ...


class ArrayBatching:
    """ONNX-style feeds (name -> array) in, a list of arrays out, batched along axis 0."""

    def rows(self, inputs: Feeds) -> int:
        sizes = {len(array) for array in inputs.values()}
        if len(sizes) != 1:
            raise ValueError(f"inputs disagree on the batch size: {sorted(sizes)}")
        return sizes.pop()

    def take(self, inputs: Feeds, start: int, stop: int) -> Feeds:
        return {name: array[start:stop] for name, array in inputs.items()}

    def merge(self, parts: Sequence[Feeds]) -> Feeds:
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def split(
        self, outputs: Sequence[np.ndarray[Any, Any]], sizes: Sequence[int]
    ) -> list[list[np.ndarray[Any, Any]]]:
        bounds = np.cumsum(sizes)[:-1]
        per_output = [np.split(array, bounds) for array in outputs]
        return [[pieces[i] for pieces in per_output] for i in range(len(sizes))]

    def join(self, parts: Sequence[Sequence[np.ndarray[Any, Any]]]) -> list[np.ndarray[Any, Any]]:
        if len(parts) == 1:
            return list(parts[0])
        return [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]


class _RandomIds:
    """Unguessable ids (job ids are all a control client needs to cancel a job), read from
    the OS in blocks: one urandom call per id cost more than the rest of a job's bookkeeping."""

    _BYTES = 16
    _BLOCK = 256  # ids per read

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._next = 0
        # A forked child must not hand out the ids its parent still holds.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pool, self._next = b"", 0

    def __call__(self) -> str:
        with self._lock:
            if self._next >= len(self._pool):
                self._pool, self._next = os.urandom(self._BYTES * self._BLOCK), 0
            start = self._next
            self._next += self._BYTES
            return self._pool[start : start + self._BYTES].hex()


new_job_id = _RandomIds()


@dataclass(frozen=True, kw_only=True)
class Job(Generic[I, O]):
    """A job as the layer above submits it. ``spec.rows`` is set from ``batching`` if given.

    Jobs that share a ``spec.batch_key`` must share ``work`` and ``batching``: a merged batch
    runs the first job's work on everybody's inputs.
    """

    spec: JobSpec
    work: Work[I, O]
    inputs: I
    batching: Batching[I, O] | None = None
    abortable: bool = False
