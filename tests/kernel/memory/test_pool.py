"""PinnedPool in one process: allocation, ownership, errors, stats, views, close, threads."""

from __future__ import annotations

import fcntl
import itertools
import mmap
import os
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ainos.errors import (
    AinosError,
    HandleNotOwned,
    InvalidAllocationSize,
    InvalidArgument,
    InvalidHandle,
    PoolClosed,
    PoolExhausted,
)
from ainos.kernel.memory import MemoryPoolStats, PinnedHandle, PinnedPool
from ainos.kernel.memory import _pool as pool_module

PAGE = 4096
MiB = 1 << 20


@pytest.fixture
def pool() -> Iterator[PinnedPool]:
    with PinnedPool(MiB, cuda=False) as pool:
        yield pool


def _memfd_links() -> list[str]:
    links = []
    for entry in Path("/proc/self/fd").iterdir():
        try:
            links.append(os.readlink(entry))
        except OSError:  # the listing's own descriptor, gone by now
            continue
    return links


def test_alloc_returns_an_aligned_handle_and_stats_follow(pool: PinnedPool) -> None:
    handle = pool.alloc(10_000, "client-a")
    assert handle.owner == "client-a"
    assert handle.arena_id == pool.arena_id
    assert handle.size == 10_000
    assert handle.block_size == 16_384
    assert handle.offset % PAGE == 0
    stats = pool.stats()
    assert stats.total_bytes == MiB
    assert stats.used_bytes == 16_384
    assert stats.free_bytes == MiB - 16_384
    assert stats.requested_bytes == 10_000
    assert stats.block_count == 1
    assert stats.owner_count == 1
    assert stats.failed_allocations == 0
    assert stats.largest_free_block_bytes == MiB // 2
    assert stats.fragmentation_ratio == pytest.approx(1 - (MiB // 2) / (MiB - 16_384))


def test_fragmentation_ratio_is_measured_from_free_blocks(pool: PinnedPool) -> None:
    handles = [pool.alloc(PAGE, "a") for _ in range(64)]  # a quarter of the arena, page by page
    for handle in handles[::2]:
        pool.free(handle, "a")
    stats = pool.stats()
    free = MiB - 32 * PAGE
    assert stats.free_bytes == free
    assert stats.largest_free_block_bytes == MiB // 2
    assert stats.fragmentation_ratio == pytest.approx(1 - (MiB // 2) / free)
    for handle in handles[1::2]:
        pool.free(handle, "a")
    stats = pool.stats()
    assert stats.fragmentation_ratio == 0.0
    assert stats.largest_free_block_bytes == MiB


@pytest.mark.parametrize("size", [0, -1, -PAGE, True, 2.0, "4096", 2 * MiB, MiB + 1])
def test_bad_sizes_are_refused_and_counted(pool: PinnedPool, size: int) -> None:
    with pytest.raises(InvalidAllocationSize) as caught:
        pool.alloc(size, "a")
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.exit_code == 2
    assert pool.stats().failed_allocations == 1


def test_numpy_integer_sizes_are_accepted(pool: PinnedPool) -> None:
    assert pool.alloc(np.int64(5000), "a").size == 5000  # type: ignore[arg-type]


def test_empty_owner_is_refused(pool: PinnedPool) -> None:
    with pytest.raises(InvalidArgument, match="owner"):
        pool.alloc(PAGE, "")


def test_exhaustion_is_a_clear_error_and_recovers(pool: PinnedPool) -> None:
    big = pool.alloc(MiB // 2 + 1, "a")  # rounds up to the whole arena
    assert big.block_size == MiB
    with pytest.raises(PoolExhausted, match="no free block for 4096 bytes: 0 bytes free"):
        pool.alloc(PAGE, "b")
    assert pool.stats().failed_allocations == 1
    pool.free(big, "a")
    assert pool.alloc(PAGE, "b").offset == 0


def test_free_by_another_owner_is_refused_and_keeps_the_block(pool: PinnedPool) -> None:
    handle = pool.alloc(PAGE, "a")
    with pytest.raises(HandleNotOwned, match="belongs to 'a', not 'b'"):
        pool.free(handle, "b")
    assert pool.handles() == [handle]
    pool.free(handle, "a")
    assert pool.handles() == []


def test_double_free_is_refused(pool: PinnedPool) -> None:
    handle = pool.alloc(PAGE, "a")
    pool.free(handle, "a")
    with pytest.raises(InvalidHandle, match="already freed"):
        pool.free(handle, "a")
    # The same offset handed out again does not revive the old handle.
    again = pool.alloc(PAGE, "a")
    assert again.offset == handle.offset
    with pytest.raises(InvalidHandle, match="already freed"):
        pool.free(handle, "a")
    assert pool.stats().block_count == 1


def test_forged_and_foreign_handles_are_refused(pool: PinnedPool) -> None:
    handle = pool.alloc(PAGE, "a")
    forged = handle.model_copy(update={"offset": handle.offset + PAGE})
    with pytest.raises(InvalidHandle, match="does not match"):
        pool.free(forged, "a")
    claimed = handle.model_copy(update={"owner": "b"})
    with pytest.raises(InvalidHandle, match="does not match"):
        pool.free(claimed, "b")
    with PinnedPool(MiB, cuda=False) as other:
        foreign = other.alloc(PAGE, "a")
        with pytest.raises(InvalidHandle, match="belongs to arena"):
            pool.free(foreign, "a")
        with pytest.raises(InvalidHandle, match="belongs to arena"):
            pool.view(foreign)


def test_free_owner_releases_only_that_owner(pool: PinnedPool) -> None:
    mine = [pool.alloc(PAGE * (i + 1), "dead-client") for i in range(5)]
    kept = pool.alloc(PAGE, "live-client")
    freed = pool.free_owner("dead-client")
    assert freed == mine
    assert pool.handles() == [kept]
    assert pool.handles("dead-client") == []
    assert pool.free_owner("dead-client") == []
    assert pool.free_owner("never-seen") == []
    stats = pool.stats()
    assert (stats.block_count, stats.owner_count, stats.used_bytes) == (1, 1, PAGE)


def test_views_share_the_arena_without_copies(pool: PinnedPool) -> None:
    handle = pool.alloc(3 * 4 * 100, "a")
    array = pool.array(handle, np.float32, (3, 100))
    array[:] = np.arange(300, dtype=np.float32).reshape(3, 100)
    view = pool.view(handle)
    assert isinstance(view.obj, mmap.mmap)  # a window on the shared mapping, not a copy
    assert len(view) == handle.size
    assert np.frombuffer(view, np.float32)[299] == 299.0
    view[:4] = np.float32(-1.0).tobytes()
    assert array[0, 0] == -1.0
    flat = pool.array(handle, np.float64)
    assert flat.shape == (150,)
    with pytest.raises(InvalidArgument, match="needs 2400 bytes"):
        pool.array(handle, np.float64, (300,))
    pool.free(handle, "a")
    with pytest.raises(InvalidHandle):
        pool.view(handle)


def test_size_rounds_up_to_whole_blocks_and_non_power_of_two_seeds() -> None:
    with PinnedPool(12 * PAGE - 100, cuda=False) as pool:
        stats = pool.stats()
        assert stats.total_bytes == 12 * PAGE
        assert pool.max_alloc_bytes == 8 * PAGE
        assert stats.fragmentation_ratio == pytest.approx(1 - 8 / 12)
        with pytest.raises(InvalidAllocationSize, match="largest block"):
            pool.alloc(9 * PAGE, "a")


@pytest.mark.parametrize(("size", "min_block"), [(0, PAGE), (-5, PAGE), (MiB, 1000), (MiB, 512)])
def test_bad_geometry_is_refused(size: int, min_block: int) -> None:
    with pytest.raises(InvalidArgument):
        PinnedPool(size, min_block=min_block, cuda=False)


def test_arena_is_a_sealed_memfd(pool: PinnedPool) -> None:
    assert pool.sealed
    seals = fcntl.fcntl(pool.fd, fcntl.F_GET_SEALS)
    assert seals & fcntl.F_SEAL_SHRINK
    assert seals & fcntl.F_SEAL_GROW
    with pytest.raises(PermissionError):
        os.ftruncate(pool.fd, PAGE)
    assert os.readlink(f"/proc/self/fd/{pool.fd}").startswith(f"/memfd:ainos-arena-{pool.arena_id}")
    assert not os.get_inheritable(pool.fd)


def test_close_is_idempotent_and_releases_the_memfd() -> None:
    pool = PinnedPool(MiB, cuda=False)
    handle = pool.alloc(PAGE, "a")
    kept = pool.array(handle)
    kept[:] = 7
    name = f"/memfd:ainos-arena-{pool.arena_id}"
    pool.close()
    pool.close()
    assert pool.closed
    # A view taken before close stays valid memory; the mapping goes with the last view.
    assert int(kept.sum()) == 7 * PAGE
    for call in (lambda: pool.alloc(PAGE, "a"), lambda: pool.free(handle, "a"), lambda: pool.fd):
        with pytest.raises(PoolClosed):
            call()
    stats = pool.stats()
    assert not stats.locked
    assert stats.lock_reason == "pool closed"
    del kept
    assert not any(link.startswith(name) for link in _memfd_links())


def test_stats_is_a_wire_record(pool: PinnedPool) -> None:
    pool.alloc(5000, "a")
    stats = pool.stats()
    assert MemoryPoolStats.model_validate_json(stats.to_json()) == stats
    handle = pool.handles()[0]
    assert PinnedHandle.model_validate_json(handle.to_json()) == handle
    assert isinstance(PoolExhausted("x"), AinosError)


def test_concurrent_clients_never_share_bytes() -> None:
    """Threads allocate, fill, verify and free; any overlap would corrupt a fill."""
    errors: list[BaseException] = []

    def client(pool: PinnedPool, name: str, seed: int) -> None:
        rng = random.Random(seed)
        held: list[tuple[PinnedHandle, int]] = []
        try:
            for step in range(400):
                if held and (rng.random() < 0.45 or len(held) > 12):
                    handle, mark = held.pop(rng.randrange(len(held)))
                    assert np.all(pool.array(handle) == mark), "a block was overwritten"
                    pool.free(handle, name)
                    continue
                try:
                    handle = pool.alloc(rng.randint(1, 12 * PAGE), name)
                except PoolExhausted:
                    continue
                mark = (seed * 31 + step) % 251
                pool.array(handle)[:] = mark
                held.append((handle, mark))
            for handle, mark in held:
                assert np.all(pool.array(handle) == mark), "a block was overwritten"
        except BaseException as error:
            errors.append(error)

    with PinnedPool(MiB, cuda=False) as pool:
        threads = [threading.Thread(target=client, args=(pool, f"client-{i}", i)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        for i in range(6):
            pool.free_owner(f"client-{i}")
        stats = pool.stats()
        assert (stats.used_bytes, stats.block_count, stats.owner_count) == (0, 0, 0)
        assert stats.largest_free_block_bytes == stats.total_bytes


OWNERS = ("a", "b", "c")


class PoolMachine(RuleBasedStateMachine):
    """Owners allocate, free, misuse handles and disappear; the pool must match a model."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = PinnedPool(64 * PAGE, cuda=False)
        self.live: dict[int, PinnedHandle] = {}
        self.freed: list[PinnedHandle] = []
        self.failed = 0

    @rule(size=st.integers(-2, 70 * PAGE), owner=st.sampled_from(OWNERS))
    def alloc(self, size: int, owner: str) -> None:
        try:
            handle = self.pool.alloc(size, owner)
        except InvalidAllocationSize:
            assert size <= 0 or size > 64 * PAGE
            self.failed += 1
            return
        except PoolExhausted:
            assert self.pool.stats().largest_free_block_bytes < size
            self.failed += 1
            return
        assert handle.handle_id not in self.live
        self.pool.view(handle)[:] = bytes([handle.handle_id % 256]) * handle.size
        self.live[handle.handle_id] = handle

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        handle = self.live.pop(data.draw(st.sampled_from(sorted(self.live))))
        self.pool.free(handle, handle.owner)
        self.freed.append(handle)

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data(), intruder=st.sampled_from(OWNERS))
    def free_as_someone_else(self, data: st.DataObject, intruder: str) -> None:
        handle = self.live[data.draw(st.sampled_from(sorted(self.live)))]
        if intruder == handle.owner:
            return
        with pytest.raises(HandleNotOwned):
            self.pool.free(handle, intruder)

    @precondition(lambda self: bool(self.freed))
    @rule(data=st.data())
    def double_free(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.freed))
        with pytest.raises(InvalidHandle):
            self.pool.free(handle, handle.owner)

    @rule(owner=st.sampled_from(OWNERS))
    def owner_dies(self, owner: str) -> None:
        expected = sorted(
            (h for h in self.live.values() if h.owner == owner), key=lambda h: h.handle_id
        )
        assert self.pool.free_owner(owner) == expected
        for handle in expected:
            del self.live[handle.handle_id]
        self.freed.extend(expected)

    @invariant()
    def stats_match_the_model(self) -> None:
        stats = self.pool.stats()
        assert stats.used_bytes + stats.free_bytes == stats.total_bytes
        assert stats.used_bytes == sum(h.block_size for h in self.live.values())
        assert stats.requested_bytes == sum(h.size for h in self.live.values())
        assert stats.block_count == len(self.live)
        assert stats.owner_count == len({h.owner for h in self.live.values()})
        assert stats.failed_allocations == self.failed
        expected_ratio = (
            1 - stats.largest_free_block_bytes / stats.free_bytes if stats.free_bytes else 0
        )
        assert stats.fragmentation_ratio == pytest.approx(expected_ratio)
        if not self.live:
            assert stats.largest_free_block_bytes == stats.total_bytes

    @invariant()
    def blocks_are_disjoint_and_intact(self) -> None:
        spans = sorted((h.offset, h.offset + h.block_size) for h in self.live.values())
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start
        for handle in self.live.values():
            assert handle.offset % handle.block_size == 0
            assert bytes(self.pool.view(handle)) == bytes([handle.handle_id % 256]) * handle.size

    def teardown(self) -> None:
        self.pool.close()


PoolMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPoolStateful = PoolMachine.TestCase


def test_a_freed_block_comes_back_zeroed() -> None:
    with PinnedPool(MiB, lock=False, cuda=False) as pool:
        first = pool.alloc(4096, "a")
        pool.view(first)[:] = b"\xab" * 4096
        pool.free(first, "a")
        second = pool.alloc(4096, "b")
        assert second.offset == first.offset  # the same block, handed to someone else
        assert bytes(pool.view(second)) == bytes(4096)


# -- clearing outside the lock -----------------------------------------------------------------

HANG_GUARD = 30.0  # seconds; only ever reached when something is broken


class _HeldClears:
    """Replaces the pool's zeroing: each clear announces itself, then waits for ``release``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.cleared: list[tuple[int, int]] = []
        real = pool_module._zero

        def held(address: int, size: int) -> None:
            self.entered.release()
            assert self.release.wait(HANG_GUARD), "a clear was held past the hang guard"
            real(address, size)
            self.cleared.append((address, size))

        monkeypatch.setattr(pool_module, "_zero", held)

    def wait_entered(self, count: int = 1) -> None:
        for _ in range(count):
            assert self.entered.acquire(timeout=HANG_GUARD), "no clear started"


def _in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``target`` on a daemon thread; the list gets its result or the exception raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(target())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _finished(thread: threading.Thread, outcome: list[object]) -> object:
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the call waited for a clear running on another thread"
    assert len(outcome) == 1
    return outcome[0]


def test_a_clear_does_not_hold_up_other_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    held = _HeldClears(monkeypatch)
    with PinnedPool(MiB, lock=False, cuda=False) as pool:
        big = pool.alloc(MiB // 2, "a")
        pool.array(big)[:] = 0xAB
        freer, freed = _in_thread(lambda: pool.free(big, "a"))
        try:
            held.wait_entered()
            # While the big block is being cleared, the rest of the pool keeps working.
            small = _finished(*_in_thread(lambda: pool.alloc(PAGE, "b")))
            assert isinstance(small, PinnedHandle)
            assert small.offset >= MiB // 2  # not inside the block being cleared
            stats = _finished(*_in_thread(pool.stats))
            assert isinstance(stats, MemoryPoolStats)
            # Bytes being cleared are not free and belong to nobody.
            assert stats.used_bytes == MiB // 2 + PAGE
            assert stats.free_bytes == MiB // 2 - PAGE
            assert (stats.block_count, stats.owner_count, stats.requested_bytes) == (1, 1, PAGE)
            assert _finished(*_in_thread(pool.handles)) == [small]
            with pytest.raises(InvalidHandle, match="not live"):
                pool.view(big)
        finally:
            held.release.set()
        assert _finished(freer, freed) is None
        assert held.cleared == [(pool._arena.address + big.offset, MiB // 2)]
        stats = pool.stats()
        assert (stats.used_bytes, stats.block_count) == (PAGE, 1)
        assert bytes(pool.view(pool.alloc(MiB // 2, "c"))) == bytes(MiB // 2)


class _SignallingCondition(threading.Condition):
    """A Condition that tells the test when someone starts waiting on it."""

    def __init__(self, lock: threading.Lock, waiting: threading.Event) -> None:
        super().__init__(lock)
        self._waiting = waiting

    def wait(self, timeout: float | None = None) -> bool:
        self._waiting.set()
        return super().wait(timeout)


def test_alloc_waits_for_a_clear_it_needs_and_gets_zeroes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = _HeldClears(monkeypatch)
    with PinnedPool(MiB, lock=False, cuda=False) as pool:
        waiting = threading.Event()
        pool._cleared = _SignallingCondition(pool._mutex, waiting)
        whole = pool.alloc(MiB, "a")
        pool.array(whole)[:] = 0xCD
        freer, freed = _in_thread(lambda: pool.free(whole, "a"))
        try:
            held.wait_entered()
            # The only memory that fits is being cleared: the request waits, it does not fail.
            allocator, allocated = _in_thread(lambda: pool.alloc(MiB, "b"))
            assert waiting.wait(HANG_GUARD), "alloc neither waited nor failed"
            assert not allocated
        finally:
            held.release.set()
        assert _finished(freer, freed) is None
        again = _finished(allocator, allocated)
        assert isinstance(again, PinnedHandle)
        assert again.offset == whole.offset
        assert bytes(pool.view(again)) == bytes(MiB)  # nothing of the first client is left
        assert pool.stats().failed_allocations == 0


def test_alloc_still_fails_when_the_arena_is_really_full(pool: PinnedPool) -> None:
    pool.alloc(MiB // 2, "a")
    pool.alloc(MiB // 4, "a")
    with pytest.raises(PoolExhausted):
        pool.alloc(MiB // 2, "b")  # nothing is being cleared: no wait, just the error
    assert pool.stats().failed_allocations == 1


def test_free_owner_clears_every_block_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    held = _HeldClears(monkeypatch)
    with PinnedPool(MiB, lock=False, cuda=False) as pool:
        dead = [pool.alloc(PAGE * (i + 1), "dead") for i in range(4)]
        for handle in dead:
            pool.array(handle)[:] = 0xEF
        freer, freed = _in_thread(lambda: pool.free_owner("dead"))
        try:
            held.wait_entered()  # the first of the dead client's blocks is being cleared
            live = _finished(*_in_thread(lambda: pool.alloc(PAGE, "live")))
            assert isinstance(live, PinnedHandle)
            stats = _finished(*_in_thread(pool.stats))
            assert isinstance(stats, MemoryPoolStats)
            assert (stats.block_count, stats.owner_count) == (1, 1)
            assert pool.handles("dead") == []
        finally:
            held.release.set()
        assert _finished(freer, freed) == dead
        assert sorted(size for _, size in held.cleared) == sorted(h.block_size for h in dead)
        pool.free(live, "live")
        stats = pool.stats()
        assert (stats.used_bytes, stats.block_count, stats.owner_count) == (0, 0, 0)
        assert stats.largest_free_block_bytes == MiB
        assert bytes(pool.view(pool.alloc(MiB, "next"))) == bytes(MiB)


def test_close_waits_for_a_clear_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = PinnedPool(MiB, lock=False, cuda=False)
    arena = pool._arena
    mapped_when_written: list[bool] = []
    real = pool_module._zero

    def checked(address: int, size: int) -> None:
        mapped_when_written.append(not arena.closed)
        real(address, size)  # would fault, or scribble on reused memory, had close unmapped

    monkeypatch.setattr(pool_module, "_zero", checked)
    held = _HeldClears(monkeypatch)  # holds each clear, then runs ``checked``
    waiting = threading.Event()
    pool._cleared = _SignallingCondition(pool._mutex, waiting)
    big = pool.alloc(MiB // 2, "a")
    freer, freed = _in_thread(lambda: pool.free(big, "a"))
    try:
        held.wait_entered()
        closer, closed = _in_thread(pool.close)
        assert waiting.wait(HANG_GUARD), "close did not wait for the clear"
        assert pool.closed  # refuses new work while it waits
        with pytest.raises(PoolClosed):
            pool.alloc(PAGE, "b")
        with pytest.raises(PoolClosed):
            pool.free_owner("a")
        assert not arena.closed
    finally:
        held.release.set()
    assert _finished(freer, freed) is None
    assert _finished(closer, closed) is None
    assert mapped_when_written == [True]
    assert arena.closed
    pool.close()  # still idempotent
