"""Entry point of the ``ainos`` command: builds the Typer app and owns error reporting.

Every failure a user can cause ends as one line on stderr and a non-zero exit code:
``AinosError`` and Click's usage errors are formatted here; only a real bug escapes
with a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer
from typer import _click as click  # Typer's own click, which its classes derive from
from typer.core import TyperGroup

from ainos.app.cli._output import guard_stdout
from ainos.errors import AinosError, OutputClosed

# Each command's module, and the one line ``ainos --help`` shows for it. A module is imported
# only when one of its commands runs (or shows its own help): the command line starts fast
# whatever the heavy libraries of other commands (onnx, llama.cpp, starlette) cost.
# tests/app/cli/test_main.py checks that these lines are the commands' own.
_COMMANDS: dict[str, tuple[str, str]] = {
    "stats": (
        "_stats",
        "Current CPU and GPU statistics (utilisation, memory, power, temperature, clocks).",
    ),
    "metrics": (
        "_stats",
        "Current statistics in Prometheus text exposition format (with the scheduler's and the "
        "pinned pool's when a daemon runs).",
    ),
    "top": (
        "_top",
        "A live view of the machine: devices, AI processes, scheduler, pool, models, agents "
        "(from the daemon when one runs, in-process otherwise).",
    ),
    "devices": (
        "_devices",
        "Compute devices (CPU, NVIDIA GPUs via NVML) and ONNX Runtime execution providers.",
    ),
    "ps": (
        "_processes",
        "AI processes: ML runtimes in their memory maps, GPU compute users, registered clients.",
    ),
    "serve": (
        "_serve",
        "Run the ainos daemon in the foreground: the control socket and the OpenAI-compatible "
        "HTTP API (Ctrl-C or SIGTERM stops it gracefully).",
    ),
    "status": ("_status", "Whether a daemon is running, and its statistics."),
    "ctl": (
        "_ctl",
        "Call a method of the running daemon's control plane and print its result as JSON.",
    ),
    "embed": ("_models", "Sentence embeddings of TEXTS (through the daemon when one runs)."),
    "chat": (
        "_chat",
        "Chat with a local model, the reply streamed as it comes (through the daemon when one "
        "runs, in-process otherwise).",
    ),
    "generate": ("_chat", "Continue PROMPT as raw text, no chat template."),
    "exec": ("_exec", 'Run the coding agent on a prompt (also: ainos "PROMPT").'),
    "models": ("_models", "The model catalog: list, show, add, remove, load, unload."),
    "conversations": (
        "_conversations",
        "The coding agent's stored conversations: list them, replay one, remove one.",
    ),
    "approvals": (
        "_approvals",
        "Rules that approve the agent's commands and patches without asking.",
    ),
    "sandbox": (
        "_sandbox",
        "The coding agent's sandbox for shell commands (bubblewrap or Landlock).",
    ),
    "bench": ("_bench", "Benchmarks: each reports ratios against a baseline run side by side."),
    "actions": (
        "_actions",
        "Typed AI actions: discover them by the data they take, invoke them, rate them.",
    ),
    "mcp-server": (
        "_mcp_server",
        "Serve ainos over the Model Context Protocol: the coding agent, AI actions, models and "
        "statistics as tools (stdio; --http for Streamable HTTP).",
    ),
    "mcp": (
        "_mcp",
        "The machine's MCP servers: register, list, run, inspect, and export them to clients.",
    ),
    "supervisor": (
        "_supervisor",
        "Fan one request out to sub-agents that run side by side, and merge their results "
        "into one report.",
    ),
    "delegate": ("_supervisor", "Run one sub-agent (an agent definition) on a goal."),
    "agents": ("_agents", "Sub-agent definitions (YAML): list, show, validate."),
}


def load_command(name: str) -> click.Command | None:
    """The real command ``name``, its module imported now; None for an unknown name."""
    entry = _COMMANDS.get(name)
    if entry is None:
        return None
    module = importlib.import_module(f"ainos.app.cli.{entry[0]}")
    holder = typer.Typer()
    holder.callback()(lambda: None)  # a callback makes it a group even with one command
    module.register(holder)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands.get(name)


class _LazyGroup(TyperGroup):
    """The root group: its commands' modules are imported on first use; its help lists them
    with the lines of ``_COMMANDS``, without loading any."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ainos.app.cli._root_help import print_root_help

        print_root_help(ctx, [(name, line) for name, (_, line) in _COMMANDS.items()])


app = typer.Typer(
    name="ainos",
    cls=_LazyGroup,
    help="ainos — a local AI runtime: device statistics, AI processes, scheduling, models, "
    'and a coding agent (ainos exec "PROMPT", or ainos "PROMPT").',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        import ainos

        typer.echo(f"ainos {ainos.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_show_version
    ),
) -> None:
    """ainos — a local AI runtime."""


_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _error(message: str) -> None:
    print(f"ainos: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    command = typer.main.get_command(app)
    args = _exec_shorthand(list(sys.argv[1:] if argv is None else argv))
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


def _exec_shorthand(args: list[str]) -> list[str]:
    """``ainos "PROMPT"`` is ``ainos exec "PROMPT"``: a first word that is no command and no
    option, and has spaces in it, is a prompt. A lone word is more likely a mistyped
    command, left for the "no such command" error (``ainos exec WORD`` runs it)."""
    if not args or args[0].startswith("-") or args[0] in _COMMANDS or " " not in args[0].strip():
        return args
    return ["exec", *args]


def _one_line(message: str) -> str:
    return " ".join(message.split())
