"""Clients of the control plane: typed methods over the socket, or in-process.

Everything above the kernel talks to the system layer through one of these: a
:class:`Client` when a daemon runs (``ainos serve``), an :class:`EmbeddedClient` when the
services run in the same process. Both answer the same typed methods.
"""

from __future__ import annotations

import array
import itertools
import json
import os
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from ainos import errors
from ainos.errors import AinosError, InvalidArgument, NotFound
from ainos.kernel.control._limits import MAX_REPLY_BYTES
from ainos.kernel.control._paths import default_socket_path
from ainos.protocol import JobRequirements, Placement, ProcessScan
from ainos.protocol._base import Record
from ainos.protocol.control import (
    METHODS,
    ArenaInfo,
    BoostResult,
    ErrorCode,
    FreedBlock,
    GpuStatus,
    JobInfo,
    MethodList,
    RuntimeRegistration,
    SchedulerSummary,
    SetGpuUtilResult,
    SystemStats,
    VersionInfo,
)
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle
from ainos.protocol.scheduler import Priority

if TYPE_CHECKING:  # numpy-backed; imported by attach_pool, not by every command
    from ainos.kernel.memory import ArenaMapping

__all__ = ["Client", "ControlClient", "DaemonUnavailable", "MethodNotFound", "RemoteError"]

_R = TypeVar("_R", bound=Record)
Notification = Callable[[str, dict[str, Any]], None]


class DaemonUnavailable(AinosError):
    """No daemon answers on the control socket."""


