"""The method table in-process (embedded mode): the same services the daemon serves."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from ainos.errors import HandleNotOwned, InvalidArgument, NotFound
from ainos.kernel.control import EmbeddedClient, KernelServices, ServicesConfig
from ainos.protocol import JobRequirements
from ainos.protocol.control import IOCTL_METHODS, METHODS
from ainos.protocol.scheduler import JobState, Priority

MIB = 1024 * 1024


@pytest.fixture
def services() -> Iterator[KernelServices]:
    with KernelServices(ServicesConfig(pool_bytes=4 * MIB, lock_pool=False)) as running:
        yield running


@pytest.fixture
def client(services: KernelServices) -> Iterator[EmbeddedClient]:
    with EmbeddedClient(services) as embedded:
        yield embedded


def test_every_driver_ioctl_has_a_method() -> None:
    assert set(IOCTL_METHODS) == {
        "IOCTL_AI_GET_STATS",
        "IOCTL_AI_SET_GPU_UTIL",
        "IOCTL_AI_BOOST_PRIORITY",
        "IOCTL_AI_GET_GPU_STATUS",
        "IOCTL_AI_GET_MEMORY_POOL",
        "IOCTL_AI_GET_SCHEDULER_STATS",
        "IOCTL_AI_ALLOC_PINNED",
        "IOCTL_AI_FREE_PINNED",
        "IOCTL_AI_REGISTER_WINAI_RUNTIME",
        "IOCTL_AI_GET_OPTIMIZED_GPU_PATH",
    }
    assert all(hasattr(KernelServices, method) for method in METHODS)


def test_version_says_embedded(client: EmbeddedClient) -> None:
    version = client.version()
    assert version.embedded
    assert version.pid == os.getpid()


def test_stats_are_measured(client: EmbeddedClient) -> None:
    stats = client.get_stats()
    assert stats.devices.cpu.memory_total_bytes > 0
    assert stats.clients == 1
    assert stats.memory_pool is not None
    assert stats.memory_pool.total_bytes == 4 * MIB
    assert stats.scheduler is not None
    assert client.get_gpu_status().gpus == []


def test_pinned_blocks_are_owned_by_their_session(
    services: KernelServices, client: EmbeddedClient
) -> None:
    handle = client.alloc_pinned(10_000)
    assert client.get_memory_pool().block_count == 1
    with EmbeddedClient(services) as other:
        with pytest.raises(HandleNotOwned):
            other.free_pinned(handle.handle_id)
        other.alloc_pinned(4096)
        assert client.get_memory_pool().block_count == 2
    # the other session closed: its block went with it
    assert client.get_memory_pool().block_count == 1
    freed = client.free_pinned(handle.handle_id)
    assert freed.freed_bytes == handle.block_size
    with pytest.raises(NotFound):
        client.free_pinned(handle.handle_id)


def test_a_session_closing_while_the_pool_closes_leaves_quietly(
    services: KernelServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = EmbeddedClient(services)
    client.alloc_pinned(4096)
    free_owner = services.pool.free_owner

    def pool_closes_first(owner: str) -> list[Any]:
        services.pool.close()  # the daemon's shutdown wins the race
        return free_owner(owner)

    monkeypatch.setattr(services.pool, "free_owner", pool_closes_first)
    client.close()  # raised PoolClosed when the pool closed between check and call
    assert services.pool.closed


def test_a_job_reads_pinned_memory_written_through_a_mapping(client: EmbeddedClient) -> None:
    handle = client.alloc_pinned(64)
    with client.attach_pool() as mapping:
        mapping.view(handle)[:5] = b"hello"
    job = client.run("pinned.read", {"handle_id": handle.handle_id, "length": 5, "encoding": "hex"})
    assert job.state == JobState.COMPLETED
    assert job.result == b"hello".hex()


def test_jobs_complete_fail_and_cancel(client: EmbeddedClient) -> None:
    assert client.run("echo", {"value": [1, "two"]}).result == [1, "two"]
    long = client.submit("sleep", {"ms": 30_000}, priority=Priority.BATCH)
    cancelled = client.cancel(long.job_id)
    assert cancelled.state == JobState.CANCELLED
    late = client.run("sleep", {"ms": 2_000}, deadline_ms=50)
    assert late.state == JobState.DEADLINE_EXCEEDED
    assert late.error_type == "DeadlineExceeded"
    assert client.run("noop").state == JobState.COMPLETED  # still usable


def test_bad_jobs_are_clear_errors(client: EmbeddedClient) -> None:
    with pytest.raises(NotFound, match="no operation 'nope'"):
        client.submit("nope")
    with pytest.raises(InvalidArgument, match="'ms' must be a number"):
        client.submit("sleep", {"ms": "soon"})
    with pytest.raises(InvalidArgument, match="size"):
        client.alloc_pinned(0)
    with pytest.raises(NotFound, match="no job"):
        client.job_status("0123456789abcdef")


def test_registration_and_boost(client: EmbeddedClient, services: KernelServices) -> None:
    registration = client.register_runtime("tester", "onnxruntime", Priority.INTERACTIVE)
    assert registration.pid == os.getpid()
    found = {p.pid: p for p in client.list_ai_processes().processes}
    assert "onnxruntime" in found[os.getpid()].runtimes
    # The test runner's own OS scheduling is left alone (it could move it between cgroups).
    boost = client.boost_priority(os.getpid(), Priority.INTERACTIVE, os_scheduling=False)
    assert boost.runtimes == [registration.runtime_id]
    assert boost.applied
    # jobs now default to the boosted class
    assert client.submit("noop").priority == Priority.INTERACTIVE


def test_boost_of_a_process_that_is_not_ai_is_not_found(client: EmbeddedClient) -> None:
    plain = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(NotFound, match="neither registered nor an AI process"):
            client.boost_priority(plain.pid, Priority.BATCH)
    finally:
        plain.kill()
        plain.wait()


def test_placement_and_utilisation_cap(client: EmbeddedClient) -> None:
    placement = client.get_optimized_path(JobRequirements(memory_bytes=MIB))
    assert placement.device.id == "cpu:0"
    capped = client.set_gpu_util("batch", 0.5)
    assert capped.limit is not None
    assert capped.limit.fraction == 0.5
    assert client.set_gpu_util("batch", None).limit is None
    with pytest.raises(InvalidArgument):
        client.set_gpu_util("batch", 1.5)
