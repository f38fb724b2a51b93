"""What the server holds while it runs, shared by every connection: its options, the agent
conversations, the tools, and the connections to push notifications to."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ainos.app.mcp_server._tools import ToolSet

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from mcp.server.session import ServerSession

    from ainos.app.mcp_server._backend import Backend
    from ainos.app.mcp_server._resources import Resources
    from ainos.app.mcp_server._threads import Conversations

__all__ = ["Connection", "McpServerOptions", "ServerState"]

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
    """One client connection: where to push what it subscribed to."""

    session: ServerSession
    client: str = ""
    subscriptions: set[str] = field(default_factory=set)
    log_level: str | None = None


@dataclass
class ServerState:
    options: McpServerOptions
    tools: ToolSet
    backend: Backend
    conversations: Conversations
    tasks: TaskGroup
    resources: Resources = field(init=False)
    connections: dict[int, Connection] = field(default_factory=dict)

    async def broadcast(self, what: str, uri: str | None = None) -> None:
        """Tell every connection (``tools`` list changed, or ``resource`` ``uri`` updated
        to those subscribed). A connection that is gone is dropped."""
        for key, connection in list(self.connections.items()):
            try:
                if what == "tools":
                    await connection.session.send_tool_list_changed()
                elif uri is not None and uri in connection.subscriptions:
                    await connection.session.send_resource_updated(uri)
            except Exception as exc:
                log.debug("dropping a closed connection: %s", exc)
                self.connections.pop(key, None)

    def any_subscribed(self, uri: str) -> bool:
        return any(uri in c.subscriptions for c in self.connections.values())
