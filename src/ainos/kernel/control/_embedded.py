"""The control plane's methods answered in this process: services of its own, no daemon."""

from __future__ import annotations

import os
from typing import Any

from ainos.errors import InvalidArgument
from ainos.kernel.control._client import ControlClient
from ainos.kernel.control._services import KernelServices, Session
from ainos.kernel.memory import ArenaMapping
from ainos.protocol.control import PeerCredentials

__all__ = ["EmbeddedClient"]


class EmbeddedClient(ControlClient):
    """The same methods, answered by services in this process (no daemon)."""

    def __init__(self, services: KernelServices, *, owns_services: bool = False) -> None:
        self.services = services
        self._owns = owns_services
        self._session: Session = services.open_session(
            PeerCredentials(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "attach_pool":
            raise InvalidArgument("use attach_pool() to map the arena")
        return self.services.call(method, params or {}, self._session)

    def attach_pool(self) -> ArenaMapping:
        self.call("version")  # same checks as any call
        pool = self.services.pool
        return ArenaMapping(os.dup(pool.fd), arena_id=pool.arena_id)

    def close(self) -> None:
        self.services.close_session(self._session)
        if self._owns:
            self.services.close()
