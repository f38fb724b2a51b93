"""What the live views of the machine (``ainos top``, the web dashboard) show: one record per
look, built by ``ainos.app.monitor`` from the control plane, the model services and the
action and conversation stores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ainos.protocol._base import Record
from ainos.protocol.control import SystemStats
from ainos.protocol.processes import AIProcess

__all__ = ["ActionRun", "AgentRun", "MachineView", "ModelUse"]


class ModelUse(Record):
    """A model a service has loaded, and who uses it now."""

    alias: str
    kind: Literal["embedding", "chat"]
    in_flight: int = Field(description="Requests it is serving now.")
    waiting: int | None = Field(default=None, description="Requests queued at its gate.")
    held_by: list[str] = Field(default_factory=list, description="Clients with a request in.")
    engine: str | None = Field(default=None, description="What runs it (providers, engine).")


class ActionRun(Record):
    """One recorded invocation of an AI action."""

    action_id: str
    started_at: float
    duration_ms: float
    result: str = Field(description="Success, UserCanceled, Unsupported or Unavailable.")
    invoker: str | None = Field(default=None, description="The invoking process's name or pid.")
    error: str | None = None


class AgentRun(Record):
    """One agent conversation: running while a process works on its turn."""

    thread_id: str
    title: str
    model: str
    state: Literal["running", "idle", "interrupted"]
    turns: int
    updated_at: float
    owner_pid: int | None = None


class MachineView(Record):
    """The machine at one moment, as the live views show it."""

    at: float = Field(description="When it was taken, seconds since the epoch.")
    source: Literal["daemon", "in-process"] = Field(
        description="Read from a running daemon, or from a runtime in the viewer's process."
    )
    stats: SystemStats
    processes: list[AIProcess]
    models: list[ModelUse]
    actions: list[ActionRun] = Field(description="Recent action invocations, newest first.")
    agents: list[AgentRun] = Field(description="Recent agent conversations, newest first.")
