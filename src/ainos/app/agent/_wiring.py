"""Composing an agent: the model its configuration names, its tools, sandbox, approvals and
conversation store — one place used by ``ainos exec``, the ``Ainos.Codex`` action, the
benchmark and the MCP server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ainos.app.agent._approval import ApprovalGate, Approver, NoApprover
from ainos.app.agent._config import AgentConfig
from ainos.app.agent._instructions import Instructions
from ainos.app.agent._loop import Budgets, Session
from ainos.app.agent._model import Model
from ainos.app.agent._rules import ApprovalRules, project_root
from ainos.app.agent._store import ConversationStore, ThreadInfo
from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy
from ainos.app.agent.tools import (
    Tool,
    ToolBox,
    ToolContext,
    action_tools,
    builtin_tools,
    mcp_tools,
)
from ainos.errors import InvalidArgument
from ainos.protocol.agent import AgentEvent
from ainos.protocol.scheduler import ClientIdentity, Priority

if TYPE_CHECKING:
    from ainos.ai.mcp_registry import McpConnections, ServerEntry

__all__ = [
    "REALTIME_DEADLINE_MS",
    "AgentRun",
    "ModelChoice",
    "ModelSource",
    "open_model",
    "open_model_source",
    "registered_servers",
    "start_session",
]

# A realtime generation that has not finished in this long has missed its point.
REALTIME_DEADLINE_MS = 60_000.0
_CLIENT = "ainos-agent"


@dataclass(frozen=True)
class ModelChoice:
    """Where generations run: ``on_device`` forces the local AI platform layer
    (``--use-windows-ai``), ``through_daemon`` the daemon's scheduler, started if need be
    (``--kernel-accelerated``); ``realtime`` the realtime class with a deadline, else
    ``priority`` (default interactive)."""

    on_device: bool = False
    through_daemon: bool = False
    realtime: bool = False
    socket_path: Path | None = None
    client_name: str = _CLIENT
    priority: Priority = Priority.INTERACTIVE


def _priority(choice: ModelChoice) -> tuple[Priority, float | None]:
    if choice.realtime:
        return Priority.REALTIME, REALTIME_DEADLINE_MS
    return choice.priority, None


# A model for one client of the scheduler (its name: what fair sharing accounts by).
ModelSource = Callable[[str], Model]


@contextlib.contextmanager
def open_model(config: AgentConfig, choice: ModelChoice) -> Iterator[Model]:
    """The model ``config`` names, open for the duration of the block."""
    with open_model_source(config, choice) as source:
        yield source(choice.client_name)


@contextlib.contextmanager
def open_model_source(
    config: AgentConfig, choice: ModelChoice, *, parallel: int = 1
) -> Iterator[ModelSource]:
    """Models of the one ``config`` names, one per client, open for the duration of the
    block: several agents share one engine (in-process: ``parallel`` sequences decoded
    together), each a client of its own to the scheduler."""
    from ainos.app.agent import providers

    priority, deadline = _priority(choice)
    provider = "local" if choice.on_device else config.model_provider
    if choice.through_daemon and provider not in ("local", "ainos"):
        raise InvalidArgument(
            f"--kernel-accelerated routes the on-device model through the daemon; the "
            f"provider {provider!r} is remote"
        )
    with contextlib.ExitStack() as opened:
        if config.provider is not None and provider == config.model_provider:
            settings = config.provider

            def remote(client: str) -> Model:
                return opened.enter_context(
                    providers.OpenAIModel(
                        config.model,
                        base_url=settings.base_url,
                        api_key=settings.api_key(),
                        api_key_env=settings.env_key,
                        wire_api=settings.wire_api,
                        headers=dict(settings.http_headers),
                        query_params=dict(settings.query_params),
                    )
                )

            yield remote
            return
        daemon_url = providers.ensure_daemon(
            choice.socket_path, start=choice.through_daemon or provider == "ainos"
        )
        if daemon_url is not None:
            url = daemon_url

            def daemon(client: str) -> Model:
                return opened.enter_context(
                    providers.DaemonModel(
                        config.model,
                        url,
                        priority=priority,
                        client_name=client,
                        deadline_ms=deadline,
                    )
                )

            yield daemon
            return
        service = opened.enter_context(_in_process_llm(config.model, parallel))

        def local(client: str) -> Model:
            return providers.LocalModel(
                service,
                config.model,
                client=ClientIdentity(name=client),
                priority=priority,
                deadline_ms=deadline,
            )

        yield local


@contextlib.contextmanager
def _in_process_llm(model: str, parallel: int = 1) -> Iterator[Any]:
    """The on-device LLM service of an embedded runtime (no daemon): ``parallel`` sequences
    (one more, kept for realtime work, when there are several), the model's own window."""
    from ainos.ai.ml.llm import LlmLimits
    from ainos.app.runtime import Runtime, RuntimeConfig
    from ainos.kernel.control import ServicesConfig

    limits = LlmLimits(parallel=1, reserved=0) if parallel <= 1 else LlmLimits(parallel + 1, 1)
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        llm_limits=limits,
    )
    with Runtime(config) as runtime:
        runtime.llm.load(model)
        yield runtime.llm


