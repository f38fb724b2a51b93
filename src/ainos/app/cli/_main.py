"""Entry point of the ``ainos`` command: builds the Typer app and owns error reporting.

Every failure a user can cause ends as one line on stderr and a non-zero exit code:
``AinosError`` and Click's usage errors are formatted here; only a real bug escapes
with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from ainos import __version__
from ainos.app.cli import (
    _actions,
    _approvals,
    _bench,
    _chat,
    _conversations,
    _devices,
    _exec,
    _models,
    _processes,
    _sandbox,
    _serve,
    _stats,
)
from ainos.app.cli._output import guard_stdout
from ainos.errors import AinosError, OutputClosed

app = typer.Typer(
    name="ainos",
    help="ainos — a local AI runtime: device statistics, AI processes, scheduling, models, "
    'and a coding agent (ainos exec "PROMPT", or ainos "PROMPT").',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ainos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_show_version
    ),
) -> None:
    """ainos — a local AI runtime."""


for _module in (
    _stats,
    _devices,
    _processes,
    _serve,
    _models,
    _chat,
    _exec,
    _conversations,
    _approvals,
    _sandbox,
    _bench,
    _actions,
):
    _module.register(app)


_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _error(message: str) -> None:
    print(f"ainos: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    command = typer.main.get_command(app)
    args = _exec_shorthand(list(sys.argv[1:] if argv is None else argv), command)
    guard_stdout()
    try:
        result = command.main(args=args, prog_name="ainos", standalone_mode=False)
    except typer.TyperException as exc:  # Typer's usage and parameter errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            # A group called bare: Typer has shown its help already.
            return 2
        _error(_one_line(exc.format_message()))
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _error("interrupted")
        return _INTERRUPTED
    except AinosError as exc:
        _error(_one_line(str(exc)))
        return exc.exit_code
    if result == _INTERRUPTED:  # Typer caught Ctrl-C itself and returns its exit code
        _error("interrupted")
        return _INTERRUPTED
    try:
        sys.stdout.flush()
    except OutputClosed as exc:
        _error(str(exc))
        return exc.exit_code
    return result if isinstance(result, int) else 0


def _exec_shorthand(args: list[str], command: object) -> list[str]:
    """``ainos "PROMPT"`` is ``ainos exec "PROMPT"``: a first word that is no command and no
    option, and has spaces in it, is a prompt. A lone word is more likely a mistyped
    command, left for the "no such command" error (``ainos exec WORD`` runs it)."""
    commands = getattr(command, "commands", {})
    if not args or args[0].startswith("-") or args[0] in commands or " " not in args[0].strip():
        return args
    return ["exec", *args]


def _one_line(message: str) -> str:
    return " ".join(message.split())
