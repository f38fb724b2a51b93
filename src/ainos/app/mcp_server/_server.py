"""The MCP server: the SDK's lowlevel ``Server`` with ainos's tools, resources, prompts,
completions and logging, over whichever transport runs it (stdio, Streamable HTTP).

State lives for the server's life (``ServerState``, made in the lifespan): under HTTP every
session shares it, so a thread started on one connection can be continued on another.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError

import ainos
from ainos.app.mcp_server._backend import Backend, choose_backend
from ainos.app.mcp_server._peer import RequestPeer, connection_key, sdk_connection
from ainos.app.mcp_server._state import Connection, ListenerCount, McpServerOptions, ServerState
from ainos.app.mcp_server._tools import ToolCall, ToolEntry, ToolSet
from ainos.errors import AinosError

__all__ = ["build_server", "initialization_options"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Context = ServerRequestContext[ServerState, Any]

_INSTRUCTIONS = (
    "ainos: the machine's local AI runtime. `codex` runs a coding agent in a working directory "
    "(`codex-reply` continues it); the AI actions run typed tasks (analyze a codebase, "
    "summarise, convert tables); `embed` and `generate` use on-device models; ainos_stats, "
    "ainos_processes and ainos_scheduler read the machine."
)
_LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


def _page(items: Sequence[_T], cursor: str | None, size: int) -> tuple[list[_T], str | None]:
    """One page of ``items`` from an opaque cursor (an offset), and the next cursor."""
    start = 0
    if cursor:
        try:
            start = int(cursor)
        except ValueError:
            start = -1
        if start < 0 or start > len(items):
            raise MCPError(types.INVALID_PARAMS, f"invalid cursor {cursor!r}")
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)


def _connection(ctx: Context) -> Connection:
    state = ctx.lifespan_context
    key = connection_key(ctx)
    connection = state.connections.get(key)
    if connection is None:
        connection = Connection(weakref.ref(sdk_connection(ctx)))
        state.connections[key] = connection
    return connection


async def _log(ctx: Context, level: str, message: str) -> None:
    """A ``notifications/message`` to this connection, when it asked for that level."""
    wanted = _connection(ctx).log_level
    if wanted is None or _LOG_LEVELS.index(level) < _LOG_LEVELS.index(wanted):
        return
    peer = RequestPeer(ctx)
    await peer.notify("notifications/message", {"level": level, "logger": "ainos", "data": message})


# Sent: notifications/tools/list_changed (_watch_catalog). Not sent for the resource list
# (new conversations, actions), so it does not claim resources.listChanged.
_CHANGES = NotificationOptions(tools_changed=True)


class _AinosServer(Server[ServerState]):
    """Advertises the list changes it sends however it is run: the SDK's HTTP session
    manager and in-memory transport ask for the default initialization options, which
    would say ``listChanged: false`` while ``notifications/tools/list_changed`` comes."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or _CHANGES, experimental_capabilities, extensions
        )


