"""``ainos conversations``: the coding agent's stored threads — list, show, remove."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import emit_json, emit_json_line, human_age, stderr, stdout
from ainos.errors import InvalidArgument

if TYPE_CHECKING:
    from ainos.app.agent._store import ConversationStore, StoredEvent, ThreadInfo

conversations_app = typer.Typer(
    name="conversations",
    help="The coding agent's stored conversations: list them, replay one, remove one.",
    no_args_is_help=True,
)

_OUTPUT_LINES = 12  # of a command's output shown by `show`
_SHORT_ID = 8


def _store() -> ConversationStore:
    # Imported here: the agent package is large, and the CLI must start fast.
    from ainos.app.agent._store import ConversationStore

    return ConversationStore()


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _state(thread: ThreadInfo) -> str:
    if thread.interrupted:
        return "interrupted"
    return "running" if thread.state == "running" else ""


@conversations_app.command("list")
def list_conversations(
    limit: int = typer.Option(50, "--limit", "-n", help="How many, most recent first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Stored conversations, most recently active first."""
    if limit < 1:
        raise InvalidArgument(f"--limit must be at least 1, got {limit}")
    with _store() as store:
        threads = store.list_threads(limit)
    if as_json:
        emit_json([thread.to_dict() for thread in threads])
        return
    if not threads:
        stderr.print("no conversations yet (start one with ainos exec)")
        return
    table = Table(title="conversations", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("updated", no_wrap=True)
    table.add_column("turns", justify="right")
    table.add_column("model")
    table.add_column("cwd")
    table.add_column("title")
    table.add_column("state")
    now = time.time()
    for thread in threads:
        state = _state(thread)
        table.add_row(
            thread.id[:_SHORT_ID],
            f"{human_age(thread.updated_at, now)} ago",
            str(thread.turns),
            escape(thread.model),
            escape(str(thread.cwd)),
            escape(thread.title),
            f"[yellow]{state}[/yellow]" if state == "interrupted" else state,
        )
    stdout.print(table)


@conversations_app.command("show")
def show(
    thread_id: str = typer.Argument(..., metavar="ID", help="The id, or a unique prefix (4+)."),
    as_json: bool = typer.Option(False, "--json", help="Print the events as JSON lines."),
) -> None:
    """One conversation: its settings, then every prompt, answer, command and change."""
    with _store() as store:
        thread = store.get(thread_id)
        events = store.events(thread.id)
    if as_json:
        for event in events:
            emit_json_line(event.data)
        return
    _print_header(thread)
    for line in render_events(events):
        stdout.print(line, soft_wrap=True)
    if thread.interrupted:
        stdout.print("[yellow](interrupted: the last turn did not finish)[/yellow]")
    elif thread.state == "running":
        stdout.print(f"[dim](a turn is running in process {thread.owner_pid})[/dim]")


@conversations_app.command("rm")
def remove(
    thread_id: str = typer.Argument(..., metavar="ID", help="The id, or a unique prefix (4+)."),
    force: bool = typer.Option(
        False, "--force", "-f", help="Remove it even while a process is running a turn of it."
    ),
) -> None:
    """Remove a conversation with all its events and messages."""
    with _store() as store:
        thread = store.get(thread_id)
        if thread.state == "running" and not thread.interrupted and not force:
            raise InvalidArgument(
                f"conversation {thread.id} is running a turn in process {thread.owner_pid};"
                " stop it first, or use --force"
            )
        store.delete(thread.id)
    stderr.print(f"removed conversation {thread.id}")


def _print_header(thread: ThreadInfo) -> None:
    table = Table(title=escape(thread.title or thread.id), title_justify="left", show_header=False)
    table.add_column("property", style="bold")
    table.add_column("value")
    settings = thread.settings
    rows = [
        ("id", thread.id),
        ("created", _when(thread.created_at)),
        ("updated", _when(thread.updated_at)),
        ("cwd", str(thread.cwd)),
        ("model", f"{thread.model} ({thread.provider})"),
        ("turns", str(thread.turns)),
    ]
    rows += [
        (key.replace("_", " "), str(settings[key]))
        for key in ("approval_policy", "sandbox_mode", "profile")
        if settings.get(key) is not None
    ]
    if thread.state == "running":
        rows.append(("state", _state(thread)))
    for name, value in rows:
        table.add_row(name, escape(value))
    stdout.print(table)


# -- events, readably -------------------------------------------------------------------


def render_events(events: Sequence[StoredEvent]) -> list[str]:
    """Rich-markup lines for a stored event stream (Codex ``exec --json`` objects)."""
    finished = {
        (e.turn, _item(e.data).get("id")) for e in events if e.data.get("type") == "item.completed"
    }
    latest: dict[tuple[int, object], Mapping[str, Any]] = {}
    for e in events:
        if e.data.get("type") in ("item.started", "item.updated"):
            latest[(e.turn, _item(e.data).get("id"))] = _item(e.data)
    shown: set[tuple[int, object]] = set()
    lines: list[str] = []
    for event in events:
        data = event.data
        kind = data.get("type")
        if kind == "user_message":
            lines += ["", f"[bold cyan]user[/bold cyan] [dim](turn {event.turn})[/dim]"]
            lines.append(escape(str(data.get("text", ""))))
        elif kind == "item.completed":
            lines += _render_item(_item(data), finished=True)
        elif kind in ("item.started", "item.updated"):
            key = (event.turn, _item(data).get("id"))
            if key not in finished and key not in shown:
                shown.add(key)  # killed before it completed: show its last known state
                lines += _render_item(latest[key], finished=False)
        elif kind == "turn.completed":
            lines.append(f"[dim]{escape(_usage(data.get('usage')))}[/dim]")
        elif kind == "turn.failed":
            error = data.get("error")
            message = error.get("message") if isinstance(error, Mapping) else error
            lines.append(f"[bold red]turn failed:[/bold red] {escape(str(message))}")
        elif kind == "error":
            lines.append(f"[bold red]error:[/bold red] {escape(str(data.get('message', '')))}")
        elif kind in ("thread.started", "turn.started"):
            continue
        else:
            lines.append(f"[dim]{escape(json.dumps(data, ensure_ascii=False))}[/dim]")
    return lines


def _item(data: Mapping[str, Any]) -> Mapping[str, Any]:
    item = data.get("item")
    return item if isinstance(item, Mapping) else {}


def _usage(usage: object) -> str:
    if not isinstance(usage, Mapping):
        return "turn completed"
    cached = usage.get("cached_input_tokens") or 0
    text = f"tokens: {usage.get('input_tokens', 0)} in"
    text += f" ({cached} cached)" if cached else ""
    return text + f", {usage.get('output_tokens', 0)} out"


def _status(item: Mapping[str, Any], finished: bool) -> str:
    if not finished:
        return " [yellow](did not finish)[/yellow]"
    status = item.get("status")
    if status in ("failed", "declined"):
        return f" [red]({status})[/red]"
    return ""


def _output_lines(output: str) -> list[str]:
    lines = output.rstrip("\n").splitlines()
    if len(lines) > _OUTPUT_LINES:
        hidden = len(lines) - _OUTPUT_LINES
        lines = [
            *lines[: _OUTPUT_LINES // 2],
            f"… {hidden} more lines …",
            *lines[-_OUTPUT_LINES // 2 :],
        ]
    return [f"  [dim]{escape(line)}[/dim]" for line in lines]


def _render_item(item: Mapping[str, Any], *, finished: bool) -> list[str]:
    kind = item.get("type")
    status = _status(item, finished)
    if kind == "agent_message":
        return ["[bold green]agent[/bold green]", escape(str(item.get("text", "")))]
    if kind == "reasoning":
        return [f"[dim italic]thinking: {escape(str(item.get('text', '')))}[/dim italic]"]
    if kind == "command_execution":
        exit_code = item.get("exit_code")
        code = "" if exit_code is None else f" [dim]→ exit {exit_code}[/dim]"
        command = f"[bold magenta]$[/bold magenta] {escape(str(item.get('command', '')))}"
        return [command + code + status, *_output_lines(str(item.get("aggregated_output") or ""))]
    if kind == "file_change":
        changes = item.get("changes") or []
        lines = [f"[bold blue]file changes[/bold blue]{status}"]
        lines += [
            f"  {escape(str(change.get('kind', '?')))} {escape(str(change.get('path', '')))}"
            for change in (changes if isinstance(changes, list) else [])
            if isinstance(change, Mapping)
        ]
        return lines
    if kind == "mcp_tool_call":
        arguments = json.dumps(item.get("arguments") or {}, ensure_ascii=False)
        name = f"{item.get('server', '?')}.{item.get('tool', '?')}"
        lines = [f"[bold blue]tool[/bold blue] {escape(name)}({escape(arguments)}){status}"]
        error = item.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            lines.append(f"  [red]{escape(str(error['message']))}[/red]")
        return lines
    if kind == "todo_list":
        lines = ["[bold]plan[/bold]"]
        entries = item.get("items") or []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping):
                mark = "x" if entry.get("completed") else " "
                lines.append(f"  {escape(f'[{mark}]')} {escape(str(entry.get('text', '')))}")
        return lines
    if kind == "error":
        return [f"[bold red]error:[/bold red] {escape(str(item.get('message', '')))}"]
    return [f"[dim]{escape(json.dumps(dict(item), ensure_ascii=False))}[/dim]"]


def register(app: typer.Typer) -> None:
    app.add_typer(conversations_app, name="conversations")
