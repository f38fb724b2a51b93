"""Running sub-tasks side by side and merging what they found.

Strategies: ``sequential`` (one after another), ``parallel`` (up to ``max_parallel`` at
once), ``hybrid`` (the agents that only read run in parallel first; those that may write run
one at a time after them, so none reads a tree another is changing). Every sub-agent is a
client of its own to the scheduler, in the batch class unless the run is realtime, so fair
sharing keeps one from starving the others; a failing one is reported, never fatal.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ainos.app.agent import AgentConfig, ConversationStore, ModelChoice, open_model_source
from ainos.app.agent.tools import Tool
from ainos.app.supervisor._catalog import AgentCatalog
from ainos.app.supervisor._definition import AgentDefinition
from ainos.app.supervisor._merge import check_merge, merge_results
from ainos.app.supervisor._plan import Plan, plan_tasks
from ainos.app.supervisor._records import SubAgentResult, SupervisorReport
from ainos.app.supervisor._runner import (
    EventSink,
    SubAgentEnv,
    SubTask,
    client_name,
    run_subagent,
)
from ainos.errors import InvalidArgument
from ainos.protocol.scheduler import Priority

if TYPE_CHECKING:
    from ainos.ai.mcp_registry import McpConnections

__all__ = [
    "STRATEGIES",
    "SupervisorOptions",
    "run_supervisor",
    "run_tasks",
]

STRATEGIES = ("sequential", "parallel", "hybrid")
_DEFAULT_PARALLEL = 4
PLANNER_CLIENT = "ainos-supervisor"


@dataclass(frozen=True)
class SupervisorOptions:
    cwd: Path
    agents: tuple[str, ...] = ()  # empty: planned from the request
    strategy: str = "parallel"
    merge: str = "concatenate"
    max_parallel: int | None = None  # None: as many as there are sub-tasks, up to 4
    realtime: bool = False
    on_device: bool = False  # --use-windows-ai
    through_daemon: bool = False  # --kernel-accelerated
    socket_path: Path | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidArgument(
                f"unknown strategy {self.strategy!r}: expected one of {', '.join(STRATEGIES)}"
            )
        check_merge(self.merge)  # before any model loads: a typo costs nothing
        if self.max_parallel is not None and self.max_parallel < 1:
            raise InvalidArgument("--max-parallel must be at least 1")

    def parallelism(self, tasks: int) -> int:
        if self.strategy == "sequential":
            return 1
        return max(1, min(tasks, self.max_parallel or _DEFAULT_PARALLEL))


def _writes(definition: AgentDefinition) -> bool:
    return definition.tools.fs.write_paths() is not None


def run_tasks(
    tasks: Sequence[SubTask], env: SubAgentEnv, strategy: str, max_parallel: int
) -> list[SubAgentResult]:
    """Each task's result, in the order of ``tasks``."""
    results: dict[int, SubAgentResult] = {}
    if strategy == "sequential" or max_parallel == 1:
        waves = [list(range(len(tasks)))]
        width = 1
    elif strategy == "hybrid":
        readers = [i for i, t in enumerate(tasks) if not _writes(t.definition)]
        writers = [i for i, t in enumerate(tasks) if _writes(t.definition)]
        waves = [readers, *([i] for i in writers)]
        width = max_parallel
    else:
        waves = [list(range(len(tasks)))]
        width = max_parallel
    for wave in waves:
        if env.cancel.is_set():
            break
        _run_wave([(i, tasks[i]) for i in wave], env, width, results)
    for i, task in enumerate(tasks):  # those a cancel kept from starting
        results.setdefault(
            i,
            SubAgentResult(task.definition.name, task.request, "stopped", error="not started"),
        )
    return [results[i] for i in range(len(tasks))]