def build_server(
    options: McpServerOptions | None = None,
    *,
    backend: Callable[[], Backend] | None = None,
    extra_tools: Iterable[ToolEntry] = (),
    workspace: Path | None = None,
) -> Server[ServerState]:
    """The server. ``backend`` makes where models and statistics run (default: the daemon
    when one answers, else in-process); ``extra_tools`` are served beside ainos's own."""
    options = options or McpServerOptions()
    extras = list(extra_tools)
    bus = ListenerCount()
    root = (workspace or Path.cwd()).resolve()

    @asynccontextmanager
    async def lifespan(_: Server[ServerState]) -> AsyncIterator[ServerState]:
        from ainos.ai.actions import ActionRuntime
        from ainos.app.agent import ConversationStore, ModelChoice
        from ainos.app.mcp_server._actions import ActionTools
        from ainos.app.mcp_server._codex import codex_tools
        from ainos.app.mcp_server._resources import Resources
        from ainos.app.mcp_server._supervisor import supervisor_tool
        from ainos.app.mcp_server._system import system_tools
        from ainos.app.mcp_server._threads import Conversations

        chosen = backend() if backend is not None else choose_backend(options.socket_path)
        choice = ModelChoice(
            on_device=options.on_device,
            realtime=options.realtime,
            socket_path=options.socket_path,
            client_name="ainos-mcp",
        )
        store = ConversationStore()
        conversations = Conversations(store, choice)
        actions = ActionTools(ActionRuntime(client_name="ainos-mcp"), root)
        try:
            async with anyio.create_task_group() as tasks:
                state = ServerState(options, ToolSet(), chosen, conversations, tasks, bus)
                state.tools = ToolSet(
                    [
                        *codex_tools(state),
                        supervisor_tool(state, root),
                        *system_tools(state),
                        *extras,
                    ],
                    [actions.entries],
                )
                state.resources = Resources(state, actions)
                tasks.start_soon(state.resources.watch_stats)
                tasks.start_soon(_watch_catalog, state, actions)
                yield state
                tasks.cancel_scope.cancel()
        finally:
            conversations.shutdown()
            chosen.close()
            store.close()

    async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> Any:
        _connection(ctx)
        state = ctx.lifespan_context
        tools = [e.tool for e in state.tools.entries()]
        page, cursor = _page(tools, params.cursor if params else None, options.page_size)
        return types.ListToolsResult(tools=page, next_cursor=cursor)

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> Any:
        _connection(ctx)
        state = ctx.lifespan_context
        call = ToolCall(
            params.name,
            dict(params.arguments or {}),
            ctx,
            RequestPeer(ctx),
            input_responses=params.input_responses,
            request_state=params.request_state,
        )
        result = await state.tools.call(call)
        if isinstance(result, types.CallToolResult) and result.is_error:
            first = result.content[0] if result.content else None
            text = first.text if isinstance(first, types.TextContent) else ""
            await _log(ctx, "warning", f"{params.name}: {text}"[:500])
        return result

    async def list_resources(ctx: Context, params: types.PaginatedRequestParams | None) -> Any:
        state = ctx.lifespan_context
        listing = await anyio.to_thread.run_sync(state.resources.listing)
        page, cursor = _page(listing, params.cursor if params else None, options.page_size)
        return types.ListResourcesResult(resources=page, next_cursor=cursor)

    async def list_templates(ctx: Context, params: types.PaginatedRequestParams | None) -> Any:
        return types.ListResourceTemplatesResult(
            resource_templates=ctx.lifespan_context.resources.templates()
        )

    async def read_resource(ctx: Context, params: types.ReadResourceRequestParams) -> Any:
        return await ctx.lifespan_context.resources.read(str(params.uri))

    async def subscribe(ctx: Context, params: types.SubscribeRequestParams) -> Any:
        uri = str(params.uri)
        if not ctx.lifespan_context.resources.known(uri):
            raise MCPError(-32002, f"no resource {uri}", {"uri": uri})
        _connection(ctx).subscriptions.add(uri)
        return types.EmptyResult()

    async def unsubscribe(ctx: Context, params: types.UnsubscribeRequestParams) -> Any:
        _connection(ctx).subscriptions.discard(str(params.uri))
        return types.EmptyResult()

    async def list_prompts(ctx: Context, params: types.PaginatedRequestParams | None) -> Any:
        from ainos.app.mcp_server._prompts import PROMPTS

        page, cursor = _page(PROMPTS, params.cursor if params else None, options.page_size)
        return types.ListPromptsResult(prompts=page, next_cursor=cursor)

    async def get_prompt(ctx: Context, params: types.GetPromptRequestParams) -> Any:
        from ainos.app.mcp_server._prompts import get_prompt as render

        return render(params.name, params.arguments)

    async def complete(ctx: Context, params: types.CompleteRequestParams) -> Any:
        from ainos.app.mcp_server._completion import complete as answer

        values = await anyio.to_thread.run_sync(
            answer, ctx.lifespan_context, params.ref, params.argument.name, params.argument.value
        )
        return types.CompleteResult(
            completion=types.Completion(
                values=values[:100], total=len(values), has_more=len(values) > 100
            )
        )

    async def set_level(ctx: Context, params: types.SetLevelRequestParams) -> Any:
        _connection(ctx).log_level = params.level
        return types.EmptyResult()

    server: Server[ServerState] = _AinosServer(
        "ainos",
        version=ainos.__version__,
        title="ainos",
        instructions=_INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_subscriptions_listen=ListenHandler(bus),
    )
    # A call that pauses on a question (2026-07-28) hands the client a requestState to send
    # back; sealed and checked by the SDK, so a client can neither read nor forge one.
    security = RequestStateSecurity.ephemeral(ttl=max(600.0, 2 * options.approval_timeout))
    server.middleware.append(RequestStateBoundary(security, default_audience="ainos"))
    # Logging is deprecated from protocol 2026-07-28 on, but the clients of ``codex
    # mcp-server`` speak earlier versions and set levels; registered after construction so
    # the SDK's constructor warning does not fire for a choice made on purpose.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    _add_conversation_methods(server)
    return server


def _add_conversation_methods(server: Server[ServerState]) -> None:
    """The plan's ``newConversation`` / ``sendUserMessage``: JSON-RPC requests whose
    failures are JSON-RPC errors (invalid params: the reason in one line)."""
    from ainos.app.mcp_server._codex import NewConversationParams, SendUserMessageParams
    from ainos.app.mcp_server._codex import conversation_methods as methods_of

    def wrap(method: str) -> Any:
        async def handler(ctx: Context, params: Any) -> Any:
            _, run = methods_of(ctx.lifespan_context)[method]
            try:
                return await run(ctx, params)
            except AinosError as exc:
                raise MCPError(types.INVALID_PARAMS, f"{method}: {exc}") from None

        return handler

    server.add_request_handler("newConversation", NewConversationParams, wrap("newConversation"))
    server.add_request_handler("sendUserMessage", SendUserMessageParams, wrap("sendUserMessage"))


async def _watch_catalog(state: ServerState, actions: Any) -> None:
    """Tell clients when the action catalog (so the tool list) changes."""
    last = state.tools.signature()
    catalog = actions.runtime.action_catalog
    while True:
        await anyio.sleep(state.options.catalog_interval)
        await anyio.to_thread.run_sync(catalog.refresh)
        current = state.tools.signature()
        if current != last:
            last = current
            await state.broadcast("tools")


def initialization_options(server: Server[ServerState]) -> InitializationOptions:
    return server.create_initialization_options(_CHANGES)
