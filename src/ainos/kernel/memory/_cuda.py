"""Registering the arena with CUDA as pinned host memory, through ctypes.

Registered (page-locked, device-visible) host memory is what lets ``cudaMemcpyAsync`` run as a
DMA at full PCIe speed instead of being staged through a driver-owned bounce buffer. The CUDA
runtime (libcudart) is used where it is installed; otherwise the driver library (libcuda, which
every NVIDIA driver ships) through the primary context of device 0. Both registrars talk to an
*api* object whose functions have the C signatures, so tests can hand them a fake.
"""

from __future__ import annotations

import ctypes
import logging
from types import SimpleNamespace
from typing import Protocol, cast

from ainos.errors import HostRegistrationError

__all__ = [
    "CUDART_NAMES",
    "DRIVER_NAMES",
    "CudaDriverApi",
    "CudaDriverRegistrar",
    "CudartApi",
    "CudartRegistrar",
    "HostRegistrar",
    "load_host_registrar",
    "register_host_memory",
]

CUDART_NAMES = ("libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0")
DRIVER_NAMES = ("libcuda.so.1", "libcuda.so")

_log = logging.getLogger("ainos.kernel.memory")

_CUDA_HOST_REGISTER_PORTABLE = 1  # pinned for every context, not only the current one
_CU_MEMHOSTREGISTER_PORTABLE = 1


class _NoUsableDevice(HostRegistrationError):
    """A CUDA library loaded, but no driver or device stands behind it: a CPU-only machine."""


class HostRegistrar(Protocol):
    """Registers a host address range as CUDA pinned memory and undoes it."""

    @property
    def backend(self) -> str: ...

    def register(self, address: int, size: int) -> None: ...

    def unregister(self, address: int) -> None: ...


class CudartApi(Protocol):
    """The CUDA runtime functions used, with their C signatures."""

    def cudaHostRegister(
        self, ptr: ctypes.c_void_p, size: ctypes.c_size_t, flags: ctypes.c_uint, /
    ) -> int: ...

    def cudaHostUnregister(self, ptr: ctypes.c_void_p, /) -> int: ...

    def cudaGetErrorString(self, error: ctypes.c_int, /) -> bytes | None: ...

    def cudaGetDeviceCount(self, count: ctypes._Pointer[ctypes.c_int], /) -> int: ...


class CudaDriverApi(Protocol):
    """The CUDA driver functions used, with their C signatures (unversioned names)."""

    def cuInit(self, flags: ctypes.c_uint, /) -> int: ...

    def cuDeviceGet(
        self, device: ctypes._Pointer[ctypes.c_int], ordinal: ctypes.c_int, /
    ) -> int: ...

    def cuDevicePrimaryCtxRetain(
        self, context: ctypes._Pointer[ctypes.c_void_p], device: ctypes.c_int, /
    ) -> int: ...

    def cuDevicePrimaryCtxRelease(self, device: ctypes.c_int, /) -> int: ...

    def cuCtxPushCurrent(self, context: ctypes.c_void_p, /) -> int: ...

    def cuCtxPopCurrent(self, context: ctypes._Pointer[ctypes.c_void_p], /) -> int: ...

    def cuMemHostRegister(
        self, ptr: ctypes.c_void_p, size: ctypes.c_size_t, flags: ctypes.c_uint, /
    ) -> int: ...

    def cuMemHostUnregister(self, ptr: ctypes.c_void_p, /) -> int: ...

    def cuGetErrorString(
        self, error: ctypes.c_int, text: ctypes._Pointer[ctypes.c_char_p], /
    ) -> int: ...


