"""The control plane (the driver's IOCTL table): a Unix-socket JSON-RPC server, its typed
client, and the same methods in-process for embedded use."""

from __future__ import annotations

# Names are imported on first use: a command that only talks to a running daemon (``ainos
# status``, ``stats``) does not import the services, the scheduler and numpy behind them.
from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.kernel.control._client import (
        Client,
        ControlClient,
        DaemonUnavailable,
        MethodNotFound,
        RemoteError,
    )
    from ainos.kernel.control._daemon import serve_forever
    from ainos.kernel.control._embedded import EmbeddedClient
    from ainos.kernel.control._limits import MAX_BATCH_REQUESTS, MAX_LINE_BYTES, MAX_REPLY_BYTES
    from ainos.kernel.control._metrics import pool_families, system_families
    from ainos.kernel.control._ops import (
        OperationContext,
        OperationRegistry,
        PreparedWork,
        builtin_operations,
    )
    from ainos.kernel.control._paths import default_socket_path
    from ainos.kernel.control._server import ControlServer
    from ainos.kernel.control._services import KernelServices, ServicesConfig
    from ainos.kernel.control._session import Session

_EXPORTS = {
    "Client": "_client",
    "ControlClient": "_client",
    "ControlServer": "_server",
    "DaemonUnavailable": "_client",
    "EmbeddedClient": "_embedded",
    "KernelServices": "_services",
    "MethodNotFound": "_client",
    "MAX_BATCH_REQUESTS": "_limits",
    "MAX_LINE_BYTES": "_limits",
    "MAX_REPLY_BYTES": "_limits",
    "OperationContext": "_ops",
    "OperationRegistry": "_ops",
    "PreparedWork": "_ops",
    "RemoteError": "_client",
    "ServicesConfig": "_services",
    "Session": "_session",
    "builtin_operations": "_ops",
    "default_socket_path": "_paths",
    "pool_families": "_metrics",
    "serve_forever": "_daemon",
    "system_families": "_metrics",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "MAX_BATCH_REQUESTS",
    "MAX_LINE_BYTES",
    "MAX_REPLY_BYTES",
    "Client",
    "ControlClient",
    "ControlServer",
    "DaemonUnavailable",
    "EmbeddedClient",
    "KernelServices",
    "MethodNotFound",
    "OperationContext",
    "OperationRegistry",
    "PreparedWork",
    "RemoteError",
    "ServicesConfig",
    "Session",
    "builtin_operations",
    "connect",
    "default_socket_path",
    "pool_families",
    "serve_forever",
    "system_families",
]


def connect(
    path: str | None = None,
    *,
    embedded_fallback: bool = True,
    config: ServicesConfig | None = None,
) -> ControlClient:
    """The daemon's client when one serves ``path``; else, if allowed, services started
    in this process (embedded mode), closed with the client."""
    from ainos.kernel.control._client import Client, DaemonUnavailable
    from ainos.kernel.control._embedded import EmbeddedClient
    from ainos.kernel.control._services import KernelServices, ServicesConfig

    try:
        return Client(path)
    except DaemonUnavailable:
        if not embedded_fallback:
            raise
    services = KernelServices(config or ServicesConfig(lock_pool=False)).start()
    return EmbeddedClient(services, owns_services=True)
