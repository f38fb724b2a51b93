"""``ainos supervisor "…"`` and ``ainos delegate AGENT --goal "…"``: sub-agents side by side.

Live progress per sub-agent goes to stderr (a table on a terminal, a line per step
otherwise); the merged report goes to stdout, as Markdown or, with ``--json``, as JSON.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ainos.app.cli._output import stderr, write_text_atomically
from ainos.errors import InvalidArgument

if TYPE_CHECKING:
    from rich.table import Table

    from ainos.app.supervisor import Plan, SupervisorOptions, SupervisorReport
    from ainos.protocol.agent import AgentEvent

_REFRESH_PER_SECOND = 4


@dataclass
class _Row:
    state: str = "queued"
    step: str = ""
    started: float | None = None
    finished: float | None = None
    findings: int = 0


@dataclass
class _Progress:
    """Each sub-agent's state, from its events (called from the sub-agents' threads)."""

    live: Any = None
    rows: dict[str, _Row] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def planned(self, plan: Plan) -> None:
        with self.lock:
            self.rows = {task.definition.name: _Row() for task in plan.tasks}
        names = ", ".join(self.rows)
        stderr.print(f"supervisor: {names} (chosen by {plan.planned_by})", style="dim")

    def event(self, agent: str, event: AgentEvent, at: float) -> None:
        from ainos.protocol.agent import (
            CommandExecutionItem,
            ItemCompleted,
            ItemStarted,
            McpToolCallItem,
            TurnCompleted,
            TurnFailed,
        )

        with self.lock:
            row = self.rows.setdefault(agent, _Row())
            if row.started is None:
                row.started, row.state = at, "running"
            line = ""
            if isinstance(event, ItemStarted) and isinstance(event.item, McpToolCallItem):
                row.step = line = event.item.tool
            elif isinstance(event, ItemStarted) and isinstance(event.item, CommandExecutionItem):
                row.step = line = f"$ {event.item.command}"
            elif isinstance(event, ItemCompleted) and isinstance(event.item, McpToolCallItem):
                found = ((event.item.result or {}).get("structured_content") or {}).get("findings")
                if isinstance(found, list):
                    row.findings += len(found)
                row.step = "explaining"
                line = f"{event.item.tool}: {event.item.status.value}"
            elif isinstance(event, TurnCompleted):
                row.state, row.finished, row.step = "done", at, ""
                line = "done"
            elif isinstance(event, TurnFailed):
                row.state, row.finished, row.step = "failed", at, event.error.message[:60]
                line = f"failed: {event.error.message}"
        if self.live is None and line:
            stderr.print(f"[{agent}] {line}", style="dim", markup=False)

    def table(self) -> Table:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in ("agent", "state", "step", "findings", "time"):
            table.add_column(column, justify="right" if column in ("findings", "time") else "left")
        now = time.time()
        with self.lock:
            for name, row in self.rows.items():
                elapsed = f"{(row.finished or now) - row.started:.1f} s" if row.started else ""
                style = {"done": "green", "failed": "red"}.get(row.state, "")
                table.add_row(name, row.state, row.step, str(row.findings), elapsed, style=style)
        return table


def _run(request: str, options: SupervisorOptions, *, as_json: bool, output: Path | None) -> int:
    from rich.live import Live

    from ainos.app.agent import ConversationStore, load_config
    from ainos.app.supervisor import SupervisorRun, render_json, render_markdown, run_supervisor

    config = load_config()
    progress = _Progress()
    watch = SupervisorRun(on_plan=progress.planned, on_event=progress.event)
    terminal = stderr.is_terminal
    with ConversationStore() as store:
        if terminal:
            # Rendered anew at each refresh, so the running times tick between events.
            with Live(
                console=stderr,
                refresh_per_second=_REFRESH_PER_SECOND,
                transient=False,
                get_renderable=progress.table,
            ) as live:
                progress.live = live
                report = run_supervisor(request, options, config, store=store, watch=watch)
        else:
            report = run_supervisor(request, options, config, store=store, watch=watch)
    text = render_json(report) if as_json else render_markdown(report)
    if output is not None:
        write_text_atomically(output, text)
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()
    return _exit_code(report)


def _exit_code(report: SupervisorReport) -> int:
    completed = sum(r.status == "completed" for r in report.results)
    if completed < len(report.results):
        failed = ", ".join(r.agent for r in report.results if r.status != "completed")
        stderr.print(f"ainos: {failed} did not complete (see the report)", style="yellow")
    return 0 if completed else 1


def _request(words: list[str]) -> str:
    text = " ".join(words).strip()
    if text == "-":
        text = sys.stdin.read().strip()
    if not text:
        raise InvalidArgument('give a request, e.g. ainos supervisor "Comprehensive code review"')
    return text


_CD = typer.Option(None, "--cd", "-C", help="Work in this directory.")
_JSON = typer.Option(False, "--json", help="Print the merged report as JSON.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Also write the report to this file.")
_REALTIME = typer.Option(
    False, "--realtime", help="Realtime scheduling class (default: batch), with a deadline."
)
_WINDOWS_AI = typer.Option(
    False,
    "--use-windows-ai",
    "--windows-ai",
    help="Run the sub-agents' model on the on-device AI platform layer.",
)
_KERNEL = typer.Option(
    False,
    "--kernel-accelerated",
    help="Route generations through the daemon's scheduler (starting one if needed).",
)
_SOCKET = typer.Option(None, "--socket", help="The daemon's control socket.")


def supervisor(
    words: list[str] = typer.Argument(None, metavar="REQUEST|-", help="What to do."),
    cd: Path | None = _CD,
    agents: str | None = typer.Option(
        None, "--agents", help="Sub-agents to run, comma-separated (default: planned)."
    ),
    strategy: str = typer.Option(
        "parallel", "--strategy", help="sequential | parallel | hybrid (readers, then writers)."
    ),
    merge: str = typer.Option(
        "concatenate", "--merge", help="concatenate | voting | highest_score"
    ),
    max_parallel: int | None = typer.Option(
        None, "--max-parallel", help="Sub-agents at once (default: all, up to 4)."
    ),
    as_json: bool = _JSON,
    output: Path | None = _OUTPUT,
    realtime: bool = _REALTIME,
    use_windows_ai: bool = _WINDOWS_AI,
    kernel_accelerated: bool = _KERNEL,
    socket_path: Path | None = _SOCKET,
) -> int:
    """Fan REQUEST out to sub-agents, show their progress, print the merged report."""
    from ainos.app.supervisor import SupervisorOptions

    names = tuple(n.strip() for n in (agents or "").split(",") if n.strip())
    if agents is not None and not names:
        raise InvalidArgument("--agents names no agent")
    options = SupervisorOptions(
        cwd=(cd or Path.cwd()).expanduser(),
        agents=names,
        strategy=strategy,
        merge=merge,
        max_parallel=max_parallel,
        realtime=realtime,
        on_device=use_windows_ai,
        through_daemon=kernel_accelerated,
        socket_path=socket_path,
    )
    return _run(_request(list(words or [])), options, as_json=as_json, output=output)


def delegate(
    agent: str = typer.Argument(..., help="The agent (name or alias; see ainos agents list)."),
    goal: str = typer.Option(..., "--goal", "-g", help="What to ask it."),
    cd: Path | None = _CD,
    as_json: bool = _JSON,
    output: Path | None = _OUTPUT,
    realtime: bool = _REALTIME,
    use_windows_ai: bool = _WINDOWS_AI,
    kernel_accelerated: bool = _KERNEL,
    socket_path: Path | None = _SOCKET,
) -> int:
    """Run one sub-agent on GOAL and print its report."""
    from ainos.app.supervisor import SupervisorOptions

    options = SupervisorOptions(
        cwd=(cd or Path.cwd()).expanduser(),
        agents=(agent,),
        strategy="sequential",
        realtime=realtime,
        on_device=use_windows_ai,
        through_daemon=kernel_accelerated,
        socket_path=socket_path,
    )
    return _run(_request([goal]), options, as_json=as_json, output=output)


def register(app: typer.Typer) -> None:
    app.command(
        "supervisor",
        context_settings={"allow_interspersed_args": True},
        help="Fan one request out to sub-agents that run side by side, and merge their results "
        "into one report.",
    )(supervisor)
    app.command("delegate", help="Run one sub-agent (an agent definition) on a goal.")(delegate)