def sandbox_policy(config: AgentConfig, cwd: Path) -> SandboxPolicy:
    return SandboxPolicy(
        mode=SandboxMode(config.sandbox_mode),
        workspace=cwd,
        writable_roots=config.writable_roots,
        network=config.network_access,
    )


@dataclass
class AgentRun:
    """A session bound to its stored thread. :meth:`close` (or leaving a ``with`` block)
    stops the MCP servers the session started."""

    session: Session
    thread: ThreadInfo
    store: ConversationStore | None
    resumed: bool = False
    mcp: McpConnections | None = None

    def close(self) -> None:
        if self.mcp is not None:
            self.mcp.close()

    def __enter__(self) -> AgentRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_turn(self, prompt: str, **kwargs: Any) -> Iterator[AgentEvent]:
        if self.store is None:
            yield from self.session.run_turn(prompt, **kwargs)
            return
        self.store.begin_turn(self.thread.id, prompt)
        try:
            yield from self.session.run_turn(prompt, **kwargs)
        finally:
            self.store.end_turn(self.thread.id)


def start_session(
    model: Model,
    config: AgentConfig,
    cwd: Path,
    *,
    approver: Approver | None = None,
    store: ConversationStore | None = None,
    resume: ThreadInfo | None = None,
    rules: ApprovalRules | None = None,
    instructions: Instructions | None = None,
    with_actions: bool = True,
    with_mcp: bool = True,
    tools: ToolBox | None = None,
    sandbox: SandboxPolicy | None = None,
) -> AgentRun:
    """A session in ``cwd`` (a new thread, or ``resume``'s history replayed). Its tools are
    the built-in ones, the AI actions (``with_actions``) and the tools of every enabled
    registered MCP server (``with_mcp``; started on first use, stopped by ``close``);
    ``tools`` and ``sandbox`` replace them (a sub-agent's, narrowed to its definition)."""
    cwd = cwd.resolve()
    gate = ApprovalGate(
        config.approval_policy,
        approver or NoApprover(),
        project_root(cwd),
        rules=rules,
        allow_list_only=config.allow_list_only,
    )
    context = ToolContext(cwd=cwd, sandbox=sandbox or sandbox_policy(config, cwd), gate=gate)
    connections = None
    if tools is None:
        found = builtin_tools()
        if with_actions:
            from ainos.ai.actions import ActionRuntime

            found += action_tools(ActionRuntime(client_name=_CLIENT))
        connections, later = registered_servers() if with_mcp else (None, None)
        tools = ToolBox(found, later=later)
    history: list[dict[str, Any]] = []
    first_turn = 1
    if store is not None and resume is not None:
        thread = resume
        history = store.messages(resume.id)
        first_turn = resume.turns + 1
    elif store is not None:
        thread = store.create_thread(
            cwd=cwd, model=model.name, provider=config.model_provider, settings=config.settings()
        )
    else:
        import uuid

        thread = ThreadInfo(
            id=str(uuid.uuid4()),
            created_at=0.0,
            updated_at=0.0,
            cwd=cwd,
            model=model.name,
            provider=config.model_provider,
            title="",
            turns=0,
            settings=config.settings(),
            state="idle",
        )

    def on_event(event: AgentEvent, turn: int) -> None:
        if store is not None:
            store.append_event(thread.id, turn, event.to_dict())

    def on_message(message: dict[str, Any], turn: int) -> None:
        if store is not None:
            store.append_message(thread.id, turn, message)

    session = Session(
        model,
        tools,
        context,
        instructions or Instructions.for_workspace(cwd),
        budgets=Budgets(config.max_steps, config.max_tokens, config.max_seconds),
        history=history,
        on_event=on_event,
        on_message=on_message,
        first_turn=first_turn,
    )
    return AgentRun(session, thread, store, resumed=resume is not None, mcp=connections)


def registered_servers(
    client: str = _CLIENT, wanted: Callable[[ServerEntry], bool] | None = None
) -> tuple[McpConnections | None, Callable[[], list[Tool]] | None]:
    """Client sessions (as ``client``) with every enabled registered MCP server but ainos
    itself (which would run an agent inside the agent) that ``wanted`` accepts, and what
    lists their tools on first use (starting the servers)."""
    from ainos.ai.mcp_registry import McpRegistry

    registry = McpRegistry()
    entries = [
        e for e in registry.entries(builtin=False) if e.enabled and (wanted is None or wanted(e))
    ]
    if not entries:
        return None, None  # the SDK is not even imported
    from ainos.ai.mcp_registry import McpConnections

    connections = McpConnections(entries, client_name=client, host=client)
    return connections, lambda: mcp_tools(connections, registry)
