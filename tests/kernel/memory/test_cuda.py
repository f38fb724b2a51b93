"""CUDA host registration, against fakes of the C functions (no GPU exists here).

The fakes take and write ctypes objects exactly as the real functions loaded through ctypes
do, so the registrars' argument building, output pointers and error handling run for real.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
from dataclasses import dataclass, field

import pytest

from ainos.errors import HostRegistrationError, PoolClosed
from ainos.kernel.control import EmbeddedClient, KernelServices, ServicesConfig
from ainos.kernel.memory import (
    ArenaMapping,
    CudaDriverRegistrar,
    CudartRegistrar,
    PinnedPool,
    load_host_registrar,
    recv_arena_fd,
    send_arena_fd,
)

MiB = 1 << 20
CUDA_ERROR_INVALID_CONTEXT = 201
CUDA_ERROR_NO_DEVICE = 100
CUDA_ERROR_OUT_OF_MEMORY = 2

_ERROR_TEXT = {
    CUDA_ERROR_OUT_OF_MEMORY: b"out of memory",
    CUDA_ERROR_NO_DEVICE: b"no CUDA-capable device is detected",
    CUDA_ERROR_INVALID_CONTEXT: b"invalid device context",
}


@dataclass
class FakeCudart:
    """cudaHostRegister & co. of libcudart, with the pinned ranges kept in a dict."""

    device_count: int = 1
    register_error: int = 0
    registered: dict[int, tuple[int, int]] = field(default_factory=dict)  # address -> size, flags
    unregistered: list[int] = field(default_factory=list)
    register_calls: int = 0

    def cudaGetDeviceCount(self, count: ctypes._Pointer[ctypes.c_int]) -> int:
        if self.device_count == 0:
            return CUDA_ERROR_NO_DEVICE
        count.contents.value = self.device_count
        return 0

    def cudaHostRegister(
        self, ptr: ctypes.c_void_p, size: ctypes.c_size_t, flags: ctypes.c_uint
    ) -> int:
        self.register_calls += 1
        if self.register_error:
            return self.register_error
        assert ptr.value is not None
        self.registered[ptr.value] = (size.value, flags.value)
        return 0

    def cudaHostUnregister(self, ptr: ctypes.c_void_p) -> int:
        if ptr.value not in self.registered:
            return 712  # cudaErrorHostMemoryNotRegistered
        del self.registered[ptr.value]
        self.unregistered.append(ptr.value)
        return 0

    def cudaGetErrorString(self, error: ctypes.c_int) -> bytes | None:
        return _ERROR_TEXT.get(error.value)


@dataclass
class FakeCudaDriver:
    """The libcuda entry points: a primary context that must be current to register."""

    init_error: int = 0
    register_error: int = 0
    retained: int = 0
    stack: list[int] = field(default_factory=list)
    registered: dict[int, tuple[int, int]] = field(default_factory=dict)

    CONTEXT = 0xC0FFEE

    def cuInit(self, flags: ctypes.c_uint) -> int:
        assert flags.value == 0
        return self.init_error

    def cuDeviceGet(self, device: ctypes._Pointer[ctypes.c_int], ordinal: ctypes.c_int) -> int:
        device.contents.value = ordinal.value
        return 0

    def cuDevicePrimaryCtxRetain(
        self, context: ctypes._Pointer[ctypes.c_void_p], device: ctypes.c_int
    ) -> int:
        assert device.value == 0
        context.contents.value = self.CONTEXT
        self.retained += 1
        return 0

    def cuDevicePrimaryCtxRelease(self, device: ctypes.c_int) -> int:
        self.retained -= 1
        return 0

    def cuCtxPushCurrent(self, context: ctypes.c_void_p) -> int:
        assert context.value is not None
        self.stack.append(context.value)
        return 0

    def cuCtxPopCurrent(self, context: ctypes._Pointer[ctypes.c_void_p]) -> int:
        context.contents.value = self.stack.pop()
        return 0

    def cuMemHostRegister(
        self, ptr: ctypes.c_void_p, size: ctypes.c_size_t, flags: ctypes.c_uint
    ) -> int:
        if not self.stack or self.stack[-1] != self.CONTEXT:
            return CUDA_ERROR_INVALID_CONTEXT
        if self.register_error:
            return self.register_error
        assert ptr.value is not None
        self.registered[ptr.value] = (size.value, flags.value)
        return 0

    def cuMemHostUnregister(self, ptr: ctypes.c_void_p) -> int:
        if not self.stack:
            return CUDA_ERROR_INVALID_CONTEXT
        assert ptr.value is not None
        del self.registered[ptr.value]
        return 0

    def cuGetErrorString(self, error: ctypes.c_int, text: ctypes._Pointer[ctypes.c_char_p]) -> int:
        message = _ERROR_TEXT.get(error.value)
        if message is None:
            return 1  # CUDA_ERROR_INVALID_VALUE
        text.contents.value = message
        return 0


def test_cudart_registers_the_whole_arena_portable_and_unregisters_once() -> None:
    fake = FakeCudart()
    pool = PinnedPool(MiB, registrar=CudartRegistrar(fake))
    assert pool.register_cuda("a GPU client")
    stats = pool.stats()
    assert stats.cuda_registered
    assert stats.cuda_backend == "cudart"
    assert stats.cuda_reason is None
    [(address, (size, flags))] = fake.registered.items()
    assert (size, flags) == (MiB, 1)  # the whole arena, cudaHostRegisterPortable
    assert address % 4096 == 0
    pool.close()
    pool.close()
    assert fake.unregistered == [address]
    assert not pool.stats().cuda_registered


def test_cudart_failure_leaves_a_working_unregistered_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeCudart(register_error=CUDA_ERROR_OUT_OF_MEMORY)
    with caplog.at_level(logging.WARNING, "ainos.kernel.memory"):
        pool = PinnedPool(MiB, registrar=CudartRegistrar(fake))
        assert not pool.register_cuda("a GPU client")
    with pool:
        stats = pool.stats()
        assert not stats.cuda_registered
        assert stats.cuda_reason == "cudaHostRegister failed: CUDA error 2 (out of memory)"
        assert [r.getMessage() for r in caplog.records if "CUDA" in r.getMessage()] == [
            "arena not registered with CUDA (cudart): " + stats.cuda_reason
        ]
        handle = pool.alloc(100, "a")
        pool.view(handle)[:3] = b"abc"
        assert bytes(pool.view(handle)[:3]) == b"abc"
    assert fake.unregistered == []


def test_cudart_without_a_device_is_quietly_unregistered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, "ainos.kernel.memory"):
        pool = PinnedPool(MiB, registrar=CudartRegistrar(FakeCudart(device_count=0)))
        pool.register_cuda("a GPU client")
    with pool:
        reason = pool.stats().cuda_reason
        assert reason is not None
        assert reason.startswith("no usable CUDA device: cudaGetDeviceCount failed")
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_driver_registers_inside_the_primary_context_and_releases_it() -> None:
    fake = FakeCudaDriver()
    registrar = CudaDriverRegistrar(fake)
    registrar.register(0x7000_0000, MiB)
    assert fake.registered == {0x7000_0000: (MiB, 1)}
    assert fake.stack == []  # pushed for the call, popped after
    assert fake.retained == 1  # held while the range is registered
    registrar.unregister(0x7000_0000)
    assert fake.registered == {}
    assert (fake.stack, fake.retained) == ([], 0)


def test_driver_failure_releases_the_context_and_names_the_error() -> None:
    fake = FakeCudaDriver(register_error=CUDA_ERROR_OUT_OF_MEMORY)
    with pytest.raises(HostRegistrationError, match=r"cuMemHostRegister failed: .*out of memory"):
        CudaDriverRegistrar(fake).register(0x7000_0000, MiB)
    assert (fake.stack, fake.retained, fake.registered) == ([], 0, {})


def test_driver_pool_round_trip_and_unknown_error_text() -> None:
    fake = FakeCudaDriver()
    with PinnedPool(MiB, registrar=CudaDriverRegistrar(fake)) as pool:
        pool.register_cuda("a GPU client")
        assert pool.stats().cuda_backend == "cuda-driver"
        assert len(fake.registered) == 1
    assert (fake.registered, fake.retained) == ({}, 0)
    failing = FakeCudaDriver(register_error=999)
    with PinnedPool(MiB, registrar=CudaDriverRegistrar(failing)) as pool:
        pool.register_cuda("a GPU client")
        assert pool.stats().cuda_reason == "cuMemHostRegister failed: CUDA error 999 (unknown)"


def test_driver_without_a_device_is_reported_as_such() -> None:
    fake = FakeCudaDriver(init_error=CUDA_ERROR_NO_DEVICE)
    with PinnedPool(MiB, registrar=CudaDriverRegistrar(fake)) as pool:
        pool.register_cuda("a GPU client")
        reason = pool.stats().cuda_reason
    assert reason == (
        "no usable CUDA device: cuInit failed: CUDA error 100 (no CUDA-capable device is detected)"
    )
    assert fake.retained == 0


def test_client_mapping_registers_its_own_address() -> None:
    pool_fake, client_fake = FakeCudart(), FakeCudart()
    with PinnedPool(MiB, registrar=CudartRegistrar(pool_fake)) as pool:
        left, right = socket.socketpair()
        with left, right:
            send_arena_fd(left, pool.fd)
            fd, _ = recv_arena_fd(right)
        mapping = ArenaMapping(fd, registrar=CudartRegistrar(client_fake))
        assert mapping.cuda_registered
        [(address, (size, _))] = client_fake.registered.items()
        assert size == MiB
        assert address not in pool_fake.registered  # a second mapping, at its own address
        mapping.close()
        mapping.close()
        assert client_fake.unregistered == [address]


def test_loader_reports_every_name_it_tried() -> None:
    registrar, reason = load_host_registrar(("libainos-nope-rt.so",), ("libainos-nope-drv.so",))
    assert registrar is None
    assert reason == (
        "no CUDA library could be loaded (tried libainos-nope-rt.so, libainos-nope-drv.so)"
    )


@pytest.mark.skipif(
    os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/dxg"), reason="a GPU is present"
)
def test_this_machine_takes_the_no_cuda_path(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "ainos.kernel.memory"), PinnedPool(MiB) as pool:
        assert not pool.register_cuda("a GPU client")
        stats = pool.stats()
        handle = pool.alloc(4096, "a")
        pool.view(handle)[:2] = b"ok"
        assert bytes(pool.view(handle)[:2]) == b"ok"
    assert not stats.cuda_registered
    assert stats.cuda_backend is None
    assert stats.cuda_reason is not None
    # Either no library loads, or one loads and finds no device: neither is worth a warning.
    assert stats.cuda_reason.startswith(("no CUDA library", "no usable CUDA device"))
    assert not [r for r in caplog.records if "CUDA" in r.getMessage()]


def test_the_pool_waits_for_the_first_gpu_client_and_registers_once() -> None:
    fake = FakeCudart()
    with PinnedPool(MiB, registrar=CudartRegistrar(fake)) as pool:
        pending = pool.stats()
        assert fake.register_calls == 0  # no CUDA context at creation
        assert not pending.cuda_registered
        assert pending.cuda_registered_at is None
        assert pending.cuda_requested_by is None
        assert pending.cuda_reason == "not needed yet: no client using a GPU has registered"
        pool.alloc(4096, "cpu-client")  # the pool works before any registration
        assert pool.register_cuda("trainer (pid 10)")
        assert pool.register_cuda("server (pid 11)")
        assert fake.register_calls == 1
        stats = pool.stats()
        assert stats.cuda_registered
        assert stats.cuda_registered_at is not None
        assert stats.cuda_requested_by == "trainer (pid 10)"
        assert stats.cuda_reason is None
    assert len(fake.unregistered) == 1
    closed = pool.stats()
    assert (closed.cuda_registered, closed.cuda_registered_at) == (False, None)


def test_a_failed_registration_is_not_retried_by_later_clients() -> None:
    fake = FakeCudart(register_error=CUDA_ERROR_OUT_OF_MEMORY)
    with PinnedPool(MiB, registrar=CudartRegistrar(fake)) as pool:
        assert not pool.register_cuda("first (pid 1)")
        assert not pool.register_cuda("second (pid 2)")
        stats = pool.stats()
    assert fake.register_calls == 1
    assert stats.cuda_requested_by == "first (pid 1)"
    assert stats.cuda_registered_at is None
    assert stats.cuda_reason == "cudaHostRegister failed: CUDA error 2 (out of memory)"


def test_a_pool_without_cuda_ignores_gpu_clients() -> None:
    with PinnedPool(MiB, cuda=False) as pool:
        assert not pool.register_cuda("gpu (pid 1)")
        stats = pool.stats()
    assert stats.cuda_reason == "CUDA registration not requested"
    assert stats.cuda_requested_by is None


def test_a_closed_pool_refuses_registration() -> None:
    fake = FakeCudart()
    pool = PinnedPool(MiB, registrar=CudartRegistrar(fake))
    pool.close()
    with pytest.raises(PoolClosed):
        pool.register_cuda("late (pid 1)")
    assert fake.register_calls == 0


def test_the_first_gpu_runtime_registering_with_the_daemon_triggers_registration() -> None:
    # The real control plane on this machine (no CUDA): the attempt is made for the first
    # client that says it uses a GPU, recorded with its name, and not made again.
    config = ServicesConfig(pool_bytes=MiB, lock_pool=False)
    with KernelServices(config) as services, EmbeddedClient(services) as cpu_client:
        cpu_client.register_runtime("cpu-only", "onnxruntime")
        before = cpu_client.get_memory_pool()
        with EmbeddedClient(services) as gpu_client, EmbeddedClient(services) as second:
            gpu_client.register_runtime("trainer", "torch", uses_gpu=True)
            after = gpu_client.get_memory_pool()
            second.register_runtime("server", "onnxruntime", uses_gpu=True)
            later = second.get_memory_pool()
    assert before.cuda_requested_by is None
    assert before.cuda_reason == "not needed yet: no client using a GPU has registered"
    assert after.cuda_requested_by == f"trainer (pid {os.getpid()})"
    assert after.cuda_reason != before.cuda_reason
    if not (os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/dxg")):
        assert not after.cuda_registered
        assert after.cuda_reason is not None
        assert after.cuda_reason.startswith(("no CUDA library", "no usable CUDA device"))
    assert (later.cuda_requested_by, later.cuda_reason, later.cuda_registered_at) == (
        after.cuda_requested_by,
        after.cuda_reason,
        after.cuda_registered_at,
    )
