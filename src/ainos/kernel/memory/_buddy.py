"""A binary buddy allocator over offsets: pure bookkeeping, no memory, no locking.

Blocks are ``min_block << order`` bytes and sit at offsets that are multiples of their own
size, so every block is naturally aligned. A freed block merges with its buddy (the block at
``offset ^ size``) whenever that buddy is free at the same order, repeatedly, so freeing
everything always restores the initial free blocks.

An arena whose size is not ``min_block`` times a power of two is seeded with the largest
aligned power-of-two blocks that tile it (e.g. 12 pages → 8 + 4); those seeds never merge with
each other, which caps the largest possible allocation at the largest seed.

Within an order the lowest free offset is handed out first (a heap with lazy deletion next to
the set that is the truth), which keeps live blocks packed at the low end of the arena and
large blocks intact at the high end.
"""

from __future__ import annotations

import heapq

__all__ = ["BuddyAllocator"]


class BuddyAllocator:
    """Allocate and free power-of-two blocks of a ``total``-byte range."""

    def __init__(self, total: int, min_block: int) -> None:
        if min_block <= 0 or min_block & (min_block - 1):
            raise ValueError(f"min_block must be a positive power of two, not {min_block}")
        if total <= 0 or total % min_block:
            raise ValueError(f"total must be a positive multiple of {min_block}, not {total}")
        self._min_block = min_block
        self._total = total
        units = total // min_block
        self._max_order = units.bit_length() - 1
        self._free_sets: list[set[int]] = [set() for _ in range(self._max_order + 1)]
        self._free_heaps: list[list[int]] = [[] for _ in range(self._max_order + 1)]
        self._allocated: dict[int, int] = {}  # offset -> order
        self._free_bytes = 0
        self._largest_seed_order = 0
        offset = 0
        while offset < total:
            order = self._seed_order(offset)
            self._largest_seed_order = max(self._largest_seed_order, order)
            self._push(order, offset)
            offset += self.block_size(order)

    def _seed_order(self, offset: int) -> int:
        unit = offset // self._min_block
        remaining = (self._total - offset) // self._min_block
        order = remaining.bit_length() - 1
        if unit:
            # The block must be aligned to its own size: no larger than unit's lowest set bit.
            order = min(order, (unit & -unit).bit_length() - 1)
        return order

    @property
    def total(self) -> int:
        return self._total

    @property
    def min_block(self) -> int:
        return self._min_block

    @property
    def max_block(self) -> int:
        """The largest block this allocator can ever hand out."""
        return self.block_size(self._largest_seed_order)

    @property
    def free_bytes(self) -> int:
        return self._free_bytes

    @property
    def used_bytes(self) -> int:
        return self._total - self._free_bytes

    @property
    def allocated_count(self) -> int:
        return len(self._allocated)

    @property
    def largest_free_block(self) -> int:
        for order in range(self._max_order, -1, -1):
            if self._free_sets[order]:
                return self.block_size(order)
        return 0

    def block_size(self, order: int) -> int:
        return self._min_block << order

    def order_for(self, size: int) -> int:
        """The smallest order whose block holds ``size`` bytes."""
        units = -(-size // self._min_block)
        return (units - 1).bit_length()

    def allocate(self, size: int) -> tuple[int, int] | None:
        """Reserve a block for ``size`` bytes: ``(offset, block_size)``, or None when full."""
        if size <= 0:
            raise ValueError(f"size must be positive, not {size}")
        want = self.order_for(size)
        sets = self._free_sets
        order = want
        while order <= self._max_order and not sets[order]:
            order += 1
        if order > self._max_order:
            return None
        offset = self._pop_lowest(order)
        heaps, min_block = self._free_heaps, self._min_block
        while order > want:  # split, keeping the low half and freeing the high half
            order -= 1
            high = offset + (min_block << order)
            sets[order].add(high)
            heapq.heappush(heaps[order], high)
        self._free_bytes -= min_block << want
        self._allocated[offset] = want
        return offset, min_block << want

    def free(self, offset: int) -> int:
        """Release the block at ``offset``; returns its size. Unknown offsets are ValueError."""
        order = self._allocated.pop(offset, None)
        if order is None:
            raise ValueError(f"no allocated block at offset {offset}")
        size = self._min_block << order
        self._free_bytes += size
        sets, min_block = self._free_sets, self._min_block
        while order < self._max_order:
            buddy = offset ^ (min_block << order)
            free = sets[order]
            if buddy not in free:
                break
            free.remove(buddy)  # its heap entry goes stale; _pop_lowest skips it
            heap = self._free_heaps[order]
            if len(heap) > 2 * len(free) + 32:
                heap[:] = sorted(free)  # stale entries would otherwise pile up
            offset = min(offset, buddy)
            order += 1
        sets[order].add(offset)
        heapq.heappush(self._free_heaps[order], offset)
        return size

    def free_blocks(self) -> list[tuple[int, int]]:
        """Every free block as ``(offset, size)``, by offset."""
        return sorted(
            (offset, self.block_size(order))
            for order, offsets in enumerate(self._free_sets)
            for offset in offsets
        )

    def allocated_blocks(self) -> list[tuple[int, int]]:
        """Every live block as ``(offset, size)``, by offset."""
        return sorted((offset, self.block_size(order)) for offset, order in self._allocated.items())

    def _push(self, order: int, offset: int) -> None:
        self._free_sets[order].add(offset)
        heapq.heappush(self._free_heaps[order], offset)
        self._free_bytes += self.block_size(order)

    def _pop_lowest(self, order: int) -> int:
        """Take the lowest free block of ``order``; does not touch ``_free_bytes``."""
        heap = self._free_heaps[order]
        free = self._free_sets[order]
        while True:
            offset = heapq.heappop(heap)
            if offset in free:
                free.remove(offset)
                return offset
