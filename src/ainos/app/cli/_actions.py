"""``ainos actions``: list, show, invoke, give feedback on and validate typed AI actions."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ainos.ai.actions import (
    ActionDefinition,
    ActionEntity,
    ActionEntityKind,
    ActionEntityRegistrationInfo,
    ActionFeedbackKind,
    ActionInvocationContext,
    ActionInvocationResult,
    ActionRuntime,
    DefinitionFile,
    NamedActionEntity,
    StreamingTextActionEntity,
    TableActionEntity,
    TextActionEntity,
    entity_from_value,
    read_definition_file,
)
from ainos.ai.actions.builtin import parse_table
from ainos.app.cli._output import emit_json, stderr, stdout
from ainos.errors import ActionDefinitionError, ActionError, InvalidArgument, NotFound

actions_app = typer.Typer(
    name="actions",
    help="Typed AI actions: discover them by the data they take, invoke them, rate them.",
    no_args_is_help=True,
)

_PHOTO_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic"}
)
_DOCUMENT_SUFFIXES = frozenset({".txt", ".md", ".rst", ".pdf", ".doc", ".docx", ".odt", ".rtf"})
_CLIENT = "ainos-cli"


def _runtime() -> ActionRuntime:
    return ActionRuntime(client_name=_CLIENT)


def _warn_problems(runtime: ActionRuntime) -> None:
    for problem in runtime.action_catalog.problems:
        stderr.print(f"ainos: warning: {escape(str(problem))}", soft_wrap=True)


def _kinds(infos: Sequence[ActionEntityRegistrationInfo]) -> str:
    return ", ".join(f"{i.name}: {i.kind_spec}" + ("" if i.required else "?") for i in infos) or "-"


# -- entities from the command line -----------------------------------------------------


def _entity_for_path(runtime: ActionRuntime, raw: str) -> ActionEntity:
    path = Path(raw).expanduser()
    if not path.exists():
        raise InvalidArgument(f"no such file or directory: {raw}")
    factory = runtime.entity_factory
    suffix = path.suffix.lower()
    if path.is_file() and suffix in _PHOTO_SUFFIXES:
        return factory.create_photo_entity(path)
    if path.is_file() and suffix in _DOCUMENT_SUFFIXES:
        return factory.create_document_entity(path)
    return factory.create_file_entity(path)


def _read_value(raw: str) -> str:
    """``@file`` reads a file, ``@-`` standard input; anything else is the value itself."""
    if raw == "@-":
        return sys.stdin.read()
    if raw.startswith("@"):
        try:
            return Path(raw[1:]).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read {raw[1:]}: {exc}") from None
    return raw


def _entity_for(
    runtime: ActionRuntime, kind: ActionEntityKind, name: str, raw: str
) -> ActionEntity:
    factory = runtime.entity_factory
    where = f"--input {name}"
    if raw.lstrip().startswith("{"):
        try:
            return factory.from_dict(json.loads(raw), where)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{where}: not a JSON entity: {exc}") from None
    if kind is ActionEntityKind.TEXT:
        return factory.create_text_entity(_read_value(raw))
    if kind is ActionEntityKind.TABLE:
        path = Path(raw).expanduser()
        text = path.read_text(encoding="utf-8") if path.is_file() else _read_value(raw)
        rows, _ = parse_table(text)
        return factory.create_table_entity_from_rows(rows)
    return entity_from_value(factory, kind, raw, name=where)


def _parse_inputs(
    runtime: ActionRuntime, definition: ActionDefinition, pairs: Sequence[str]
) -> dict[str, ActionEntity]:
    values: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidArgument(f"--input takes NAME=VALUE, got {pair!r}")
        if definition.input(name) is None:
            names = ", ".join(i.name for i in definition.inputs) or "none"
            raise InvalidArgument(f"{definition.id} has no input {name!r} (inputs: {names})")
        values.setdefault(name, []).append(raw)
    entities: dict[str, ActionEntity] = {}
    for name, raws in values.items():
        info = definition.input(name)
        assert info is not None
        if info.kind is ActionEntityKind.ARRAY:
            element = info.element_kind or ActionEntityKind.TEXT
            items = [_entity_for(runtime, element, name, raw) for raw in raws]
            entities[name] = runtime.entity_factory.create_array_entity(element, items)
        elif len(raws) > 1:
            raise InvalidArgument(f"--input {name} is given {len(raws)} times; it takes one value")
        else:
            entities[name] = _entity_for(runtime, info.kind, name, raws[0])
    return entities


# -- showing entities -------------------------------------------------------------------


def _table(entity: TableActionEntity, title: str | None = None) -> Table:
    rows = entity.rows()
    table = Table(title=title, title_justify="left")
    header, body = (rows[0], rows[1:]) if rows else ((), [])
    for cell in header:
        table.add_column(escape(cell))
    for row in body:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _print_entity(entity: ActionEntity) -> None:
    if isinstance(entity, TableActionEntity):
        stdout.print(_table(entity))
    elif isinstance(entity, TextActionEntity | StreamingTextActionEntity):
        text = entity.text if isinstance(entity, TextActionEntity) else entity.get_text()
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(json.dumps(entity.to_dict(), ensure_ascii=False) + "\n")


def _heading(name: str) -> None:
    sys.stdout.flush()  # keep the heading (stderr) next to the data it names (stdout)
    stderr.print(f"── {escape(name)} ──")


async def _follow(stream: StreamingTextActionEntity) -> None:
    """Print a streaming output as it grows (only the new part, when it only grew)."""
    shown = ""
    try:
        async for text in stream.changes():
            if text.startswith(shown):
                sys.stdout.write(text[len(shown) :])
            else:
                sys.stdout.write("\n" + text)
            sys.stdout.flush()
            shown = text
    finally:
        sys.stdout.write("\n")
        sys.stdout.flush()


async def _invoke(
    runtime: ActionRuntime, context: ActionInvocationContext, as_json: bool
) -> ActionInvocationResult:
    followers: list[tuple[asyncio.Task[None], StreamingTextActionEntity]] = []
    several = len(context.definition.outputs) > 1 if context.definition else False

    def on_output(named: NamedActionEntity) -> None:
        if not as_json and isinstance(named.entity, StreamingTextActionEntity):
            if several:
                _heading(named.name)
            followers.append((asyncio.create_task(_follow(named.entity)), named.entity))

    context.add_output_handler(on_output)
    try:
        result = await runtime.invoke(context)
    finally:
        for follower, stream in followers:
            if not stream.is_complete:
                follower.cancel()  # the provider is done but left its stream open
        await asyncio.gather(*(f for f, _ in followers), return_exceptions=True)
    return result


def _report(
    context: ActionInvocationContext, result: ActionInvocationResult, as_json: bool
) -> None:
    outputs = context.get_output_entities()
    if as_json:
        emit_json(
            {
                "actionId": context.action_id,
                "invocationId": context.invocation_id,
                "result": result.wire_name,
                "extendedError": context.extended_error,
                "helpDetails": context.help_details.to_dict(),
                "outputs": {o.name: o.entity.to_dict() for o in outputs},
            }
        )
    else:
        several = len(outputs) > 1
        for named in outputs:
            if isinstance(named.entity, StreamingTextActionEntity):
                continue  # already printed while it grew
            if several:
                _heading(named.name)
            _print_entity(named.entity)
    if result is not ActionInvocationResult.SUCCESS:
        reason = context.extended_error or "no reason given"
        raise ActionError(f"{context.action_id}: {result.wire_name}: {reason}")


# -- commands ---------------------------------------------------------------------------


@actions_app.command("list")
def list_actions(
    paths: list[str] = typer.Option(
        [], "--for", help="Only actions that take this file or directory (repeatable)."
    ),
    texts: list[str] = typer.Option(
        [], "--text", help="Only actions that take this text (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Actions on this machine, or those that fit the given inputs."""
    runtime = _runtime()
    catalog = runtime.action_catalog
    _warn_problems(runtime)
    if not paths and not texts:
        definitions = catalog.get_all_actions()
        if as_json:
            emit_json(
                [
                    {
                        **d.to_dict(),
                        "available": runtime.get_action_availability(d.id),
                        "source": d.source,
                    }
                    for d in definitions
                ]
            )
            return
        table = Table(title="actions", title_justify="left")
        table.add_column("id", min_width=max((len(d.id) for d in definitions), default=2))
        for column in ("description", "inputs", "outputs"):
            table.add_column(column)
        for d in definitions:
            off = "" if runtime.get_action_availability(d.id) else " [dim](off)[/dim]"
            table.add_row(
                escape(d.id) + off,
                escape(d.description),
                escape(_kinds(d.inputs)),
                escape(_kinds(d.outputs)),
            )
        stdout.print(table)
        return
    entities = [_entity_for_path(runtime, p) for p in paths]
    entities += [runtime.entity_factory.create_text_entity(t) for t in texts]
    instances = catalog.get_actions_for_inputs(entities)
    if as_json:
        emit_json(
            [
                {
                    "id": i.definition.id,
                    "description": i.display_info.description,
                    "inputs": {n.name: n.entity.to_dict() for n in i.context.get_input_entities()},
                }
                for i in instances
            ]
        )
        return
    if not instances:
        stderr.print("no action takes these inputs")
        return
    table = Table(title="actions for these inputs", title_justify="left")
    table.add_column("id", min_width=max(len(i.definition.id) for i in instances))
    table.add_column("what it would do")
    for instance in instances:
        table.add_row(escape(instance.definition.id), escape(instance.display_info.description))
    stdout.print(table)


