"""The server side of the pool: one arena, a buddy allocator, and a table of owned handles."""

from __future__ import annotations

import ctypes
import itertools
import logging
import mmap
import operator
import threading
import time
import uuid
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from ainos.errors import (
    HandleNotOwned,
    HostRegistrationError,
    InvalidAllocationSize,
    InvalidArgument,
    InvalidHandle,
    PoolClosed,
    PoolExhausted,
)
from ainos.kernel.memory._arena import SharedArena
from ainos.kernel.memory._buddy import BuddyAllocator
from ainos.kernel.memory._cuda import HostRegistrar, register_host_memory
from ainos.kernel.memory._views import block_array, block_view
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle

__all__ = ["DEFAULT_ARENA_BYTES", "DEFAULT_MIN_BLOCK", "PinnedPool"]

DEFAULT_ARENA_BYTES = 256 * 1024 * 1024
DEFAULT_MIN_BLOCK = 4096

_log = logging.getLogger("ainos.kernel.memory")

_CUDA_PENDING = "not needed yet: no client using a GPU has registered"
_CUDA_NOT_REQUESTED = "CUDA registration not requested"


def _zero(address: int, size: int) -> None:
    """Clear ``size`` bytes at ``address``. Module-level so tests can observe or hold a clear."""
    ctypes.memset(address, 0, size)


