"""``ainos approvals``: the stored "always allow" rules of the coding agent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import emit_json, stderr, stdout
from ainos.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from ainos.app.agent._rules import ApprovalRule, ApprovalRules

approvals_app = typer.Typer(
    name="approvals",
    help="Rules that approve the agent's commands and patches without asking.",
    no_args_is_help=True,
)


def _rules() -> ApprovalRules:
    # Imported here: the agent package is large, and the CLI must start fast.
    from ainos.app.agent._rules import ApprovalRules

    return ApprovalRules()


def _current_project() -> Path:
    from ainos.app.agent._rules import project_root

    return project_root()


def _directory(raw: Path) -> Path:
    path = raw.expanduser()
    if not path.is_dir():
        raise InvalidArgument(f"--project: not a directory: {raw}")
    return path.resolve()


def _scope(rule: ApprovalRule) -> str:
    return "global" if rule.scope is None else str(rule.scope)


@approvals_app.command("list")
def list_rules(
    project: Path | None = typer.Option(
        None, "--project", help="Rules applying in this directory (default: the current project)."
    ),
    every: bool = typer.Option(False, "--all", help="Every rule, of every project."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Rules applying in the current project (global ones, the project's, its parents')."""
    if every and project is not None:
        raise InvalidArgument("give --project or --all, not both")
    where = None if every else (_directory(project) if project else _current_project())
    rules = _rules().list_rules(where)
    if as_json:
        emit_json([rule.to_dict() for rule in rules])
        return
    if not rules:
        scope = "anywhere" if where is None else f"in {where}"
        stderr.print(f"no approval rules apply {escape(scope)}")
        return
    title = "approval rules" + ("" if where is None else f" in {where}")
    table = Table(title=escape(title), title_justify="left")
    table.add_column("id", justify="right")
    for column in ("kind", "pattern", "scope", "created", "note"):
        table.add_column(column)
    for rule in rules:
        table.add_row(
            str(rule.id),
            rule.kind,
            escape(rule.describe()),
            escape(_scope(rule)),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(rule.created_at)),
            escape(rule.note),
        )
    stdout.print(table)


@approvals_app.command("add")
def add(
    pattern: list[str] = typer.Argument(
        ...,
        metavar="PATTERN...",
        help="exec: the command's first words (`git status`; put `--` before words starting"
        " with -); patch: path globs relative to the project (`src/**`); mcp: a registered"
        " MCP server's id, and one of its tools (or none: all of them).",
    ),
    kind: str = typer.Option(
        "exec", "--kind", help="exec (commands), patch (file edits) or mcp (MCP server tools)."
    ),
    project: Path | None = typer.Option(
        None, "--project", help="Scope: this directory (default: the current project)."
    ),
    everywhere: bool = typer.Option(False, "--global", help="Scope: every project."),
    note: str = typer.Option("", "--note", help="Why the rule exists."),
    as_json: bool = typer.Option(False, "--json", help="Print the rule as JSON."),
) -> None:
    """Always allow a command prefix (or patch paths, or MCP tools) without asking.

    The current project is the git work tree holding the current directory, else the
    directory itself.
    """
    if kind not in ("exec", "patch", "mcp"):
        raise InvalidArgument(f"--kind is exec, patch or mcp, not {kind!r}")
    if everywhere and project is not None:
        raise InvalidArgument("give --project or --global, not both")
    scope = None if everywhere else (_directory(project) if project else _current_project())
    rules = _rules()
    before = {rule.id for rule in rules.list_rules()}
    rule = rules.add(kind, pattern, project=scope, note=note)
    if as_json:
        emit_json(rule.to_dict())
    where = "everywhere" if rule.scope is None else f"in {rule.scope}"
    verb = "already allows" if rule.id in before else "allows"
    stderr.print(f"rule {rule.id} {verb} {rule.kind} {escape(rule.describe())} {escape(where)}")


@approvals_app.command("rm")
def remove(rule_id: int = typer.Argument(..., metavar="ID", help="The rule's id.")) -> None:
    """Remove a rule."""
    if not _rules().remove(rule_id):
        raise NotFound(f"no approval rule {rule_id} (see ainos approvals list --all)")
    stderr.print(f"removed approval rule {rule_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(approvals_app, name="approvals")
