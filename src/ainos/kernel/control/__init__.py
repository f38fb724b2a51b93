"""The control plane (the driver's IOCTL table): a Unix-socket JSON-RPC server, its typed
client, and the same methods in-process for embedded use."""

from ainos.kernel.control._client import (
    Client,
    ControlClient,
    DaemonUnavailable,
    EmbeddedClient,
    RemoteError,
)
from ainos.kernel.control._daemon import serve_forever
from ainos.kernel.control._metrics import pool_families, system_families
from ainos.kernel.control._ops import (
    OperationContext,
    OperationRegistry,
    PreparedWork,
    builtin_operations,
)
from ainos.kernel.control._paths import default_socket_path
from ainos.kernel.control._server import MAX_LINE_BYTES, ControlServer
from ainos.kernel.control._services import KernelServices, ServicesConfig
from ainos.kernel.control._session import Session

__all__ = [
    "MAX_LINE_BYTES",
    "Client",
    "ControlClient",
    "ControlServer",
    "DaemonUnavailable",
    "EmbeddedClient",
    "KernelServices",
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
    try:
        return Client(path)
    except DaemonUnavailable:
        if not embedded_fallback:
            raise
    services = KernelServices(config or ServicesConfig(lock_pool=False)).start()
    return EmbeddedClient(services, owns_services=True)