class CudartRegistrar:
    """``cudaHostRegister`` / ``cudaHostUnregister`` of the CUDA runtime."""

    backend = "cudart"

    def __init__(self, api: CudartApi) -> None:
        self._api = api

    def _check(
        self, code: int, what: str, error: type[HostRegistrationError] = HostRegistrationError
    ) -> None:
        if code != 0:
            text = self._api.cudaGetErrorString(ctypes.c_int(code))
            detail = text.decode(errors="replace") if text else "unknown error"
            raise error(f"{what} failed: CUDA error {code} ({detail})")

    def register(self, address: int, size: int) -> None:
        count = ctypes.c_int()
        self._check(
            self._api.cudaGetDeviceCount(ctypes.pointer(count)),
            "cudaGetDeviceCount",
            _NoUsableDevice,
        )
        if count.value < 1:
            raise _NoUsableDevice("cudaGetDeviceCount found no CUDA device")
        code = self._api.cudaHostRegister(
            ctypes.c_void_p(address),
            ctypes.c_size_t(size),
            ctypes.c_uint(_CUDA_HOST_REGISTER_PORTABLE),
        )
        self._check(code, "cudaHostRegister")

    def unregister(self, address: int) -> None:
        self._check(self._api.cudaHostUnregister(ctypes.c_void_p(address)), "cudaHostUnregister")


