"""The pinned memory pool's wire records: handles to blocks of the arena, and pool statistics."""

from __future__ import annotations

from pydantic import Field

from ainos.protocol._base import Record

__all__ = ["MemoryPoolStats", "PinnedHandle"]


class PinnedHandle(Record):
    """One allocated block of a pinned arena, as a client receives it.

    A client that mapped the arena's file descriptor reads and writes
    ``[offset, offset + size)`` of its mapping; nothing is copied between processes.
    """

    handle_id: int = Field(ge=1, description="Unique for the arena's life; never reused.")
    arena_id: str = Field(min_length=1, description="The arena the block belongs to.")
    offset: int = Field(ge=0, description="Byte offset of the block in the arena.")
    size: int = Field(gt=0, description="Bytes requested; the usable length of the block.")
    block_size: int = Field(gt=0, description="Bytes reserved by the allocator (>= size).")
    owner: str = Field(min_length=1, description="The client the block belongs to.")


class MemoryPoolStats(Record):
    """The pool's state (GET_MEMORY_POOL), measured from the allocator at one instant.

    ``fragmentation_ratio`` is ``1 - largest_free_block_bytes / free_bytes`` (0 when nothing is
    free): 0 means all free memory is one block, values near 1 mean free memory is scattered
    in blocks much smaller than its sum.
    """

    arena_id: str
    total_bytes: int = Field(ge=0)
    used_bytes: int = Field(ge=0, description="Bytes in allocated blocks (block sizes).")
    free_bytes: int = Field(ge=0)
    requested_bytes: int = Field(
        ge=0, description="Bytes clients asked for; used - requested is internal fragmentation."
    )
    largest_free_block_bytes: int = Field(ge=0)
    min_block_bytes: int = Field(gt=0)
    block_count: int = Field(ge=0, description="Live allocations.")
    owner_count: int = Field(ge=0, description="Clients holding at least one block.")
    fragmentation_ratio: float = Field(ge=0.0, le=1.0)
    failed_allocations: int = Field(ge=0, description="Allocation requests that were refused.")
    locked: bool = Field(description="True when the arena is page-locked (mlock).")
    lock_reason: str | None = Field(default=None, description="Why the arena is not locked.")
    cuda_registered: bool = Field(description="True when registered as CUDA pinned host memory.")
    cuda_backend: str | None = Field(default=None, description="cudart or cuda-driver.")
    cuda_reason: str | None = Field(default=None, description="Why it is not registered.")
    cuda_registered_at: float | None = Field(
        default=None,
        description="When it was registered with CUDA (seconds since the epoch); registration "
        "waits for the first client that uses a GPU, so it is null until then.",
    )
    cuda_requested_by: str | None = Field(
        default=None,
        description="The client whose registration as a GPU user led to the (single) attempt "
        "to register with CUDA; null while no such client came.",
    )
