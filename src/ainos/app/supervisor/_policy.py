"""An agent definition's ``tools`` section, enforced on the tools of its session.

Not advisory: a tool the definition does not grant is not offered to the model, and a call
to it anyway is refused with the reason (the refusal is an item of the run, like any denied
command). In detail:

- ``fs.read: false`` — no file tools and no checks (they read files).
- ``fs.write`` — ``false``: no patches, and commands run in a read-only sandbox; a list of
  paths: patches and commands may write under those paths only (the workspace itself stays
  read-only); ``true``: the workspace.
- ``shell.exec`` — the commands it may run, by program or command prefix (``git log``);
  every command of a ``bash -lc`` script must match one, and a script the gate cannot split
  into simple commands is refused. Empty: no shell at all. Nothing runs outside the sandbox
  (the approval policy is ``never``: nobody is there to ask).
- ``net.allow`` — empty: commands have no network. Otherwise they have it: the sandbox cannot
  filter by host, so the list is an allowance for the network as a whole, said in ``show``.
- ``mcp`` — the AI actions (by id) and registered MCP servers (``server`` or
  ``server/tool``) it may call; the tools its checks need come with the checks.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ainos.app.agent import AgentConfig, ApprovalPolicy, ToolBox, ToolCall, ToolSpec
from ainos.app.agent._approval import simple_commands
from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy
from ainos.app.agent.tools import Tool, ToolContext, ToolOutcome, action_tool_name
from ainos.app.supervisor._definition import AgentDefinition
from ainos.protocol.agent import AgentItem, CommandExecutionItem, ItemStatus, McpToolCallItem

__all__ = ["AgentPolicy", "PolicedToolBox", "host_allowed"]

_FILE_TOOLS = frozenset({"read_file", "list_dir", "grep"})
_ALWAYS = frozenset({"update_plan"})


@dataclass(frozen=True)
class AgentPolicy:
    """What ``definition`` may do in ``workspace``."""

    definition: AgentDefinition
    workspace: Path

    # -- the filesystem -----------------------------------------------------------------

    def write_roots(self) -> tuple[Path, ...] | None:
        """Where it may write: None for nowhere."""
        paths = self.definition.tools.fs.write_paths()
        if paths is None:
            return None
        return tuple((self.workspace / PurePosixPath(p)).resolve() for p in paths)

    def sandbox(self) -> SandboxPolicy:
        roots = self.write_roots()
        network = bool(self.definition.tools.net.allow)
        if roots is None:
            return SandboxPolicy(SandboxMode.READ_ONLY, self.workspace, network=network)
        whole = self.workspace.resolve() in roots
        # A root that does not exist yet cannot be bound: writable once a patch made it.
        existing = tuple(root for root in roots if root.is_dir())
        return SandboxPolicy(
            SandboxMode.WORKSPACE_WRITE,
            self.workspace,
            writable_roots=() if whole else existing,
            network=network,
            workspace_writable=whole,
        )

    def config(self, base: AgentConfig) -> AgentConfig:
        """``base`` (the user's agent configuration) narrowed to the definition."""
        sandbox = self.sandbox()
        return replace(
            base,
            model=self.definition.model or base.model,
            approval_policy=ApprovalPolicy.NEVER,
            sandbox_mode=sandbox.mode.value,
            network_access=sandbox.network,
            writable_roots=sandbox.writable_roots,
            max_tokens=min(base.max_tokens, self.definition.policies.context.max_tokens),
            allow_list_only=False,
        )

    # -- commands -----------------------------------------------------------------------

    def command_refusal(self, argv: Sequence[str]) -> str | None:
        """Why ``argv`` may not run under ``shell.exec``, or None when it may."""
        allowed = [shlex.split(entry) for entry in self.definition.tools.shell.exec]
        name = self.definition.name
        if not allowed:
            return f"agent {name} may run no commands (tools.shell.exec is empty)"
        commands = simple_commands(argv)
        if commands is None:
            return (
                f"agent {name} may run only simple commands of tools.shell.exec; this script "
                "uses more than &&, ||, ; and |"
            )
        for command in commands:
            if not any(_starts_with(command, prefix) for prefix in allowed):
                listed = ", ".join(self.definition.tools.shell.exec)
                return (
                    f"agent {name} may not run {shlex.join(command)!r}: tools.shell.exec "
                    f"allows only {listed}"
                )
        return None

    # -- tools --------------------------------------------------------------------------

    def refusal(self, tool: Tool, *, check_tools: frozenset[str]) -> str | None:
        """Why the model may not have ``tool`` at all, or None."""
        name = tool.spec.name
        fs = self.definition.tools.fs
        agent = self.definition.name
        if name in _ALWAYS:
            return None
        if name in _FILE_TOOLS or name in check_tools:
            return None if fs.read else f"agent {agent} may not read files (tools.fs.read)"
        if name == "apply_patch":
            if self.write_roots() is None:
                return f"agent {agent} may not write files (tools.fs.write is false)"
            return None
        if name == "shell":
            if not self.definition.tools.shell.exec:
                return f"agent {agent} may run no commands (tools.shell.exec is empty)"
            return None
        if self._granted(name, getattr(tool, "server", ""), getattr(tool, "tool", "")):
            return None
        return f"agent {agent} was not granted {name} (tools.mcp)"

    def _granted(self, name: str, server: str, tool: str) -> bool:
        for entry in self.definition.tools.mcp:
            if entry == name or action_tool_name(entry) == name:
                return True
            if server and (entry == server or entry == f"{server}/{tool}"):
                return True
        return False

    def _narrowed(self, tool: Tool) -> Tool:
        if tool.spec.name == "shell":
            return _AllowListedShell(tool, self)
        if tool.spec.name == "apply_patch":
            return _WriteLimitedPatch(tool, self)
        return tool

    def patch_refusal(self, patch: str) -> str | None:
        """Why a patch may not be applied under ``fs.write``, or None (also None for a patch
        that cannot be read: the tool itself says what is wrong with it)."""
        from ainos.app.agent._patch import plan_patch
        from ainos.errors import AinosError

        roots = self.write_roots()
        if roots is None:
            return f"agent {self.definition.name} may not write files (tools.fs.write is false)"
        try:
            paths = plan_patch(patch, self.workspace).paths()
        except AinosError:
            return None
        for path in paths:
            if not any(path.resolve().is_relative_to(root) for root in roots):
                allowed = ", ".join(self.definition.tools.fs.write_paths() or ())
                shown = (
                    path.resolve().relative_to(self.workspace.resolve())
                    if path.resolve().is_relative_to(self.workspace.resolve())
                    else path
                )
                return (
                    f"agent {self.definition.name} may write only under {allowed} "
                    f"(tools.fs.write); the patch writes {shown}"
                )
        return None

    def toolbox(self, tools: Iterable[Tool], *, check_tools: frozenset[str]) -> PolicedToolBox:
        allowed: list[Tool] = []
        refused: dict[str, str] = {}
        for tool in tools:
            why = self.refusal(tool, check_tools=check_tools)
            if why is None:
                allowed.append(self._narrowed(tool))
            else:
                refused[tool.spec.name] = why
        for name in ("apply_patch", "shell", *_FILE_TOOLS):
            if name not in refused and all(t.spec.name != name for t in allowed):
                refused[name] = f"agent {self.definition.name} has no {name} tool"
        return PolicedToolBox(allowed, refused)


def _starts_with(command: Sequence[str], prefix: Sequence[str]) -> bool:
    if not prefix or len(command) < len(prefix):
        return False
    head = [PurePosixPath(command[0]).name, *command[1 : len(prefix)]]
    return head == [PurePosixPath(prefix[0]).name, *prefix[1:]]


class PolicedToolBox(ToolBox):
    """The tools a definition grants; a refused one is not offered, and a call to it is
    answered with the refusal."""

    def __init__(self, tools: Iterable[Tool], refused: dict[str, str]) -> None:
        super().__init__(tools)
        self.refused = dict(refused)

    def get(self, name: str) -> Tool | None:
        found = super().get(name)
        if found is None and name in self.refused:
            return _Refused(name, self.refused[name])
        return found


@dataclass(frozen=True)
class _Refused:
    """A tool the definition does not grant, as the model would reach it by name."""

    name: str
    reason: str

    @property
    def spec(self) -> ToolSpec:  # never offered (not in ``specs()``); only ``get`` finds it
        return ToolSpec(self.name, f"not available: {self.reason}", {"type": "object"})

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return McpToolCallItem(
            id=item_id, server="ainos", tool=call.name, arguments=dict(call.arguments)
        )

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        assert isinstance(item, McpToolCallItem)
        message = f"refused: {self.reason}"
        failed = item.model_copy(
            update={"error": {"message": message}, "status": ItemStatus.FAILED}
        )
        return ToolOutcome(message, failed, ok=False)


@dataclass(frozen=True)
class _Guarded:
    """A granted tool whose calls the definition still limits: ``refusal`` says why a call
    may not run (None: it runs)."""

    inner: Tool
    policy: AgentPolicy

    @property
    def spec(self) -> ToolSpec:
        return self.inner.spec

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return self.inner.start(call, item_id)

    def refusal(self, call: ToolCall) -> str | None:
        raise NotImplementedError

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        why = self.refusal(call)
        if why is None:
            return self.proceed(call, item, context)
        message = f"refused: {why}"
        update: dict[str, object] = {"status": ItemStatus.DECLINED}
        if isinstance(item, CommandExecutionItem):
            update["aggregated_output"] = message
        return ToolOutcome(message, item.model_copy(update=update), ok=False)

    def proceed(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        return self.inner.run(call, item, context)


class _AllowListedShell(_Guarded):
    """The shell tool, running only what ``shell.exec`` allows."""

    def refusal(self, call: ToolCall) -> str | None:
        argv = [str(a) for a in call.arguments.get("command") or []]
        return self.policy.command_refusal(argv) if argv else None


class _WriteLimitedPatch(_Guarded):
    """``apply_patch``, writing only under ``fs.write``'s paths (the sandbox's temporary
    directories, writable for commands, are not among them)."""

    def refusal(self, call: ToolCall) -> str | None:
        return self.policy.patch_refusal(str(call.arguments.get("input") or ""))

    def proceed(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        # The tool checks against the sandbox's roots, which hold only those that exist
        # (a bind needs its directory); a patch may create the others.
        roots = self.policy.write_roots() or ()
        sandbox = replace(context.sandbox, writable_roots=roots)
        return self.inner.run(call, item, replace(context, sandbox=sandbox))


def host_allowed(url: str, allow: Sequence[str]) -> bool:
    """Whether ``url``'s host is one ``net.allow`` names (``*``, ``host``, ``*.domain``)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    for entry in allow:
        pattern = (urlsplit(entry).hostname or entry) if "//" in entry else entry
        pattern = pattern.lower().split("/", 1)[0]
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
            return True
    return False
