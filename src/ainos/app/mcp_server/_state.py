"""What the server holds while it runs, shared by every connection: its options, the agent
conversations, the tools, and the connections to push notifications to."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

from ainos.app.mcp_server._tools import ToolSet

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ainos.app.mcp_server._backend import Backend
    from ainos.app.mcp_server._resources import Resources
    from ainos.app.mcp_server._threads import Conversations

__all__ = ["Connection", "ListenerCount", "McpServerOptions", "ServerState"]

log = logging.getLogger(__name__)

DEFAULT_APPROVAL_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class McpServerOptions:
    """``approval_timeout``: seconds an unanswered approval waits before it is denied;
    ``page_size``: items per page of a listing; ``socket_path``: the daemon to use for
    models and statistics when one runs; ``stats_interval``: how often subscribed
    statistics are checked for changes."""

    approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT
    page_size: int = DEFAULT_PAGE_SIZE
    socket_path: Path | None = None
    on_device: bool = False
    realtime: bool = False
    stats_interval: float = 1.0
    catalog_interval: float = 2.0


@dataclass
class Connection:
    """One client connection: what it subscribed to and the log level it asked for. Held
    by a weak reference to the SDK's connection, so a session that ends is forgotten."""

    ref: weakref.ref[Any]
    subscriptions: set[str] = field(default_factory=set)
    log_level: str | None = None


class ListenerCount(InMemorySubscriptionBus):
    """The SDK's in-process bus for ``subscriptions/listen`` streams (2026-07-28), counting
    its listeners so the statistics watcher can sleep while nobody listens."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners = 0

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        unsubscribe = super().subscribe(listener)
        self.listeners += 1
        done = False

        def once() -> None:
            nonlocal done
            if not done:
                done = True
                self.listeners -= 1
                unsubscribe()

        return once


@dataclass
class ServerState:
    options: McpServerOptions
    tools: ToolSet
    backend: Backend
    conversations: Conversations
    tasks: TaskGroup
    bus: ListenerCount
    resources: Resources = field(init=False)
    connections: dict[int, Connection] = field(default_factory=dict)

    async def broadcast(self, what: str, uri: str | None = None) -> None:
        """Tell every connection (``tools`` list changed, or ``resource`` ``uri`` updated
        to those subscribed), and every ``subscriptions/listen`` stream that asked."""
        event: ServerEvent = ToolsListChanged() if what == "tools" else ResourceUpdated(uri or "")
        await self.bus.publish(event)
        for key, connection in list(self.connections.items()):
            peer = connection.ref()
            if peer is None:  # the session ended
                self.connections.pop(key, None)
                continue
            try:
                if what == "tools":
                    await peer.send_tool_list_changed()
                elif uri is not None and uri in connection.subscriptions:
                    await peer.send_resource_updated(uri)
            except Exception as exc:
                log.debug("dropping a closed connection: %s", exc)
                self.connections.pop(key, None)

    def any_subscribed(self, uri: str) -> bool:
        if self.bus.listeners:
            return True
        return any(uri in c.subscriptions for c in self.connections.values())
