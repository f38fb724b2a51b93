"""The buddy allocator's invariants under random allocate/free sequences (stateful hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ainos.kernel.memory import BuddyAllocator

PAGE = 4096


class BuddyMachine(RuleBasedStateMachine):
    """A model of live blocks checked against the allocator after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.allocator = BuddyAllocator(PAGE, PAGE)
        self.live: dict[int, tuple[int, int]] = {}  # offset -> (block size, requested)
        self.seeds: list[tuple[int, int]] = []

    @initialize(pages=st.one_of(st.sampled_from([1, 2, 64, 256]), st.integers(1, 300)))
    def create(self, pages: int) -> None:
        self.allocator = BuddyAllocator(pages * PAGE, PAGE)
        self.seeds = self.allocator.free_blocks()

    @rule(size=st.one_of(st.integers(1, 3 * PAGE), st.integers(1, 320 * PAGE)))
    def allocate(self, size: int) -> None:
        needed = self.allocator.block_size(self.allocator.order_for(size))
        largest_before = self.allocator.largest_free_block
        got = self.allocator.allocate(size)
        if got is None:
            # Refused only when no free block is big enough.
            assert largest_before < needed
            return
        offset, block = got
        assert block == needed
        assert block >= size
        assert block == PAGE or block < 2 * size  # the smallest power of two that fits
        assert offset % block == 0  # naturally aligned
        assert offset % PAGE == 0
        assert offset not in self.live
        self.live[offset] = (block, size)

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        offset = data.draw(st.sampled_from(sorted(self.live)))
        block, _ = self.live.pop(offset)
        assert self.allocator.free(offset) == block

    @rule(offset=st.integers(0, 300 * PAGE))
    def free_unknown(self, offset: int) -> None:
        if offset in self.live:
            return
        with pytest.raises(ValueError, match="no allocated block"):
            self.allocator.free(offset)

    @precondition(lambda self: bool(self.live))
    @rule()
    def free_everything(self) -> None:
        for offset in list(self.live):
            self.allocator.free(offset)
        self.live.clear()
        # Coalescing restores the initial blocks: one block when the size is a power of two.
        assert self.allocator.free_blocks() == self.seeds
        pages = self.allocator.total // PAGE
        if pages & (pages - 1) == 0:
            assert self.allocator.free_blocks() == [(0, self.allocator.total)]

    @invariant()
    def no_bytes_lost(self) -> None:
        allocator = self.allocator
        assert allocator.used_bytes + allocator.free_bytes == allocator.total
        assert allocator.used_bytes == sum(block for block, _ in self.live.values())
        assert allocator.allocated_count == len(self.live)

    @invariant()
    def blocks_tile_the_arena(self) -> None:
        allocated = self.allocator.allocated_blocks()
        assert allocated == sorted((offset, block) for offset, (block, _) in self.live.items())
        cursor = 0
        for offset, size in sorted(allocated + self.allocator.free_blocks()):
            assert offset == cursor, "a gap or an overlap between blocks"
            cursor = offset + size
        assert cursor == self.allocator.total

    @invariant()
    def free_buddies_are_merged(self) -> None:
        free = set(self.allocator.free_blocks())
        for offset, size in free:
            merged_size = 2 * size
            base = offset & ~(merged_size - 1)
            merged_fits = base + merged_size <= self.allocator.total
            buddy = (offset ^ size, size)
            assert not (merged_fits and buddy in free), f"free buddies left unmerged at {offset}"

    @invariant()
    def largest_free_block_is_measured(self) -> None:
        sizes = [size for _, size in self.allocator.free_blocks()]
        assert self.allocator.largest_free_block == max(sizes, default=0)


BuddyMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBuddyAllocator = BuddyMachine.TestCase


def test_non_power_of_two_arena_is_seeded_with_aligned_blocks() -> None:
    allocator = BuddyAllocator(12 * PAGE, PAGE)
    assert allocator.free_blocks() == [(0, 8 * PAGE), (8 * PAGE, 4 * PAGE)]
    assert allocator.max_block == 8 * PAGE
    assert allocator.allocate(9 * PAGE) is None


def test_lowest_address_first_keeps_large_blocks_whole() -> None:
    allocator = BuddyAllocator(16 * PAGE, PAGE)
    offsets = [allocator.allocate(PAGE) for _ in range(3)]
    assert offsets == [(0, PAGE), (PAGE, PAGE), (2 * PAGE, PAGE)]
    assert allocator.largest_free_block == 8 * PAGE


@pytest.mark.parametrize(("total", "min_block"), [(0, PAGE), (PAGE + 1, PAGE), (PAGE, 3000)])
def test_rejects_bad_geometry(total: int, min_block: int) -> None:
    with pytest.raises(ValueError, match="must be a positive"):
        BuddyAllocator(total, min_block)


def test_rejects_non_positive_sizes() -> None:
    allocator = BuddyAllocator(4 * PAGE, PAGE)
    with pytest.raises(ValueError, match="positive"):
        allocator.allocate(0)
