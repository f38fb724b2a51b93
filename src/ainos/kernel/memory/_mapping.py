"""The client side: map an arena descriptor received from the daemon and view handles in it."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from ainos.errors import HostRegistrationError, InvalidHandle, PoolClosed
from ainos.kernel.memory._arena import SharedArena
from ainos.kernel.memory._cuda import HostRegistrar, register_host_memory
from ainos.kernel.memory._views import block_array, block_view
from ainos.protocol.memory import PinnedHandle

__all__ = ["ArenaMapping"]


class ArenaMapping:
    """A client's mapping of the pool's arena. Takes ownership of ``fd``.

    Views are checked against the mapping's bounds (and against ``arena_id`` when given);
    which handles are live is the pool's business, not the client's. With ``cuda``, the
    mapping is also registered as pinned memory in this process, for the client's own copies.
    """

    def __init__(
        self,
        fd: int,
        *,
        arena_id: str | None = None,
        cuda: bool = False,
        registrar: HostRegistrar | None = None,
    ) -> None:
        self._arena = SharedArena.attach(fd)
        self._arena_id = arena_id
        self._mutex = threading.Lock()
        self._registrar, self._cuda_reason = register_host_memory(
            self._arena.address, self._arena.size, cuda=cuda, registrar=registrar
        )

    @property
    def size(self) -> int:
        return self._arena.size

    @property
    def arena_id(self) -> str | None:
        return self._arena_id

    @property
    def sealed(self) -> bool:
        """True when the owner sealed the arena against shrinking (no SIGBUS possible)."""
        return self._arena.sealed

    @property
    def cuda_registered(self) -> bool:
        return self._registrar is not None

    @property
    def cuda_reason(self) -> str | None:
        return self._cuda_reason

    @property
    def closed(self) -> bool:
        return self._arena.closed

    def view(self, handle: PinnedHandle) -> memoryview:
        """The handle's bytes in this process, writable, without a copy."""
        with self._mutex:
            if self._arena.closed:
                raise PoolClosed("the arena mapping is closed")
            if self._arena_id is not None and handle.arena_id != self._arena_id:
                raise InvalidHandle(
                    f"handle {handle.handle_id} belongs to arena {handle.arena_id}, "
                    f"not {self._arena_id}"
                )
            return block_view(self._arena.buffer, handle)

    def array(
        self,
        handle: PinnedHandle,
        dtype: npt.DTypeLike = np.uint8,
        shape: int | tuple[int, ...] | None = None,
    ) -> npt.NDArray[Any]:
        """A numpy array over the handle's bytes, without a copy."""
        return block_array(self.view(handle), dtype, shape)

    def close(self) -> None:
        """Unregister, unmap, close the descriptor. Idempotent; live views stay valid."""
        with self._mutex:
            if self._arena.closed:
                return
            if self._registrar is not None:
                registrar, self._registrar = self._registrar, None
                try:
                    registrar.unregister(self._arena.address)
                except HostRegistrationError as error:
                    self._cuda_reason = str(error)
            self._arena.close()

    def __enter__(self) -> ArenaMapping:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
