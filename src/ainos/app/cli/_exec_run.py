"""Running ``ainos exec``: composing the agent from the options, showing its progress on
stderr (or events on stdout), and asking approvals on the terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.markup import escape
from rich.status import Status

from ainos.app.agent import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRules,
    ConversationStore,
    ModelChoice,
    NoApprover,
    is_git_repository,
    load_config,
    open_model,
    start_session,
)
from ainos.app.cli._output import stderr
from ainos.errors import InvalidArgument
from ainos.protocol.agent import (
    AgentEvent,
    AgentMessageItem,
    CommandExecutionItem,
    ErrorItem,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    McpToolCallItem,
    ReasoningItem,
    ThreadStarted,
    TodoListItem,
    TurnCompleted,
    TurnFailed,
    UserMessage,
)

JsonSink = Callable[[object], None]


@dataclass
class ExecOptions:
    prompt: str
    cwd: Path
    output_schema: dict[str, Any] | None = None
    profile: str | None = None
    overrides: list[str] = field(default_factory=list)
    cli: dict[str, object] = field(default_factory=dict)
    skip_git_repo_check: bool = False
    resume_id: str | None = None
    resume_last: bool = False
    use_windows_ai: bool = False
    kernel_accelerated: bool = False
    realtime: bool = False
    socket_path: Path | None = None


# -- approvals on the terminal ----------------------------------------------------------


_ANSWERS: Mapping[str, ApprovalDecision] = {
    "y": ApprovalDecision.APPROVED,
    "yes": ApprovalDecision.APPROVED,
    "n": ApprovalDecision.DENIED,
    "no": ApprovalDecision.DENIED,
    "a": ApprovalDecision.APPROVED_FOR_SESSION,
    "p": ApprovalDecision.APPROVED_FOR_PROJECT,
    "q": ApprovalDecision.ABORT,
}


class TerminalApprover:
    """Asks on the controlling terminal: y / n / a (always, this session) / p (always, this
    project) / q (no, and end the turn). Stdout is untouched: it may carry JSONL."""

    def __init__(
        self, tty: TextIO, pause: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> None:
        self._tty = tty
        self._pause = pause

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        with self._pause():
            what = {"exec": "Run", "mcp": "Call"}.get(request.kind, "Apply the patch")
            stderr.print(f"[bold]{what}:[/bold] {escape(request.describe())}")
            if request.reason:
                stderr.print(f"  reason: {escape(request.reason)}", style="dim")
            if request.diff:
                stderr.print(escape(request.diff.rstrip()), style="dim")
            while True:
                stderr.print(
                    "Allow? [y]es / [n]o / [a]lways this session / always for this [p]roject "
                    "/ [q]uit the turn: ",
                    end="",
                )
                line = self._tty.readline()
                if not line:
                    return ApprovalDecision.DENIED
                answer = _ANSWERS.get(line.strip().lower())
                if answer is not None:
                    return answer


@contextlib.contextmanager
def _terminal() -> Iterator[TextIO | None]:
    try:
        tty = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        yield None
        return
    try:
        yield tty
    finally:
        tty.close()


# -- progress on stderr -----------------------------------------------------------------


class _Progress:
    """A spinner while the agent works, and one line per finished step."""

    def __init__(self) -> None:
        self._status = Status("working", console=stderr) if stderr.is_terminal else None

    def __enter__(self) -> _Progress:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._status is not None:
            self._status.stop()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self._status is not None:
            self._status.stop()
        try:
            yield
        finally:
            if self._status is not None:
                self._status.start()

    def show(self, event: AgentEvent) -> None:
        if isinstance(event, ItemStarted) and self._status is not None:
            self._status.update(escape(_describe_start(event)))
        elif isinstance(event, ItemCompleted) and not isinstance(event.item, AgentMessageItem):
            stderr.print(escape(_describe_done(event)), style="dim")
        elif isinstance(event, TurnFailed):
            stderr.print(f"ainos: error: {escape(event.error.message)}")


def _describe_start(event: ItemStarted) -> str:
    item = event.item
    if isinstance(item, CommandExecutionItem):
        return f"running {item.command}"
    if isinstance(item, McpToolCallItem):
        return f"{item.server}.{item.tool}"
    return item.type.replace("_", " ")


def _describe_done(event: ItemCompleted) -> str:
    item = event.item
    if isinstance(item, CommandExecutionItem):
        return f"$ {item.command}  → exit {item.exit_code} ({item.status})"
    if isinstance(item, FileChangeItem):
        changed = ", ".join(f"{c.kind} {c.path}" for c in item.changes) or "no files"
        return f"patch ({item.status}): {changed}"
    if isinstance(item, McpToolCallItem):
        arguments = ", ".join(f"{k}={v!r}" for k, v in item.arguments.items())
        suffix = f": {item.error['message']}" if item.error else ""
        return f"{item.server}.{item.tool}({arguments}) → {item.status}{suffix}"
    if isinstance(item, TodoListItem):
        return "plan: " + "; ".join(("✓ " if e.completed else "· ") + e.text for e in item.items)
    if isinstance(item, ReasoningItem):
        return f"thinking: {item.text[:200]}"
    if isinstance(item, ErrorItem):
        return f"error: {item.message}"
    return item.type


# -- the run ----------------------------------------------------------------------------


def _check_workspace(options: ExecOptions) -> Path:
    cwd = options.cwd.resolve()
    if not cwd.is_dir():
        raise InvalidArgument(f"-C {options.cwd}: no such directory")
    if not options.skip_git_repo_check and not is_git_repository(cwd):
        raise InvalidArgument(
            f"{cwd} is not inside a git repository; pass --skip-git-repo-check to run here anyway"
        )
    return cwd


def run_exec(options: ExecOptions, emit: JsonSink | None) -> tuple[bool, str | None]:
    """Run one turn; (whether it completed, the final answer)."""
    cwd = _check_workspace(options)
    config = load_config(profile=options.profile, overrides=options.overrides, cli=options.cli)
    store = ConversationStore()
    resume = None
    if options.resume_last:
        resume = store.last(cwd) or store.last()
        if resume is None:
            raise InvalidArgument("no conversation to resume")
    elif options.resume_id is not None:
        resume = store.get(options.resume_id)
    if resume is not None:
        if resume.state == "running" and not resume.interrupted:
            raise InvalidArgument(
                f"thread {resume.id} is being run by process {resume.owner_pid}; wait for it"
            )
        cwd = resume.cwd if resume.cwd.is_dir() else cwd
    choice = ModelChoice(
        on_device=options.use_windows_ai,
        through_daemon=options.kernel_accelerated,
        realtime=options.realtime,
        socket_path=options.socket_path,
    )
    answer: str | None = None
    completed = False
    with _Progress() as progress, _terminal() as tty, store:
        approver = TerminalApprover(tty, progress.paused) if tty is not None else NoApprover()
        with (
            open_model(config, choice) as model,
            start_session(
                model,
                config,
                cwd,
                approver=approver,
                store=store,
                resume=resume,
                rules=ApprovalRules(),
            ) as run,
        ):
            if emit is not None:
                emit(ThreadStarted(thread_id=run.thread.id).to_dict())
            elif resume is None:
                stderr.print(f"thread {run.thread.id} · {model.name} · {cwd}", style="dim")
            else:
                stderr.print(f"resuming thread {run.thread.id}", style="dim")
            for event in run.run_turn(options.prompt, output_schema=options.output_schema):
                progress.show(event)
                if emit is not None and not isinstance(event, UserMessage):
                    emit(event.to_dict())
                if isinstance(event, ItemCompleted) and isinstance(event.item, AgentMessageItem):
                    answer = event.item.text
                completed = completed or isinstance(event, TurnCompleted)
    return completed, answer
