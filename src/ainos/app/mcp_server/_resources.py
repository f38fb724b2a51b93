"""Resources: the machine (``ainos://stats``, ``ainos://processes``, ``ainos://devices``),
each action's definition (``ainos://actions/{id}``) and each agent conversation
(``ainos://conversations/{threadId}``). ``ainos://stats`` can be subscribed to: a watcher
pushes ``notifications/resources/updated`` when its values change."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.shared.exceptions import MCPError

from ainos.app.mcp_server._actions import ActionTools
from ainos.app.mcp_server._state import ServerState

__all__ = ["STATS_URI", "Resources"]

log = logging.getLogger(__name__)

STATS_URI = "ainos://stats"
_ACTIONS = "ainos://actions/"
_CONVERSATIONS = "ainos://conversations/"
_JSON = "application/json"
RESOURCE_NOT_FOUND = -32002  # the code the spec's examples use for an unknown resource


def _without_clock(value: Any) -> Any:
    """Statistics minus the fields that change on every read (time, uptime)."""
    if isinstance(value, dict):
        return {
            k: _without_clock(v)
            for k, v in value.items()
            if k not in ("timestamp", "uptime_seconds", "sampled_at")
        }
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


class Resources:
    def __init__(self, state: ServerState, actions: ActionTools) -> None:
        self.state = state
        self.actions = actions
        backend = state.backend
        self._fixed: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
            STATS_URI: ("stats", "CPU and GPU statistics (subscribe for changes)", backend.stats),
            "ainos://processes": ("processes", "AI processes on this machine", backend.processes),
            "ainos://devices": (
                "devices",
                "Compute devices and execution providers",
                backend.devices,
            ),
        }

    # -- listing --------------------------------------------------------------------------

    def listing(self) -> list[types.Resource]:
        found = [
            types.Resource(uri=uri, name=name, description=description, mime_type=_JSON)
            for uri, (name, description, _) in self._fixed.items()
        ]
        found += [
            types.Resource(
                uri=f"{_ACTIONS}{definition.id}",
                name=definition.id,
                description=f"definition of the action {definition.id}",
                mime_type=_JSON,
            )
            for definition in self.actions.runtime.action_catalog.get_all_actions()
        ]
        found += [
            types.Resource(
                uri=f"{_CONVERSATIONS}{thread.id}",
                name=f"conversation {thread.id[:8]}",
                description=thread.title or "(untitled)",
                mime_type=_JSON,
            )
            for thread in self.state.conversations.store.list_threads(limit=50)
        ]
        return found

    @staticmethod
    def templates() -> list[types.ResourceTemplate]:
        return [
            types.ResourceTemplate(
                uri_template=f"{_ACTIONS}{{id}}",
                name="action",
                description="An AI action's definition",
                mime_type=_JSON,
            ),
            types.ResourceTemplate(
                uri_template=f"{_CONVERSATIONS}{{threadId}}",
                name="conversation",
                description="A coding-agent conversation: its settings and events",
                mime_type=_JSON,
            ),
        ]

    # -- reading --------------------------------------------------------------------------

    def _document(self, uri: str) -> dict[str, Any]:
        fixed = self._fixed.get(uri)
        if fixed is not None:
            return fixed[2]()
        if uri.startswith(_ACTIONS):
            definition = self.actions.runtime.action_catalog.find(uri.removeprefix(_ACTIONS))
            if definition is not None:
                return definition.to_dict()
        if uri.startswith(_CONVERSATIONS):
            from ainos.errors import NotFound

            store = self.state.conversations.store
            try:
                thread = store.get(uri.removeprefix(_CONVERSATIONS))
            except NotFound:
                pass
            else:
                return {
                    "thread": thread.to_dict(),
                    "events": [
                        {"turn": e.turn, "at": e.at, **e.data} for e in store.events(thread.id)
                    ],
                }
        raise MCPError(RESOURCE_NOT_FOUND, f"no resource {uri}", {"uri": uri})

    async def read(self, uri: str) -> types.ReadResourceResult:
        document = await anyio.to_thread.run_sync(self._document, uri)
        text = json.dumps(document, ensure_ascii=False, default=str)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=_JSON, text=text)]
        )

    def known(self, uri: str) -> bool:
        return uri in self._fixed or uri.startswith((_ACTIONS, _CONVERSATIONS))

    # -- watching -------------------------------------------------------------------------

    async def watch_stats(self) -> None:
        """While anyone subscribes to the statistics, push an update when they change."""
        last: str | None = None
        while True:
            await anyio.sleep(self.state.options.stats_interval)
            if not self.state.any_subscribed(STATS_URI):
                last = None
                continue
            try:
                stats = await anyio.to_thread.run_sync(self.state.backend.stats)
            except Exception as exc:  # the daemon went away: try again next tick
                log.debug("statistics unavailable: %s", exc)
                continue
            current = json.dumps(_without_clock(stats), sort_keys=True, default=str)
            if current != last:
                if last is not None:
                    await self.state.broadcast("resource", STATS_URI)
                last = current