@actions_app.command("show")
def show(
    action_id: str = typer.Argument(..., metavar="ID", help="The action's id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One action's definition: inputs, outputs, overloads, how it runs."""
    runtime = _runtime()
    definition = runtime.action_catalog.get(action_id)
    available = runtime.get_action_availability(action_id)
    if as_json:
        emit_json({**definition.to_dict(), "available": available, "source": definition.source})
        return
    table = Table(title=definition.id, title_justify="left", show_header=False)
    table.add_column("property", style="bold")
    table.add_column("value")
    invocation = definition.invocation.to_dict()
    rows = [
        ("description", definition.description),
        ("available", "yes" if available else "no (turned off)"),
        ("inputs", _kinds(definition.inputs)),
        ("outputs", _kinds(definition.outputs)),
        ("invocation", json.dumps(invocation, ensure_ascii=False)),
        ("uses generative AI", "yes" if definition.uses_generative_ai else "no"),
        ("displays UI", "yes" if definition.displays_ui else "no"),
        ("schema version", str(definition.schema_version)),
        ("source", definition.source),
    ]
    for number, overload in enumerate(definition.get_overloads(), 1):
        where = " && ".join(c.source for c in overload.combination.where)
        text = f"({_kinds(overload.get_inputs())}) {overload.description_template}"
        rows.append((f"overload {number}", text + (f"\nwhere {where}" if where else "")))
    for name, value in rows:
        table.add_row(name, escape(value))
    stdout.print(table)


@actions_app.command("invoke")
def invoke(
    action_id: str = typer.Argument(..., metavar="ID", help="The action's id."),
    inputs: list[str] = typer.Option(
        [],
        "--input",
        "-i",
        help="NAME=VALUE: text (or @file, @- for stdin), a path, a URI, a date, or entity JSON.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Run an action; streaming outputs print as they grow."""
    runtime = _runtime()
    definition = runtime.action_catalog.get(action_id)
    entities = _parse_inputs(runtime, definition, inputs)
    context = runtime.create_invocation_context(action_id)
    for name, entity in entities.items():
        context.set_input_entity(name, entity)
    result = asyncio.run(_invoke(runtime, context, as_json))
    _report(context, result, as_json)


@actions_app.command("feedback")
def feedback(
    action_id: str = typer.Argument(..., metavar="ID", help="The action's id."),
    kind: str = typer.Argument(..., metavar="positive|negative", help="How it went."),
    invocation: int | None = typer.Option(
        None, "--invocation", help="The invocation rated (default: the action's latest)."
    ),
) -> None:
    """Tell an action how it did; the feedback is logged and passed to its provider."""
    kinds = {"positive": ActionFeedbackKind.POSITIVE, "negative": ActionFeedbackKind.NEGATIVE}
    chosen = kinds.get(kind.lower())
    if chosen is None:
        raise InvalidArgument(f"feedback is positive or negative, not {kind!r}")
    runtime = _runtime()
    context = runtime.create_invocation_context(action_id)
    if invocation is None:
        latest = runtime.history.invocations(action_id, limit=1)
        context.invocation_id = latest[0].id if latest else None
    else:
        found = [
            r for r in runtime.history.invocations(action_id, limit=1_000_000) if r.id == invocation
        ]
        if not found:
            raise NotFound(f"{action_id} has no invocation {invocation} in the log")
        context.invocation_id = invocation
    asyncio.run(runtime.process_feedback(context, runtime.create_action_feedback(chosen)))
    rated = f" (invocation {context.invocation_id})" if context.invocation_id is not None else ""
    stderr.print(f"recorded {chosen.wire_name.lower()} feedback for {escape(action_id)}{rated}")


@actions_app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Action definition files."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check action definition files; every problem is named with its JSON path."""
    results: list[DefinitionFile] = [read_definition_file(path) for path in files]
    problems = [p for r in results for p in r.problems]
    if as_json:
        emit_json(
            [
                {
                    "source": r.source,
                    "version": r.version,
                    "actions": [a.id for a in r.actions],
                    "problems": [{"path": p.path, "message": p.message} for p in r.problems],
                }
                for r in results
            ]
        )
    else:
        for problem in problems:
            sys.stdout.write(f"{problem}\n")
        for r in results:
            if r.ok:
                stderr.print(
                    f"{escape(r.source)}: ok, {len(r.actions)} actions (schema {r.version})"
                )
    if problems:
        plural = "s" if len(problems) != 1 else ""
        raise ActionDefinitionError(f"{len(problems)} problem{plural} in the definition files")


@actions_app.command("history")
def history(
    action_id: str | None = typer.Argument(None, metavar="[ID]", help="Only this action."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many, most recent first."),
    show_feedback: bool = typer.Option(False, "--feedback", help="List feedback instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Past invocations (or feedback) from the action log."""
    if limit < 1:
        raise InvalidArgument(f"--limit must be at least 1, got {limit}")
    log = _runtime().history
    if show_feedback:
        records = log.feedback(action_id, limit)
        if as_json:
            emit_json([r.to_dict() for r in records])
            return
        table = Table(title="feedback", title_justify="left")
        widest = max((len(f.action_id) for f in records), default=6)
        for column in ("#", "when", "action", "feedback", "invocation"):
            table.add_column(column, min_width=widest if column == "action" else None)
        for f in records:
            table.add_row(
                str(f.id),
                _when(f.created_at),
                escape(f.action_id),
                f.kind.wire_name,
                str(f.invocation_id or "-"),
            )
        stdout.print(table)
        return
    invocations = log.invocations(action_id, limit)
    if as_json:
        emit_json([r.to_dict() for r in invocations])
        return
    table = Table(title="action invocations", title_justify="left")
    widest = max((len(r.action_id) for r in invocations), default=6)
    for column in ("#", "when", "action", "result", "ms", "inputs", "error"):
        table.add_column(
            column,
            justify="right" if column in ("#", "ms") else "left",
            min_width=widest if column == "action" else None,
        )
    for r in invocations:
        inputs = "; ".join(f"{k}={v}" for k, v in r.inputs.items())
        table.add_row(
            str(r.id),
            _when(r.started_at),
            escape(r.action_id),
            r.result.wire_name,
            f"{r.duration_ms:.0f}",
            escape(inputs),
            escape(r.extended_error or ""),
        )
    stdout.print(table)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _set_availability(action_id: str, on: bool) -> None:
    runtime = _runtime()
    runtime.set_action_availability(action_id, on)
    stderr.print(f"{escape(action_id)} is turned {'on' if on else 'off'}")


@actions_app.command("enable")
def enable(action_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Turn an action on."""
    _set_availability(action_id, True)


@actions_app.command("disable")
def disable(action_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Turn an action off: it is no longer suggested, and invoking it reports Unavailable."""
    _set_availability(action_id, False)


def register(app: typer.Typer) -> None:
    app.add_typer(actions_app, name="actions")
