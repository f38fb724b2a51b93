"""``ainos exec``: the coding agent, non-interactively, in the manner of ``codex exec``.

Progress (a spinner, each tool call) goes to stderr and the final answer to stdout; with
``--json`` stdout carries the events as JSONL in Codex's schema instead. ``ainos exec resume
[ID|--last] PROMPT`` continues a stored conversation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ainos.app.cli._inputs import read_json_schema
from ainos.app.cli._output import emit_json_line, stderr, write_text_atomically
from ainos.errors import InvalidArgument

_RESUME = "resume"


def _read_prompt(words: list[str]) -> str:
    text = " ".join(words).strip()
    if text in ("", "-"):
        if sys.stdin.isatty() and text == "":
            raise InvalidArgument("give a prompt (or '-' to read it from stdin)")
        text = sys.stdin.read().strip()
    if not text:
        raise InvalidArgument("the prompt is empty")
    return text


def exec_command(
    words: list[str] = typer.Argument(
        None,
        metavar="[PROMPT|-] | resume [ID] PROMPT",
        help="What to do ('-': read it from stdin). 'resume [ID|--last] PROMPT' continues a "
        "stored conversation.",
    ),
    last: bool = typer.Option(False, "--last", help="With resume: the most recent thread here."),
    as_json: bool = typer.Option(False, "--json", help="Print events as JSONL (Codex's schema)."),
    output_last_message: Path | None = typer.Option(
        None, "--output-last-message", "-o", help="Also write the final answer to this file."
    ),
    output_schema: Path | None = typer.Option(
        None, "--output-schema", help="A JSON schema file the final answer must be valid against."
    ),
    cd: Path | None = typer.Option(None, "--cd", "-C", help="Work in this directory."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model to use."),
    sandbox: str | None = typer.Option(
        None, "--sandbox", "-s", help="read-only | workspace-write | danger-full-access"
    ),
    approval: str | None = typer.Option(
        None, "--ask-for-approval", "-a", help="untrusted | on-failure | on-request | never"
    ),
    profile: str | None = typer.Option(None, "--profile", "-p", help="A config profile."),
    config_overrides: list[str] | None = typer.Option(
        None, "--config", "-c", help="Override a config value: key=value (TOML value)."
    ),
    skip_git_repo_check: bool = typer.Option(
        False, "--skip-git-repo-check", help="Run outside a git repository too."
    ),
    full_auto: bool = typer.Option(
        False, "--full-auto", help="Shorthand for -s workspace-write -a on-failure."
    ),
    use_windows_ai: bool = typer.Option(
        False,
        "--use-windows-ai",
        "--windows-ai",
        help="Run the model on the on-device AI platform layer.",
    ),
    kernel_accelerated: bool = typer.Option(
        False,
        "--kernel-accelerated",
        help="Route generations through the daemon's scheduler (starting one if needed).",
    ),
    realtime: bool = typer.Option(
        False, "--realtime", help="Realtime scheduling class, with a deadline."
    ),
    socket_path: Path | None = typer.Option(None, "--socket", help="The daemon's control socket."),
) -> int:
    """Run the coding agent on PROMPT: progress on stderr, the answer on stdout."""
    from ainos.app.cli import _exec_run

    words = list(words or [])
    resume_id: str | None = None
    resuming = bool(words) and words[0] == _RESUME
    if resuming:
        words = words[1:]
        if not last:
            if not words:
                raise InvalidArgument("resume needs a thread id, or --last")
            resume_id, words = words[0], words[1:]
    elif last:
        raise InvalidArgument("--last goes with resume: ainos exec resume --last PROMPT")
    cli_values: dict[str, object] = {
        "model": model,
        "sandbox_mode": "workspace-write" if full_auto and sandbox is None else sandbox,
        "approval_policy": "on-failure" if full_auto and approval is None else approval,
    }
    options = _exec_run.ExecOptions(
        prompt=_read_prompt(words),
        cwd=(cd or Path.cwd()).expanduser(),
        output_schema=read_json_schema(output_schema, "--output-schema"),
        profile=profile,
        overrides=list(config_overrides or []),
        cli=cli_values,
        skip_git_repo_check=skip_git_repo_check,
        resume_id=resume_id,
        resume_last=resuming and last,
        use_windows_ai=use_windows_ai,
        kernel_accelerated=kernel_accelerated,
        realtime=realtime,
        socket_path=socket_path,
    )
    completed, answer = _exec_run.run_exec(options, emit_json_line if as_json else None)
    if output_last_message is not None and answer is not None:
        write_text_atomically(output_last_message, answer)
    if not as_json and answer is not None:
        sys.stdout.write(answer.rstrip("\n") + "\n")
        sys.stdout.flush()
    if not completed:
        stderr.print("ainos: the turn did not complete", style="dim")
    return 0 if completed else 1


def register(app: typer.Typer) -> None:
    app.command(
        "exec",
        context_settings={"allow_interspersed_args": True},
        help='Run the coding agent on a prompt (also: ainos "PROMPT").',
    )(exec_command)
