"""Zero-copy views of one handle's bytes: a memoryview slice, or a numpy array over it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ainos.errors import InvalidArgument, InvalidHandle
from ainos.protocol.memory import PinnedHandle

__all__ = ["block_array", "block_view"]


def block_view(buffer: memoryview, handle: PinnedHandle) -> memoryview:
    """``handle``'s ``size`` bytes of ``buffer`` (the whole arena), sharing its memory."""
    end = handle.offset + handle.size
    if end > len(buffer):
        raise InvalidHandle(
            f"handle {handle.handle_id} ends at byte {end}, past the {len(buffer)}-byte arena"
        )
    return buffer[handle.offset : end]


def block_array(
    view: memoryview,
    dtype: npt.DTypeLike = np.uint8,
    shape: int | tuple[int, ...] | None = None,
) -> npt.NDArray[Any]:
    """A writable numpy array over ``view`` (no copy): flat by default, or of ``shape``."""
    dt = np.dtype(dtype)
    if shape is None:
        count = len(view) // dt.itemsize
        if count == 0:
            raise InvalidArgument(f"a {len(view)}-byte block holds no {dt} element")
        return np.frombuffer(view, dtype=dt, count=count)
    dims = (shape,) if isinstance(shape, int) else shape
    if any(d < 0 for d in dims):
        raise InvalidArgument(f"shape {dims} has a negative dimension")
    count = math.prod(dims)
    if count * dt.itemsize > len(view):
        raise InvalidArgument(
            f"shape {dims} of {dt} needs {count * dt.itemsize} bytes; the block has {len(view)}"
        )
    return np.frombuffer(view, dtype=dt, count=count).reshape(dims)