def _run_wave(
    wave: list[tuple[int, SubTask]],
    env: SubAgentEnv,
    width: int,
    results: dict[int, SubAgentResult],
) -> None:
    if width == 1:
        for index, task in wave:
            if env.cancel.is_set():
                return
            results[index] = run_subagent(task, env)
        return
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="ainos-subagent") as pool:
        pending: dict[Future[SubAgentResult], int] = {
            pool.submit(run_subagent, task, env): index for index, task in wave
        }
        try:
            while pending:
                # A timeout keeps the main thread awake for Ctrl-C.
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    results[pending.pop(future)] = future.result()
        except BaseException:
            env.cancel.set()  # the sub-agents stop at their next step; the pool waits for them
            raise


class _RegisteredServers:
    """Tools of the registered MCP servers an agent names in ``tools.mcp`` (a remote one
    only when its host is in ``net.allow``), started per agent, all stopped at the end."""

    def __init__(self) -> None:
        self._opened: list[McpConnections] = []
        self._lock = threading.Lock()

    def tools(self, definition: AgentDefinition) -> list[Tool]:
        named = {entry.split("/", 1)[0] for entry in definition.tools.mcp if "." not in entry}
        if not named:
            return []
        from ainos.ai.mcp_registry import RemoteEndpoint, ServerEntry
        from ainos.app.agent import registered_servers
        from ainos.app.supervisor._policy import host_allowed

        def wanted(entry: ServerEntry) -> bool:
            launch = entry.launch
            remote_allowed = not isinstance(launch, RemoteEndpoint) or host_allowed(
                launch.url, definition.tools.net.allow
            )
            return entry.id in named and remote_allowed

        connections, listed = registered_servers(client_name(definition.name), wanted)
        if connections is None or listed is None:
            return []
        with self._lock:
            self._opened.append(connections)
        return listed()

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connections in opened:
            connections.close()


@dataclass
class SupervisorRun:
    """What a front door watches while a run goes: the plan once made, each event."""

    on_plan: Callable[[Plan], None] | None = None
    on_event: EventSink | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


def run_supervisor(
    request: str,
    options: SupervisorOptions,
    config: AgentConfig,
    *,
    catalog: AgentCatalog | None = None,
    store: ConversationStore | None = None,
    watch: SupervisorRun | None = None,
) -> SupervisorReport:
    """Plan ``request``, run its sub-agents, merge their results."""
    watch = watch or SupervisorRun()
    catalog = catalog or AgentCatalog()
    cwd = options.cwd.resolve()
    if not cwd.is_dir():
        raise InvalidArgument(f"-C {options.cwd}: no such directory")
    started = time.time()
    # Planned before the model loads where the caller or the rules decide (its engine is
    # sized for the sub-tasks), by the model only when neither does.
    plan = plan_tasks(request, catalog, agents=options.agents)
    needs_model = plan.planned_by == "default"
    width = options.parallelism(_DEFAULT_PARALLEL if needs_model else len(plan.tasks))
    choice = ModelChoice(
        on_device=options.on_device,
        through_daemon=options.through_daemon,
        realtime=options.realtime,
        socket_path=options.socket_path,
        priority=Priority.BATCH,
    )
    servers = _RegisteredServers()
    with (
        contextlib.closing(servers),
        open_model_source(config, choice, parallel=width) as models,
    ):
        if needs_model:
            plan = plan_tasks(request, catalog, model=models(PLANNER_CLIENT))
        if watch.on_plan is not None:
            watch.on_plan(plan)
        env = SubAgentEnv(
            cwd=cwd,
            config=config,
            models=models,
            store=store,
            extra_tools=servers.tools,
            on_event=watch.on_event,
            cancel=watch.cancel,
        )
        results = run_tasks(plan.tasks, env, options.strategy, options.parallelism(len(plan.tasks)))
    report = merge_results(
        request,
        options.strategy,
        options.merge,
        results,
        started_at=started,
        finished_at=time.time(),
    )
    report.planned_by = plan.planned_by
    return report
