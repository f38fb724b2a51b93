"""Building a :class:`MachineView` from a runtime in this process, or reading the daemon's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ainos.ai.actions import ActionHistory
from ainos.app.agent import ConversationStore
from ainos.protocol import StatsSnapshot
from ainos.protocol.monitor import ActionRun, AgentRun, MachineView, ModelUse

if TYPE_CHECKING:
    from ainos.app.api import DaemonApi
    from ainos.app.runtime import Runtime

__all__ = ["VIEW_PATH", "Monitor", "fetch_view"]

VIEW_PATH = "/ainos/view"  # the daemon's API route serving the view as JSON
_RECENT = 20


class Monitor:
    """Looks at ``runtime`` (its kernel, its model services) and at the action and
    conversation stores of this ``AINOS_HOME``, which it only reads: a store that does not
    exist yet is shown empty, never created."""

    def __init__(self, runtime: Runtime, *, source: str = "in-process", recent: int = _RECENT):
        if source not in ("in-process", "daemon"):
            raise ValueError(f"unknown view source {source!r}")
        self._runtime = runtime
        self._source = source
        self._recent = recent
        self._actions = ActionHistory()
        self._conversations: ConversationStore | None = None

    def look(self) -> MachineView:
        runtime = self._runtime
        scan = runtime.kernel.processes.scan()  # once: each scan resets the CPU readings
        return MachineView(
            at=time.time(),
            source="daemon" if self._source == "daemon" else "in-process",
            stats=runtime.stats(scan),
            processes=scan.processes,
            models=self._models(),
            actions=self._action_runs(),
            agents=self._agent_runs(),
        )

    def device_history(self) -> list[StatsSnapshot]:
        """The telemetry sampler's recent samples of every device, oldest first (its ring
        buffer: a minute at the default rate), for charts that start filled."""
        return self._runtime.kernel.sampler.history()

    def close(self) -> None:
        if self._conversations is not None:
            self._conversations.close()

    def _models(self) -> list[ModelUse]:
        runtime = self._runtime
        gates = runtime.embeddings.gate_stats()
        models = []
        for model in runtime.embeddings.loaded():
            gate = gates.get(model.alias)
            models.append(
                ModelUse(
                    alias=model.alias,
                    kind="embedding",
                    in_flight=model.requests_in_flight,
                    waiting=gate.waiting if gate is not None else model.requests_waiting,
                    held_by=sorted(set(gate.holders)) if gate is not None else [],
                    engine=", ".join(model.providers),
                )
            )
        models.extend(
            ModelUse(
                alias=model.alias,
                kind="chat",
                in_flight=model.requests_in_flight,
                waiting=model.requests_waiting,
                engine=", ".join(model.providers),
            )
            for model in runtime.llm.loaded()
        )
        return models

    def _action_runs(self) -> list[ActionRun]:
        if not _exists(self._actions.path):
            return []
        return [
            ActionRun(
                action_id=record.action_id,
                started_at=record.started_at,
                duration_ms=record.duration_ms,
                result=record.result.wire_name,
                invoker=record.invoker_name
                or (str(record.invoker_pid) if record.invoker_pid else None),
                error=record.extended_error,
            )
            for record in self._actions.invocations(limit=self._recent)
        ]

    def _agent_runs(self) -> list[AgentRun]:
        if self._conversations is None:
            store = ConversationStore()
            if not _exists(store.path):
                return []
            self._conversations = store
        return [
            AgentRun(
                thread_id=thread.id,
                title=thread.title,
                model=thread.model,
                state="interrupted" if thread.interrupted else thread.state,
                turns=thread.turns,
                updated_at=thread.updated_at,
                owner_pid=thread.owner_pid,
            )
            for thread in self._conversations.list_threads(limit=self._recent)
        ]


def fetch_view(api: DaemonApi) -> MachineView:
    """The daemon's view of the machine, read over its API."""
    return MachineView.model_validate(api.json("GET", VIEW_PATH))


def _exists(path: Path) -> bool:
    return path.is_file()
