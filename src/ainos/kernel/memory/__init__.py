"""The pinned memory pool: one page-locked shared arena that client processes map without copies.

The daemon owns a :class:`PinnedPool`: a ``memfd`` arena (256 MiB by default), page-locked
with ``mlock`` when RLIMIT_MEMLOCK allows it (otherwise it runs unlocked and says why, in a
warning and in :meth:`PinnedPool.stats`), registered as CUDA pinned host memory where a CUDA
library loads once the first client that uses a GPU needs it (:meth:`PinnedPool.register_cuda`:
registering creates a CUDA context, which holds GPU memory). It sends the arena's descriptor to
each client over a Unix socket (:func:`send_arena_fd`); the client maps it once
(:class:`ArenaMapping`) and from then on an input or output crosses the process boundary as a
:class:`PinnedHandle` (offset, size, id, owner) instead of as bytes. When a client disconnects
or dies, :meth:`PinnedPool.free_owner` releases everything it held.

Why a buddy allocator rather than size classes: the pool serves tensors whose sizes range
from a few KiB to most of the arena and are not known in advance. Size classes need the arena
partitioned among the classes up front, so a burst of one size exhausts its class while others
sit idle, and a request larger than the biggest class cannot be served at all. A buddy
allocator serves any size up to the whole arena from one free structure, in O(log n) for both
allocation and free; merging freed blocks with their buddies immediately bounds external
fragmentation (freeing everything always restores one block); and every block is aligned to
its own size, so handles are page-aligned for ``mlock``, DMA and SIMD loads. The price is
internal fragmentation (a request is rounded up to a power of two of the 4 KiB minimum block,
at worst just under 2x), which the stats expose as ``used_bytes - requested_bytes``.

``fragmentation_ratio`` in the stats is ``1 - largest_free_block / free_bytes`` (0.0 when
nothing is free): 0 when all free memory is one block, approaching 1 when the free memory is
split into blocks much smaller than its total, i.e. when a large request would fail even
though the bytes are there.
"""

from ainos.kernel.memory._buddy import BuddyAllocator
from ainos.kernel.memory._cuda import (
    CudaDriverApi,
    CudaDriverRegistrar,
    CudartApi,
    CudartRegistrar,
    HostRegistrar,
    load_host_registrar,
)
from ainos.kernel.memory._fdpass import recv_arena_fd, send_arena_fd
from ainos.kernel.memory._mapping import ArenaMapping
from ainos.kernel.memory._pool import DEFAULT_ARENA_BYTES, DEFAULT_MIN_BLOCK, PinnedPool
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle

__all__ = [
    "DEFAULT_ARENA_BYTES",
    "DEFAULT_MIN_BLOCK",
    "ArenaMapping",
    "BuddyAllocator",
    "CudaDriverApi",
    "CudaDriverRegistrar",
    "CudartApi",
    "CudartRegistrar",
    "HostRegistrar",
    "MemoryPoolStats",
    "PinnedHandle",
    "PinnedPool",
    "load_host_registrar",
    "recv_arena_fd",
    "send_arena_fd",
]
