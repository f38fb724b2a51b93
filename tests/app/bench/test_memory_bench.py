"""The memory benchmark in a tiny configuration: structure and sanity, never timings."""

from __future__ import annotations

import json
import math

from ainos.app.bench.memory import run_memory_bench


def test_tiny_memory_bench_reports_both_comparisons() -> None:
    steps: list[tuple[str, float]] = []
    result = run_memory_bench(
        quick=True,
        tensor_bytes=1 << 20,
        alloc_sizes=(4096, 64 * 1024),
        alloc_seconds=0.02,
        handoff_rounds=2,
        arena_bytes=4 << 20,
        progress=lambda step, fraction: steps.append((step, fraction)),
    )
    assert result.quick
    assert result.arena_bytes == 4 << 20
    assert result.locked or result.lock_reason
    assert [row.size_bytes for row in result.alloc] == [4096, 64 * 1024]
    for row in result.alloc:
        for rate in (row.pool_per_second, row.bytearray_per_second, row.mmap_per_second):
            assert math.isfinite(rate)
            assert rate > 0
    handoff = result.handoff
    assert handoff is not None
    assert handoff.tensor_bytes == 1 << 20
    assert handoff.rounds == 2
    assert handoff.bytes_verified  # the receiver hashed what it held, both ways
    for seconds in (
        handoff.zero_copy_seconds,
        handoff.pickle_pipe_seconds,
        handoff.stage_copy_seconds,
    ):
        assert 0 < seconds < 60
    assert steps[-1] == ("done", 1.0)
    assert [fraction for _, fraction in steps] == sorted(fraction for _, fraction in steps)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["benchmark"] == "memory"
    assert document["handoff"]["bytes_verified"] is True
    assert len(document["alloc"]) == 2
    assert {"speedup_vs_bytearray", "speedup_vs_mmap"} <= set(document["alloc"][0])