class PinnedPool:
    """A page-locked shared arena handing out blocks to named owners (client ids).

    Thread-safe: one lock guards the allocator and the handle table. ``fd`` is what the
    daemon sends to clients (:func:`send_arena_fd`); they map it with :class:`ArenaMapping`.

    CUDA registration waits for the first client that uses a GPU (:meth:`register_cuda`):
    registering makes the CUDA library create a context on the GPU, which holds hundreds of
    MiB of device memory (543 MiB on an H200) that a CPU-only workload never needs.

    Freed blocks are zeroed outside the lock (clearing the whole arena takes tens of ms, and
    every other call would wait on it). Meanwhile the block is "being cleared": gone from the
    handle table but still allocated in the buddy allocator, so nobody can be handed it and
    it cannot coalesce; it goes back to the allocator only once it is all zero.
    """

    def __init__(
        self,
        size: int = DEFAULT_ARENA_BYTES,
        *,
        min_block: int = DEFAULT_MIN_BLOCK,
        lock: bool = True,
        cuda: bool = True,
        registrar: HostRegistrar | None = None,
    ) -> None:
        if min_block < mmap.PAGESIZE or min_block & (min_block - 1):
            raise InvalidArgument(
                f"min_block must be a power of two of at least the page size "
                f"({mmap.PAGESIZE}), not {min_block}"
            )
        if size <= 0:
            raise InvalidArgument(f"arena size must be positive, not {size}")
        total = -(-size // min_block) * min_block  # whole blocks, so every block is mappable
        self._arena_id = uuid.uuid4().hex[:16]
        self._allocator = BuddyAllocator(total, min_block)
        self._mutex = threading.Lock()
        # Notified whenever a clear finishes: alloc waiting for memory, close waiting to unmap.
        self._cleared = threading.Condition(self._mutex)
        self._clearing = 0  # blocks detached from the handle table and not yet zeroed
        self._torn_down = False  # close() has unmapped (``_closed`` is set before it waits)
        self._handles: dict[int, PinnedHandle] = {}
        self._by_owner: dict[str, set[int]] = {}
        self._ids = itertools.count(1)
        self._requested = 0
        self._failed = 0
        self._closed = False
        self._arena = SharedArena.create(total, f"ainos-arena-{self._arena_id}")
        try:
            self._lock_reason = self._arena.lock() if lock else "page-locking not requested"
            if lock and self._lock_reason is not None:
                _log.warning("pinned pool runs unlocked: %s", self._lock_reason)
        except BaseException:
            self._arena.close()
            raise
        # Held across a registration (which pins the whole arena, tens of ms) instead of the
        # mutex, so allocations go on meanwhile; close() takes it first to wait for one.
        self._cuda_lock = threading.Lock()
        self._cuda = cuda
        self._explicit_registrar = registrar
        self._registrar: HostRegistrar | None = None
        self._cuda_reason: str | None = (
            _CUDA_PENDING if cuda or registrar is not None else _CUDA_NOT_REQUESTED
        )
        self._cuda_registered_at: float | None = None
        self._cuda_requested_by: str | None = None

    # -- facts ---------------------------------------------------------------------------

    @property
    def arena_id(self) -> str:
        return self._arena_id

    @property
    def fd(self) -> int:
        """The arena's memfd, to send to clients. Stays owned by the pool."""
        self._check_open()
        return self._arena.fd

    @property
    def total_bytes(self) -> int:
        return self._allocator.total

    @property
    def max_alloc_bytes(self) -> int:
        """The largest single allocation the arena can ever satisfy."""
        return self._allocator.max_block

    @property
    def locked(self) -> bool:
        return self._arena.locked

    @property
    def lock_reason(self) -> str | None:
        return self._lock_reason

    @property
    def sealed(self) -> bool:
        return self._arena.sealed

    @property
    def closed(self) -> bool:
        return self._closed

    # -- allocation ----------------------------------------------------------------------

    def alloc(self, size: int, owner: str) -> PinnedHandle:
        """Reserve ``size`` bytes for ``owner``. The block is page-aligned and all zero: blocks
        are cleared when freed, so one client never reads what another left behind."""
        requested = size
        with self._mutex:
            self._check_open()
            if not owner:
                self._failed += 1
                raise InvalidArgument("an allocation needs a non-empty owner")
            try:
                size = -1 if isinstance(size, bool) else operator.index(size)
            except TypeError:
                size = -1
            if size <= 0:
                self._failed += 1
                raise InvalidAllocationSize(
                    f"allocation size must be a positive integer, not {requested!r}"
                )
            if size > self._allocator.max_block:
                self._failed += 1
                raise InvalidAllocationSize(
                    f"{size} bytes is more than the largest block the arena can hold "
                    f"({self._allocator.max_block} bytes)"
                )
            got = self._allocator.allocate(size)
            # Blocks being cleared come back within one memset, so a request they could
            # satisfy waits for them rather than failing spuriously (and a sequential
            # free-then-alloc from two clients never depends on who wins the race). It only
            # fails when nothing is in flight: the arena really is too full.
            while got is None and self._clearing:
                self._cleared.wait()
                self._check_open()
                got = self._allocator.allocate(size)
            if got is None:
                self._failed += 1
                raise PoolExhausted(
                    f"no free block for {size} bytes: {self._allocator.free_bytes} bytes free, "
                    f"largest free block {self._allocator.largest_free_block} bytes"
                )
            offset, block_size = got
            handle = PinnedHandle(
                handle_id=next(self._ids),
                arena_id=self._arena_id,
                offset=offset,
                size=size,
                block_size=block_size,
                owner=owner,
            )
            self._handles[handle.handle_id] = handle
            self._by_owner.setdefault(owner, set()).add(handle.handle_id)
            self._requested += size
            return handle

    def free(self, handle: PinnedHandle, owner: str) -> None:
        """Release ``handle`` on behalf of ``owner``, who must be the one holding it.

        Returns once the block is zeroed and free again; the zeroing runs without the lock.
        """
        with self._mutex:
            self._check_open()
            live = self._live(handle)
            if live.owner != owner:
                raise HandleNotOwned(
                    f"handle {handle.handle_id} belongs to {live.owner!r}, not {owner!r}"
                )
            self._detach(live)
        self._clear([live])

    def free_owner(self, owner: str) -> list[PinnedHandle]:
        """Release everything ``owner`` holds (it disconnected or died); returns what was freed.

        Like :meth:`free`, returns once every block is zeroed and free again.
        """
        with self._mutex:
            self._check_open()
            ids = self._by_owner.get(owner, set())
            freed = [self._handles[i] for i in sorted(ids)]
            for handle in freed:
                self._detach(handle)
        self._clear(freed)
        return freed

    def handles(self, owner: str | None = None) -> list[PinnedHandle]:
        """Live handles, oldest first; only ``owner``'s when given."""
        with self._mutex:
            if owner is None:
                return sorted(self._handles.values(), key=lambda h: h.handle_id)
            return [self._handles[i] for i in sorted(self._by_owner.get(owner, ()))]

    # -- CUDA ----------------------------------------------------------------------------

    def register_cuda(self, requested_by: str) -> bool:
        """Register the arena as CUDA pinned host memory, once: the first call tries, later
        calls (and calls on a pool made with ``cuda=False``) leave it as it is. Returns whether
        the arena is registered. ``requested_by`` names who needed it, for the stats."""
        with self._cuda_lock:
            with self._mutex:
                self._check_open()
                if self._cuda_requested_by is not None or self._cuda_reason == _CUDA_NOT_REQUESTED:
                    return self._registrar is not None
                self._cuda_requested_by = requested_by
            registrar, reason = register_host_memory(
                self._arena.address,
                self._allocator.total,
                cuda=self._cuda,
                registrar=self._explicit_registrar,
            )
            with self._mutex:
                self._registrar, self._cuda_reason = registrar, reason
                if registrar is not None:
                    self._cuda_registered_at = time.time()
            return registrar is not None

    # -- access --------------------------------------------------------------------------

    def view(self, handle: PinnedHandle) -> memoryview:
        """The handle's bytes in this process, writable, without a copy."""
        with self._mutex:
            self._check_open()
            return block_view(self._arena.buffer, self._live(handle))

    def array(
        self,
        handle: PinnedHandle,
        dtype: npt.DTypeLike = np.uint8,
        shape: int | tuple[int, ...] | None = None,
    ) -> npt.NDArray[Any]:
        """A numpy array over the handle's bytes, without a copy."""
        return block_array(self.view(handle), dtype, shape)

    # -- state ---------------------------------------------------------------------------

    def stats(self) -> MemoryPoolStats:
        """Every figure measured from the allocator and the arena at this instant.

        Blocks being cleared are neither free nor anyone's: they count in ``used_bytes`` (the
        allocator still holds them) but not in ``block_count``, ``owner_count`` or
        ``requested_bytes``, which describe live allocations only.
        """
        with self._mutex:
            allocator = self._allocator
            free = allocator.free_bytes
            largest = allocator.largest_free_block
            return MemoryPoolStats(
                arena_id=self._arena_id,
                total_bytes=allocator.total,
                used_bytes=allocator.used_bytes,
                free_bytes=free,
                requested_bytes=self._requested,
                largest_free_block_bytes=largest,
                min_block_bytes=allocator.min_block,
                block_count=len(self._handles),
                owner_count=len(self._by_owner),
                fragmentation_ratio=1.0 - largest / free if free else 0.0,
                failed_allocations=self._failed,
                locked=self._arena.locked,
                lock_reason=self._lock_reason,
                cuda_registered=self._registrar is not None,
                cuda_backend=self._registrar.backend if self._registrar else None,
                cuda_reason=self._cuda_reason,
                cuda_registered_at=self._cuda_registered_at,
                cuda_requested_by=self._cuda_requested_by,
            )

    def close(self) -> None:
        """Unregister from CUDA, unlock, unmap, close the memfd. Idempotent.

        Views still held stay valid (their pages are unmapped when the last is released);
        clients' own mappings are untouched. Waits for clears in flight (they write through
        the arena's raw address, which must stay mapped); new frees are refused meanwhile.
        """
        with self._cuda_lock, self._mutex:
            self._closed = True
            while self._clearing:
                self._cleared.wait()
            if self._torn_down:  # a concurrent close() got here first
                return
            self._torn_down = True
            if self._registrar is not None:
                try:
                    self._registrar.unregister(self._arena.address)
                except HostRegistrationError as error:
                    _log.warning("pinned pool: %s", error)
                self._registrar = None
                self._cuda_registered_at = None
            self._cuda_reason = "pool closed"
            self._arena.close()
            self._lock_reason = "pool closed"

    def __enter__(self) -> PinnedPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._handles)} blocks"
        return f"<PinnedPool {self._arena_id} {self._allocator.total} bytes, {state}>"

    # -- internals (callers hold the mutex) ----------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise PoolClosed(f"pinned pool {self._arena_id} is closed")

    def _live(self, handle: PinnedHandle) -> PinnedHandle:
        if handle.arena_id != self._arena_id:
            raise InvalidHandle(
                f"handle {handle.handle_id} belongs to arena {handle.arena_id}, "
                f"not {self._arena_id}"
            )
        live = self._handles.get(handle.handle_id)
        if live is None:
            raise InvalidHandle(f"handle {handle.handle_id} is not live: already freed or unknown")
        if live != handle:
            raise InvalidHandle(f"handle {handle.handle_id} does not match the pool's record")
        return live

    def _detach(self, handle: PinnedHandle) -> None:
        """Take a live block from its owner; it stays allocated until :meth:`_clear` zeroes it."""
        del self._handles[handle.handle_id]
        owned = self._by_owner[handle.owner]
        owned.discard(handle.handle_id)
        if not owned:
            del self._by_owner[handle.owner]
        self._requested -= handle.size
        self._clearing += 1

    # -- clearing (caller does NOT hold the mutex) -----------------------------------------

    def _clear(self, blocks: list[PinnedHandle]) -> None:
        """Zero detached blocks without the mutex, returning each to the allocator when done.

        The arena cannot be unmapped meanwhile: close() waits until ``_clearing`` is 0.
        """
        address = self._arena.address
        done = 0
        try:
            for block in blocks:
                # The whole block, not the requested bytes: a client maps the arena, not a slice.
                _zero(address + block.offset, block.block_size)
                with self._mutex:
                    self._allocator.free(block.offset)
                    self._clearing -= 1
                    self._cleared.notify_all()
                done += 1
        finally:
            if done < len(blocks):
                # Interrupted (an exception out of the zeroing): the rest may hold old data, so
                # they stay allocated forever (counted as used) rather than being handed out.
                with self._mutex:
                    self._clearing -= len(blocks) - done
                    self._cleared.notify_all()
                _log.error(
                    "pinned pool: %d blocks not cleared; kept out of use", len(blocks) - done
                )
