"""The agent conversations this server runs: live sessions by thread id, the models they
share, and the settings a client starts one with.

Conversations are the agent's own (``ConversationStore``), so a thread started here can be
replayed with ``ainos conversations show`` and continued after a restart: a thread that is
not live is resumed from the store. One turn at a time per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ainos.app.agent import (
    AgentConfig,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRules,
    ConversationStore,
    Instructions,
    ModelChoice,
    load_config,
    open_model,
    start_session,
)
from ainos.errors import InvalidArgument

if TYPE_CHECKING:
    from ainos.app.agent import AgentRun, Approver, Model
    from ainos.app.mcp_server._turns import Turn

__all__ = ["Conversations", "LiveThread", "ThreadSettings"]


@dataclass(frozen=True)
class ThreadSettings:
    """What a client may choose when it starts a conversation (the ``codex`` tool's
    arguments and ``newConversation``'s params)."""

    cwd: Path | None = None
    model: str | None = None
    profile: str | None = None
    approval_policy: str | None = None
    sandbox: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    base_instructions: str | None = None
    developer_instructions: str | None = None


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: the config object as dotted overrides."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


# A stored thread's settings (``AgentConfig.settings()``) and the config keys they are read
# back from when the thread is resumed.
_RESUMED_SETTINGS = {
    "model_provider": "model_provider",
    "approval_policy": "approval_policy",
    "sandbox_mode": "sandbox_mode",
    "network_access": "sandbox_workspace_write.network_access",
    "writable_roots": "sandbox_workspace_write.writable_roots",
    "max_steps": "agent.max_steps",
    "max_tokens": "agent.max_tokens",
    "max_seconds": "agent.max_seconds",
    "allow_list_only": "approvals_allow_list_only",
}


class _Switch:
    """The approver of a thread's current turn: each turn asks on its own tool call."""

    def __init__(self) -> None:
        self.target: Approver | None = None

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        if self.target is None:
            return ApprovalDecision.DENIED
        return self.target.ask(request)


@dataclass
class LiveThread:
    run: AgentRun
    config: AgentConfig
    approver: _Switch
    busy: threading.Lock = field(default_factory=threading.Lock)
    turn: Turn | None = None  # the turn running now
    closed: bool = False  # released: its run is closed when no turn holds it

    @property
    def id(self) -> str:
        return self.run.thread.id

    @property
    def cwd(self) -> Path:
        return self.run.session.context.cwd

    def stop(self) -> None:
        self.run.session.context.cancel.set()
        turn = self.turn
        if turn is not None:
            turn.release()

    def release(self) -> None:
        """Stop its turn and close its run (its MCP servers): now when idle, else when the
        running turn ends."""
        self.closed = True
        self.stop()
        if self.busy.acquire(blocking=False):
            try:
                self.run.close()
            finally:
                self.busy.release()


class _Models:
    """Models opened on first use and kept for the server's life, shared by threads."""

    def __init__(self, choice: ModelChoice) -> None:
        self._choice = choice
        self._stack = ExitStack()
        self._open: dict[tuple[str, str], Model] = {}
        self._lock = threading.Lock()

    def get(self, config: AgentConfig) -> Model:
        key = (config.model_provider, config.model)
        with self._lock:
            model = self._open.get(key)
            if model is None:
                model = self._stack.enter_context(open_model(config, self._choice))
                self._open[key] = model
            return model

    def close(self) -> None:
        with self._lock:
            self._open.clear()
            self._stack.close()


class Conversations:
    """Live threads, created and resumed in worker threads (loading a model takes time)."""

    def __init__(self, store: ConversationStore, choice: ModelChoice) -> None:
        self.store = store
        self._models = _Models(choice)
        self._live: dict[str, LiveThread] = {}
        self._lock = threading.Lock()
        self._rules = ApprovalRules()

    def _session(
        self, config: AgentConfig, cwd: Path, settings: ThreadSettings, resume: Any = None
    ) -> LiveThread:
        approver = _Switch()
        instructions = None
        if settings.base_instructions or settings.developer_instructions:
            instructions = Instructions.for_workspace(
                cwd,
                base=settings.base_instructions,
                developer=settings.developer_instructions or "",
            )
        run = start_session(
            self._models.get(config),
            config,
            cwd,
            approver=approver,
            store=self.store,
            resume=resume,
            rules=self._rules,
            instructions=instructions,
        )
        live = LiveThread(run, config, approver)
        with self._lock:
            self._live[live.id] = live
        return live

    def create(self, settings: ThreadSettings) -> LiveThread:
        cwd = (settings.cwd or Path.cwd()).expanduser()
        if not cwd.is_dir():
            raise InvalidArgument(f"cwd: not a directory: {cwd}")
        cli: dict[str, object] = _flatten(settings.config)
        chosen = {
            "model": settings.model,
            "approval_policy": settings.approval_policy,
            "sandbox_mode": settings.sandbox,
        }
        # An argument left out keeps what the config object says (None would erase it).
        cli.update({key: value for key, value in chosen.items() if value is not None})
        config = load_config(profile=settings.profile, cli=cli)
        return self._session(config, cwd.resolve(), settings)

    def get(self, thread_id: str) -> LiveThread:
        """The live thread, or the stored one resumed (``NotFound`` when neither exists)."""
        with self._lock:
            live = self._live.get(thread_id)
        if live is not None:
            return live
        stored = self.store.get(thread_id)
        with self._lock:
            live = self._live.get(stored.id)
        if live is not None:
            return live
        # The settings the thread was started with (its sandbox, its approval policy), not
        # the config file's: reopening a thread must not widen what it may do.
        cli: dict[str, object] = {"model": stored.model or None}
        for name, key in _RESUMED_SETTINGS.items():
            if stored.settings.get(name) is not None:
                cli[key] = stored.settings[name]
        config = load_config(cli=cli)
        cwd = stored.cwd if stored.cwd.is_dir() else Path.cwd()
        return self._session(config, cwd, ThreadSettings(), resume=stored)

    def live(self, thread_id: str) -> LiveThread | None:
        with self._lock:
            return self._live.get(thread_id)

    def live_ids(self) -> list[str]:
        with self._lock:
            return list(self._live)

    def close(self, thread_id: str) -> bool:
        """Stop the thread's turn, if any, and forget the live session (the stored
        conversation stays)."""
        with self._lock:
            live = self._live.pop(thread_id, None)
        if live is None:
            return False
        live.release()
        return True

    def shutdown(self) -> None:
        with self._lock:
            threads = list(self._live.values())
            self._live.clear()
        for live in threads:
            live.release()
        self._models.close()
