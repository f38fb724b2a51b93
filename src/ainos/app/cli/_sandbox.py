"""``ainos sandbox …``: which sandbox mechanisms work here, and running a command in one."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.agent.sandbox import (
    SandboxMode,
    SandboxPolicy,
    SandboxReport,
    check_sandbox,
    run_command,
)
from ainos.app.cli._output import emit_json, stderr, stdout

sandbox_app = typer.Typer(
    help="The coding agent's sandbox for shell commands (bubblewrap or Landlock).",
    no_args_is_help=True,
)

_TIMED_OUT = 124  # what timeout(1) returns


@sandbox_app.command("check")
def check(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Which mechanisms work here, what each enforces, and which one is used.

    Exits 1 when none works (sandboxed commands would then be refused).
    """
    report = check_sandbox()
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: SandboxReport) -> None:
    table = Table(title="sandbox mechanisms", title_justify="left")
    for column in ("mechanism", "works", "version", "enforces", "does not cover / why not"):
        table.add_column(column)
    for status in report.mechanisms:
        chosen = " (used)" if status.name == report.selected else ""
        table.add_row(
            status.name + chosen,
            "yes" if status.available else "no",
            escape(status.version or "-"),
            escape("\n".join(status.enforces) or "-"),
            escape(status.reason or "\n".join(status.gaps) or "-"),
        )
    stdout.print(table)
    stdout.print(escape(report.verdict()), soft_wrap=True)


@sandbox_app.command(
    "run",
    context_settings={"allow_interspersed_args": False},
)
def run(
    command: list[str] = typer.Argument(..., metavar="CMD [ARGS]...", help="The command."),
    mode: SandboxMode = typer.Option(
        SandboxMode.READ_ONLY, "--sandbox", "-s", help="Sandbox mode.", case_sensitive=False
    ),
    network: bool = typer.Option(False, "--network", help="Allow network access."),
    directory: Path = typer.Option(
        Path("."), "--cd", "-C", help="Workspace and working directory of the command."
    ),
    writable: list[Path] = typer.Option(
        [], "--writable", "-w", help="Another writable root (workspace-write); repeatable."
    ),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds before it is killed."),
) -> None:
    """Run CMD inside the sandbox (like ``codex sandbox linux``); exits with its exit code.

    Put ``--`` before CMD when it has options of its own.
    """
    policy = SandboxPolicy(mode, directory, tuple(writable), network)
    result = run_command(
        command, cwd=policy.workspace, policy=policy, timeout_s=timeout, output_cap=1 << 24
    )
    sys.stdout.write(result.output)
    sys.stdout.flush()
    if result.truncated:
        stderr.print("ainos: the output was longer than 16 MiB; its middle was left out")
    if result.timed_out:
        stderr.print(f"ainos: the command timed out after {timeout:g} s and was killed")
        raise typer.Exit(_TIMED_OUT)
    if result.likely_sandbox_denial:
        stderr.print(f"ainos: the {mode} sandbox ({result.mechanism}) probably refused this")
    raise typer.Exit(result.exit_code if result.exit_code is not None else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