class CudaDriverRegistrar:
    """``cuMemHostRegister`` of the driver API, inside device 0's primary context."""

    backend = "cuda-driver"

    def __init__(self, api: CudaDriverApi) -> None:
        self._api = api
        self._device: ctypes.c_int | None = None
        self._context = ctypes.c_void_p()

    def _check(
        self, code: int, what: str, error: type[HostRegistrationError] = HostRegistrationError
    ) -> None:
        if code != 0:
            text = ctypes.c_char_p()
            known = self._api.cuGetErrorString(ctypes.c_int(code), ctypes.pointer(text)) == 0
            detail = text.value.decode(errors="replace") if known and text.value else "unknown"
            raise error(f"{what} failed: CUDA error {code} ({detail})")

    def _push(self) -> None:
        self._check(self._api.cuCtxPushCurrent(self._context), "cuCtxPushCurrent")

    def _pop(self) -> None:
        popped = ctypes.c_void_p()
        self._check(self._api.cuCtxPopCurrent(ctypes.pointer(popped)), "cuCtxPopCurrent")

    def register(self, address: int, size: int) -> None:
        self._check(self._api.cuInit(ctypes.c_uint(0)), "cuInit", _NoUsableDevice)
        device = ctypes.c_int()
        self._check(
            self._api.cuDeviceGet(ctypes.pointer(device), ctypes.c_int(0)),
            "cuDeviceGet",
            _NoUsableDevice,
        )
        self._check(
            self._api.cuDevicePrimaryCtxRetain(ctypes.pointer(self._context), device),
            "cuDevicePrimaryCtxRetain",
        )
        self._device = device
        try:
            self._push()
            try:
                self._check(
                    self._api.cuMemHostRegister(
                        ctypes.c_void_p(address),
                        ctypes.c_size_t(size),
                        ctypes.c_uint(_CU_MEMHOSTREGISTER_PORTABLE),
                    ),
                    "cuMemHostRegister",
                )
            finally:
                self._pop()
        except HostRegistrationError:
            self._release()
            raise

    def unregister(self, address: int) -> None:
        try:
            self._push()
            try:
                self._check(
                    self._api.cuMemHostUnregister(ctypes.c_void_p(address)), "cuMemHostUnregister"
                )
            finally:
                self._pop()
        finally:
            self._release()

    def _release(self) -> None:
        if self._device is not None:
            device, self._device = self._device, None
            self._check(self._api.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease")


def _bind(
    lib: ctypes.CDLL, name: str, argtypes: list[type], restype: type, *aliases: str
) -> object:
    """The first of ``aliases`` (newest ABI first), then ``name``, that ``lib`` exports."""
    for symbol in (*aliases, name):
        try:
            function = getattr(lib, symbol)
        except AttributeError:
            continue
        function.argtypes = argtypes
        function.restype = restype
        return function
    raise AttributeError(name)


def _cudart_api(lib: ctypes.CDLL) -> CudartApi:
    void_p, int_ = ctypes.c_void_p, ctypes.c_int
    return cast(
        CudartApi,
        SimpleNamespace(
            cudaHostRegister=_bind(
                lib, "cudaHostRegister", [void_p, ctypes.c_size_t, ctypes.c_uint], int_
            ),
            cudaHostUnregister=_bind(lib, "cudaHostUnregister", [void_p], int_),
            cudaGetErrorString=_bind(lib, "cudaGetErrorString", [int_], ctypes.c_char_p),
            cudaGetDeviceCount=_bind(lib, "cudaGetDeviceCount", [ctypes.POINTER(int_)], int_),
        ),
    )


def _driver_api(lib: ctypes.CDLL) -> CudaDriverApi:
    void_p, int_, uint = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint
    p_int, p_void_p = ctypes.POINTER(int_), ctypes.POINTER(void_p)
    return cast(
        CudaDriverApi,
        SimpleNamespace(
            cuInit=_bind(lib, "cuInit", [uint], int_),
            cuDeviceGet=_bind(lib, "cuDeviceGet", [p_int, int_], int_),
            cuDevicePrimaryCtxRetain=_bind(lib, "cuDevicePrimaryCtxRetain", [p_void_p, int_], int_),
            cuDevicePrimaryCtxRelease=_bind(
                lib, "cuDevicePrimaryCtxRelease", [int_], int_, "cuDevicePrimaryCtxRelease_v2"
            ),
            cuCtxPushCurrent=_bind(lib, "cuCtxPushCurrent", [void_p], int_, "cuCtxPushCurrent_v2"),
            cuCtxPopCurrent=_bind(lib, "cuCtxPopCurrent", [p_void_p], int_, "cuCtxPopCurrent_v2"),
            cuMemHostRegister=_bind(
                lib,
                "cuMemHostRegister",
                [void_p, ctypes.c_size_t, uint],
                int_,
                "cuMemHostRegister_v2",
            ),
            cuMemHostUnregister=_bind(lib, "cuMemHostUnregister", [void_p], int_),
            cuGetErrorString=_bind(
                lib, "cuGetErrorString", [int_, ctypes.POINTER(ctypes.c_char_p)], int_
            ),
        ),
    )


def load_host_registrar(
    cudart_names: tuple[str, ...] = CUDART_NAMES, driver_names: tuple[str, ...] = DRIVER_NAMES
) -> tuple[HostRegistrar | None, str | None]:
    """The registrar of the first loadable CUDA library, or None and why there is none."""
    tried: list[str] = []
    for names, make in ((cudart_names, _cudart_registrar), (driver_names, _driver_registrar)):
        for name in names:
            try:
                return make(ctypes.CDLL(name)), None
            except (OSError, AttributeError):
                tried.append(name)
    return None, f"no CUDA library could be loaded (tried {', '.join(tried)})"


def _cudart_registrar(lib: ctypes.CDLL) -> HostRegistrar:
    return CudartRegistrar(_cudart_api(lib))


def _driver_registrar(lib: ctypes.CDLL) -> HostRegistrar:
    return CudaDriverRegistrar(_driver_api(lib))


def register_host_memory(
    address: int, size: int, *, cuda: bool, registrar: HostRegistrar | None
) -> tuple[HostRegistrar | None, str | None]:
    """Register ``[address, address + size)``: the registrar that holds it, or None and why.

    An explicit ``registrar`` wins; otherwise, with ``cuda``, the first loadable CUDA library.
    """
    if registrar is None:
        if not cuda:
            return None, "CUDA registration not requested"
        registrar, reason = load_host_registrar()
        if registrar is None:
            return None, reason
    try:
        registrar.register(address, size)
    except _NoUsableDevice as error:
        _log.debug("arena not registered with CUDA (%s): %s", registrar.backend, error)
        return None, f"no usable CUDA device: {error}"
    except HostRegistrationError as error:
        # A CUDA library is there but refused: worth a warning, unlike a machine without CUDA.
        _log.warning("arena not registered with CUDA (%s): %s", registrar.backend, error)
        return None, str(error)
    return registrar, None
