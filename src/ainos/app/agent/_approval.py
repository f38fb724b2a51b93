"""When the agent may run a command or write a patch, and asking a person when it may not.

Codex's policies, with Codex's meanings:

- ``untrusted``: only known read-only commands run without asking; anything else is asked.
- ``on-failure``: everything runs in the sandbox without asking; a command that fails
  because of the sandbox is offered for a rerun outside it.
- ``on-request``: everything runs in the sandbox; the model asks when it needs more
  (``escalate`` on the shell tool, a patch outside the writable roots).
- ``never``: nobody is asked; what the sandbox refuses is reported back to the model.

Stored rules (``ainos approvals``) approve matching requests without asking; with
allow-list-only on, a command or patch no rule matches is refused outright.

A tool of a registered MCP server is treated like a command: one the server marks read-only,
or any tool of a contained server, is like a sandboxed command; any other acts outside every
sandbox, like an escalated command (asked about, refused under ``never``). Where a question
would be needed and nobody can answer (no terminal), the request is denied and the reason
says how to allow it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

from ainos.app.agent._config import ApprovalPolicy
from ainos.app.agent._rules import ApprovalRules, script_command
from ainos.protocol.agent import FileUpdateChange

__all__ = [
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalRequest",
    "Approver",
    "ExecVerdict",
    "NoApprover",
    "is_known_safe",
    "simple_commands",
]


class ApprovalDecision(StrEnum):
    APPROVED = "approved"
    APPROVED_FOR_SESSION = "approved_for_session"
    APPROVED_FOR_PROJECT = "approved_for_project"  # stored as a rule
    DENIED = "denied"
    ABORT = "abort"  # deny, and end the turn


_DESCRIBED_ARGUMENTS = 200  # characters of an MCP call's arguments a question shows


@dataclass(frozen=True)
class ApprovalRequest:
    """A question: run a command (``exec``), apply a patch (``patch``), or call a tool of a
    registered MCP server (``mcp``: ``server``, ``tool`` and its ``arguments``)."""

    kind: Literal["exec", "patch", "mcp"]
    call_id: str
    cwd: Path
    command: tuple[str, ...] = ()
    reason: str | None = None  # why the model (or the policy) asks
    changes: tuple[FileUpdateChange, ...] = ()
    diff: str = ""
    grant_root: Path | None = None  # a patch outside the writable roots: the root it needs
    server: str = ""  # mcp: the server's id in the registry
    tool: str = ""  # mcp: the tool's name on that server
    arguments: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def describe(self) -> str:
        if self.kind == "exec":
            return shlex.join(self.command)
        if self.kind == "mcp":
            shown = json.dumps(dict(self.arguments), ensure_ascii=False)
            if len(shown) > _DESCRIBED_ARGUMENTS:
                shown = shown[: _DESCRIBED_ARGUMENTS - 1] + "…"
            return f"{self.tool} of MCP server {self.server} with {shown}"
        return ", ".join(f"{c.kind} {c.path}" for c in self.changes)


class Approver(Protocol):
    """Whoever answers approval questions: a person on a terminal, an MCP client."""

    def ask(self, request: ApprovalRequest) -> ApprovalDecision: ...


class NoApprover:
    """Nobody to ask (no terminal): every question is denied, saying how to allow it."""

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision.DENIED

    reason = (
        "approval needed and nobody can answer (no terminal): allow it with "
        "`ainos approvals add`, or choose another approval policy (-a) or sandbox (-s)"
    )


@dataclass(frozen=True)
class ExecVerdict:
    allowed: bool
    sandboxed: bool = True
    reason: str = ""  # why not allowed, for the model and the person
    abort: bool = False


# Read-only programs, and read-only forms of others (Codex's "known safe" commands).
_SAFE_PROGRAMS = frozenset(
    {
        "cat", "cd", "echo", "false", "grep", "head", "ls", "nl", "pwd", "tail", "true",
        "wc", "which", "rg", "tree", "stat", "file", "du", "df", "uname", "whoami", "date",
        "basename", "dirname", "realpath", "readlink", "sort", "uniq", "cut", "diff", "cmp",
    }
)  # fmt: skip
_SAFE_GIT = frozenset({"status", "log", "diff", "show", "branch", "ls-files", "rev-parse", "blame"})
# `git branch` only lists with these; with anything else it creates, moves or deletes.
_LISTING_BRANCH_FLAGS = frozenset(
    {"-a", "--all", "-r", "--remotes", "-l", "--list", "-v", "-vv", "--verbose", "--show-current"}
)
_UNSAFE_FIND = frozenset(
    {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls", "-fprint", "-fprint0", "-fprintf"}
)
_UNSAFE_RG = frozenset({"--pre", "--search-zip", "-z", "--hostname-bin"})
# Options that make an otherwise read-only program write (short letter, long name).
_WRITING_OPTIONS = {
    "sort": ("o", "output"),
    "tree": ("o", "output"),
    "date": ("s", "set"),
    "file": ("C", "compile"),
}
_SCRIPT_SEPARATORS = frozenset({"&&", "||", ";", "|"})
_OPERATOR_CHARS = frozenset("();<>|&")


def simple_commands(argv: Sequence[str]) -> list[list[str]] | None:
    """The commands of ``argv``: itself, or the ``&&``/``||``/``;``/``|``-joined simple
    commands of a ``bash -lc`` script; None for a script using anything else (redirects,
    substitution, subshells, background jobs, several lines)."""
    if len(argv) == 3 and argv[0] in ("bash", "sh", "zsh") and argv[1] in ("-lc", "-c"):
        script = argv[2]
        # A newline separates commands as `;` does; the lexer would read it as a space.
        if any(mark in script for mark in ("$(", "`", "\n", "\r")):
            return None
        # punctuation_chars splits operators from words as the shell does (`a;b`, `a|b`).
        lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            words = list(lexer)
        except ValueError:
            return None
        commands: list[list[str]] = [[]]
        for word in words:
            if word in _SCRIPT_SEPARATORS:
                commands.append([])
            elif word and set(word) <= _OPERATOR_CHARS:
                return None
            else:
                commands[-1].append(word)
        return [c for c in commands if c] or None
    return [list(argv)]


def _has_option(args: Sequence[str], short: str | None, long: str) -> bool:
    """Whether ``args`` hold ``-short`` (alone or in a cluster) or ``--long`` (getopt takes
    any prefix of it, with or without ``=value``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg.startswith("--"):
            name = arg[2:].split("=", 1)[0]
            if name and long.startswith(name):
                return True
        elif short is not None and arg.startswith("-") and short in arg[1:]:
            return True
    return False


def _safe_command(argv: Sequence[str]) -> bool:
    if not argv:
        return False
    program, args = Path(argv[0]).name, list(argv[1:])
    if program == "git":
        if not args or args[0] not in _SAFE_GIT or _has_option(args, None, "output"):
            return False
        return args[0] != "branch" or all(a in _LISTING_BRANCH_FLAGS for a in args[1:])
    if program == "find":
        return not any(arg in _UNSAFE_FIND for arg in args)
    if program == "rg":
        return not any(arg.split("=")[0] in _UNSAFE_RG for arg in args)
    if program == "sed":  # sed -n 'Np' / 'N,Mp' [file] only
        return (
            len(args) in (2, 3)
            and args[0] == "-n"
            and args[1].rstrip("p").replace(",", "").isdigit()
            and not args[-1].startswith("-")
        )
    if program == "uniq":  # uniq IN OUT writes OUT
        return len([a for a in args if not a.startswith("-")]) <= 1
    if program in _WRITING_OPTIONS and _has_option(args, *_WRITING_OPTIONS[program]):
        return False
    return program in _SAFE_PROGRAMS


def is_known_safe(argv: Sequence[str]) -> bool:
    """Whether a command only reads: runs without asking even under ``untrusted``."""
    commands = simple_commands(argv)
    return commands is not None and all(_safe_command(c) for c in commands)


@dataclass
class ApprovalGate:
    """Decides exec and patch requests under a policy, asking ``approver`` where needed."""

    policy: ApprovalPolicy
    approver: Approver
    project: Path
    rules: ApprovalRules | None = None
    allow_list_only: bool = False
    _session_commands: set[tuple[str, ...]] = field(default_factory=set)
    _session_patches: bool = False
    _session_tools: set[tuple[str, str]] = field(default_factory=set)  # (server, tool)

    # -- commands ---------------------------------------------------------------------

    def check_exec(
        self, argv: Sequence[str], call_id: str, cwd: Path, *, escalate: bool, reason: str | None
    ) -> ExecVerdict:
        """Before running: may it run, and inside the sandbox or outside (``escalate``)?"""
        command = tuple(argv)
        ruled = self._ruled(command)
        if self.allow_list_only and not ruled:
            return ExecVerdict(
                False, reason="allow-list-only: no approval rule matches this command"
            )
        if ruled:
            return ExecVerdict(True, sandboxed=not escalate)
        if escalate and self.policy is ApprovalPolicy.NEVER:
            return ExecVerdict(
                False, reason="running outside the sandbox needs approval; the policy is never"
            )
        needs_question = escalate or (
            self.policy is ApprovalPolicy.UNTRUSTED and not is_known_safe(command)
        )
        if not needs_question:
            return ExecVerdict(True)
        request = ApprovalRequest("exec", call_id, cwd, command, reason)
        return self._verdict(request, sandboxed=not escalate)

    def retry_unsandboxed(
        self, argv: Sequence[str], call_id: str, cwd: Path, output: str
    ) -> ExecVerdict:
        """After a sandbox denial under ``on-failure``: ask to run it again outside (a
        command granted for the session or by a rule is not asked about again)."""
        if self.policy is not ApprovalPolicy.ON_FAILURE or self.allow_list_only:
            return ExecVerdict(False, reason="no retry outside the sandbox under this policy")
        if self._ruled(tuple(argv)):
            return ExecVerdict(True, sandboxed=False)
        reason = "the sandbox refused it: " + (output.strip().splitlines() or [""])[-1][:200]
        request = ApprovalRequest("exec", call_id, cwd, tuple(argv), reason)
        return self._verdict(request, sandboxed=False)

    def _ruled(self, command: tuple[str, ...]) -> bool:
        if command in self._session_commands:
            return True
        return (
            self.rules is not None and self.rules.match_command(command, self.project) is not None
        )

    def _verdict(self, request: ApprovalRequest, *, sandboxed: bool) -> ExecVerdict:
        decision = self.approver.ask(request)
        if decision in (
            ApprovalDecision.APPROVED_FOR_SESSION,
            ApprovalDecision.APPROVED_FOR_PROJECT,
        ):
            self._session_commands.add(request.command)
        # Stored as rules match it: a `bash -lc` script by its one simple command (a script
        # no rule can match is granted for the session only).
        pattern = script_command(request.command)
        if decision is ApprovalDecision.APPROVED_FOR_PROJECT and self.rules is not None and pattern:
            self.rules.add("exec", pattern, project=self.project, note="approved in exec")
        if decision in (ApprovalDecision.DENIED, ApprovalDecision.ABORT):
            why = getattr(self.approver, "reason", None) or "the user declined it"
            return ExecVerdict(False, reason=why, abort=decision is ApprovalDecision.ABORT)
        return ExecVerdict(True, sandboxed=sandboxed)

    # -- patches ----------------------------------------------------------------------

    def check_patch(
        self,
        paths: Sequence[Path],
        writable_roots: Sequence[Path],
        request: ApprovalRequest,
    ) -> ExecVerdict:
        """May a patch writing ``paths`` be applied? Inside the writable roots it may (unless
        the policy is untrusted); outside, only with an approval."""
        ruled = self._session_patches or (
            self.rules is not None and self.rules.match_patch(paths, self.project) is not None
        )
        if self.allow_list_only and not ruled:
            return ExecVerdict(False, reason="allow-list-only: no approval rule matches this patch")
        inside = all(any(_within(p, root) for root in writable_roots) for p in paths)
        if ruled or (inside and self.policy is not ApprovalPolicy.UNTRUSTED):
            return ExecVerdict(True, sandboxed=False)
        if self.policy is ApprovalPolicy.NEVER:
            return ExecVerdict(
                False, reason="the patch writes outside the writable roots; the policy is never"
            )
        decision = self.approver.ask(request)
        if decision is ApprovalDecision.APPROVED_FOR_SESSION:
            self._session_patches = True
        elif decision is ApprovalDecision.APPROVED_FOR_PROJECT and self.rules is not None:
            self.rules.add("patch", ("**",), project=self.project, note="approved in exec")
        if decision in (ApprovalDecision.DENIED, ApprovalDecision.ABORT):
            why = getattr(self.approver, "reason", None) or "the user declined the patch"
            return ExecVerdict(False, reason=why, abort=decision is ApprovalDecision.ABORT)
        return ExecVerdict(True, sandboxed=False)

    # -- MCP tools ----------------------------------------------------------------------

    def check_mcp(
        self, request: ApprovalRequest, *, read_only: bool, contained: bool
    ) -> ExecVerdict:
        """May ``request`` (kind ``mcp``) call its tool? A tool the server marks read-only,
        or one of a contained server, runs without asking (under ``untrusted`` only a
        read-only one); any other is asked about, and refused under ``never``. Rules and
        approvals for the session come first."""
        key = (request.server, request.tool)
        ruled = key in self._session_tools or (
            self.rules is not None
            and self.rules.match_mcp(request.server, request.tool, self.project) is not None
        )
        if self.allow_list_only and not ruled:
            return ExecVerdict(False, reason="allow-list-only: no approval rule matches this tool")
        if ruled:
            return ExecVerdict(True, sandboxed=False)
        if self.policy is ApprovalPolicy.UNTRUSTED:
            needs_question = not read_only
        else:
            needs_question = not (read_only or contained)
        if not needs_question:
            return ExecVerdict(True, sandboxed=contained)
        if self.policy is ApprovalPolicy.NEVER:
            return ExecVerdict(
                False,
                reason=f"{request.tool} of MCP server {request.server} may change things and the "
                "server runs uncontained; the policy is never",
            )
        decision = self.approver.ask(request)
        if decision in (
            ApprovalDecision.APPROVED_FOR_SESSION,
            ApprovalDecision.APPROVED_FOR_PROJECT,
        ):
            self._session_tools.add(key)
        if decision is ApprovalDecision.APPROVED_FOR_PROJECT and self.rules is not None:
            self.rules.add("mcp", key, project=self.project, note="approved in exec")
        if decision in (ApprovalDecision.DENIED, ApprovalDecision.ABORT):
            why = getattr(self.approver, "reason", None) or "the user declined the tool call"
            return ExecVerdict(False, reason=why, abort=decision is ApprovalDecision.ABORT)
        return ExecVerdict(True, sandboxed=contained)


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