class RemoteError(AinosError):
    """The daemon answered with a JSON-RPC error that no ainos error type matches."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class MethodNotFound(NotFound):
    """The daemon has no method of that name (JSON-RPC -32601)."""


def _raise_remote(error: dict[str, Any]) -> None:
    """Re-raise a daemon error as the ainos error it was, where there is one."""
    code, message, data = error.get("code"), str(error.get("message")), error.get("data")
    if code == ErrorCode.METHOD_NOT_FOUND:
        raise MethodNotFound(message)
    name = data.get("type") if isinstance(data, dict) else None
    kind = getattr(errors, name, None) if isinstance(name, str) else None
    if isinstance(kind, type) and issubclass(kind, AinosError):
        raise kind(message)
    if code in (ErrorCode.INVALID_PARAMS, ErrorCode.INVALID_REQUEST):
        raise InvalidArgument(message)
    raise RemoteError(
        int(code) if isinstance(code, int) else ErrorCode.INTERNAL_ERROR, message, data
    )


class ControlClient(ABC):
    """The typed method table; subclasses move the calls."""

    @abstractmethod
    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One raw call: JSON params in, JSON result out (or an ``AinosError``)."""

    @abstractmethod
    def attach_pool(self) -> ArenaMapping:
        """Map the pinned arena into this process."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _typed(self, method: str, result: type[_R], params: Record | None = None) -> _R:
        raw = self.call(method, params.model_dump(mode="json") if params is not None else {})
        return result.model_validate(raw)

    def _params(self, method: str, **values: Any) -> Record:
        try:
            return METHODS[method].params.model_validate(values)
        except ValidationError as exc:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
                for e in exc.errors()
            )
            raise InvalidArgument(f"{method}: {where}") from None

    # One method per IOCTL, and the service's own.
    def version(self) -> VersionInfo:
        return self._typed("version", VersionInfo)

    def list_methods(self) -> MethodList:
        return self._typed("list_methods", MethodList)

    def get_stats(self) -> SystemStats:
        return self._typed("get_stats", SystemStats)

    def get_gpu_status(self) -> GpuStatus:
        return self._typed("get_gpu_status", GpuStatus)

    def get_memory_pool(self) -> MemoryPoolStats:
        return self._typed("get_memory_pool", MemoryPoolStats)

    def get_scheduler_stats(self) -> SchedulerSummary:
        return self._typed("get_scheduler_stats", SchedulerSummary)

    def alloc_pinned(self, size: int) -> PinnedHandle:
        return self._typed("alloc_pinned", PinnedHandle, self._params("alloc_pinned", size=size))

    def free_pinned(self, handle_id: int) -> FreedBlock:
        params = self._params("free_pinned", handle_id=handle_id)
        return self._typed("free_pinned", FreedBlock, params)

    def register_runtime(
        self,
        name: str,
        runtime: str = "custom",
        default_priority: Priority = Priority.INTERACTIVE,
        *,
        uses_gpu: bool = False,
    ) -> RuntimeRegistration:
        params = self._params(
            "register_runtime",
            name=name,
            runtime=runtime,
            default_priority=default_priority,
            uses_gpu=uses_gpu,
        )
        return self._typed("register_runtime", RuntimeRegistration, params)

    def get_optimized_path(self, requirements: JobRequirements | None = None) -> Placement:
        return self._typed("get_optimized_path", Placement, requirements or JobRequirements())

    def boost_priority(
        self, pid: int, priority: Priority, *, os_scheduling: bool = True
    ) -> BoostResult:
        params = self._params(
            "boost_priority", pid=pid, priority=priority, os_scheduling=os_scheduling
        )
        return self._typed("boost_priority", BoostResult, params)

    def set_gpu_util(
        self, target: str, fraction: float | None, device: str | None = None
    ) -> SetGpuUtilResult:
        params = self._params("set_gpu_util", target=target, fraction=fraction, device=device)
        return self._typed("set_gpu_util", SetGpuUtilResult, params)

    def submit(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        priority: Priority | None = None,
        deadline_ms: float | None = None,
        notify: bool = False,
        wait_s: float | None = None,
    ) -> JobInfo:
        """Submit a job; with ``wait_s``, also wait that long for its outcome."""
        params = self._params(
            "submit",
            op=op,
            args=args or {},
            priority=priority,
            deadline_ms=deadline_ms,
            notify=notify,
            wait_s=wait_s,
        )
        return self._typed("submit", JobInfo, params)

    def cancel(self, job_id: str) -> JobInfo:
        return self._typed("cancel", JobInfo, self._params("cancel", job_id=job_id))

    def job_status(self, job_id: str) -> JobInfo:
        return self._typed("job_status", JobInfo, self._params("job_status", job_id=job_id))

    def job_result(self, job_id: str, timeout_s: float = 30.0) -> JobInfo:
        params = self._params("job_result", job_id=job_id, timeout_s=timeout_s)
        return self._typed("job_result", JobInfo, params)

    def run(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        priority: Priority | None = None,
        deadline_ms: float | None = None,
        timeout_s: float = 60.0,
    ) -> JobInfo:
        """Submit and wait for the outcome, in one round trip."""
        return self.submit(op, args, priority=priority, deadline_ms=deadline_ms, wait_s=timeout_s)

    def list_ai_processes(self, include_all: bool = False) -> ProcessScan:
        params = self._params("list_ai_processes", include_all=include_all)
        return self._typed("list_ai_processes", ProcessScan, params)


class Client(ControlClient):
    """A connection to the daemon. One call at a time per connection (thread-safe);
    notifications that arrive meanwhile go to ``on_notification``."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        timeout: float | None = 60.0,
        on_notification: Notification | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_socket_path()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(self.path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            self._sock.close()
            raise DaemonUnavailable(f"no ainos daemon is serving {self.path}") from exc
        except OSError as exc:
            self._sock.close()
            raise DaemonUnavailable(f"cannot reach the daemon at {self.path}: {exc}") from exc
        self._buffer = bytearray()
        self._fds: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.on_notification = on_notification

    def close(self) -> None:
        self._sock.close()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()

    def _read_message(self) -> dict[str, Any]:
        while (newline := self._buffer.find(b"\n")) < 0:
            fds = array.array("i")
            data, ancillary, _flags, _ = self._sock.recvmsg(65536, socket.CMSG_SPACE(fds.itemsize))
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            self._fds.extend(fds)
            if not data:
                raise DaemonUnavailable("the daemon closed the connection")
            self._buffer += data
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise RemoteError(ErrorCode.INTERNAL_ERROR, "the daemon sent an oversized line")
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        message = json.loads(line)
        if not isinstance(message, dict):
            raise RemoteError(ErrorCode.INTERNAL_ERROR, "the daemon sent a non-object message")
        return message

    def _exchange(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        with self._lock:
            try:
                self._sock.sendall(json.dumps(request, separators=(",", ":")).encode() + b"\n")
                while True:
                    message = self._read_message()
                    if "id" not in message and "method" in message:
                        if self.on_notification is not None:
                            self.on_notification(message["method"], message.get("params", {}))
                        continue
                    if message.get("id") == request_id:
                        return message
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise DaemonUnavailable(f"lost the daemon at {self.path}: {exc}") from exc
            except TimeoutError as exc:
                raise DaemonUnavailable(f"the daemon did not answer {method} in time") from exc

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        message = self._exchange(method, params or {})
        if "error" in message:
            _raise_remote(message["error"])
        result = message.get("result")
        if not isinstance(result, dict):
            raise RemoteError(ErrorCode.INTERNAL_ERROR, f"{method}: the daemon sent no result")
        return result

    def attach_pool(self) -> ArenaMapping:
        info = ArenaInfo.model_validate(self.call("attach_pool"))
        if not self._fds:
            raise RemoteError(ErrorCode.INTERNAL_ERROR, "the daemon sent no arena descriptor")
        fd = self._fds.pop(0)
        os.set_inheritable(fd, False)
        from ainos.kernel.memory import ArenaMapping

        return ArenaMapping(fd, arena_id=info.arena_id)
