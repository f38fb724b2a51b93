"""An agent definition's ``tools`` section enforced: the sandbox it gets, the commands it
may run, the tools it is offered, and refusals of the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.app.supervisor.conftest import definition

from ainos.app.agent import AgentConfig, ApprovalPolicy
from ainos.app.agent.sandbox import SandboxMode
from ainos.app.agent.tools import builtin_tools
from ainos.app.supervisor import AgentPolicy
from ainos.app.supervisor._policy import host_allowed
from ainos.app.supervisor.checks import check_tools

BASE = """
name: {name}
goal: Test the policy
tools:
  fs: {{read: {read}, write: {write}}}
  shell: {{exec: {exec}}}
  net: {{allow: {allow}}}
  mcp: {mcp}
checks: {checks}
"""


def policy(
    tmp_path: Path,
    *,
    read: str = "true",
    write: str = "false",
    exec: str = "[]",
    allow: str = "[]",
    mcp: str = "[]",
    checks: str = "[]",
) -> AgentPolicy:
    text = BASE.format(
        name="tester", read=read, write=write, exec=exec, allow=allow, mcp=mcp, checks=checks
    )
    return AgentPolicy(definition(text), tmp_path)


def test_no_write_is_a_read_only_sandbox(tmp_path: Path) -> None:
    sandbox = policy(tmp_path).sandbox()
    assert sandbox.mode is SandboxMode.READ_ONLY
    assert sandbox.writable_paths() == ()
    assert not sandbox.network


def test_write_true_is_the_workspace(tmp_path: Path) -> None:
    sandbox = policy(tmp_path, write="true").sandbox()
    assert sandbox.mode is SandboxMode.WORKSPACE_WRITE
    assert tmp_path.resolve() in sandbox.writable_paths()


def test_write_paths_leave_the_workspace_read_only(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "out" / "data").mkdir(parents=True)
    sandbox = policy(tmp_path, write="[reports, out/data]").sandbox()
    writable = sandbox.writable_paths(environ={})
    assert tmp_path.resolve() not in writable
    assert (tmp_path / "reports").resolve() in writable
    assert (tmp_path / "out" / "data").resolve() in writable


def test_network_only_when_allowed(tmp_path: Path) -> None:
    assert policy(tmp_path, allow="[pypi.org]").sandbox().network


def test_config_is_narrowed(tmp_path: Path) -> None:
    base = AgentConfig(model="m", max_tokens=50_000, allow_list_only=True)
    narrowed = policy(tmp_path, write="[reports]").config(base)
    assert narrowed.approval_policy is ApprovalPolicy.NEVER  # nobody is there to ask
    assert narrowed.sandbox_mode == "workspace-write"
    assert narrowed.max_tokens == 16_000  # the definition's default context budget
    assert narrowed.model == "m"


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["git", "log", "-3"], True),
        (["/usr/bin/git", "log"], True),
        (["git", "push"], False),
        (["pytest", "-q"], True),
        (["python", "-m", "pytest"], True),
        (["python", "-c", "print(1)"], False),
        (["bash", "-lc", "git log -1 && pytest -q"], True),
        (["bash", "-lc", "git log -1 && rm -rf /"], False),
        (["bash", "-lc", "pytest > out.txt"], False),  # a redirect: not a simple command
        (["rm", "-rf", "."], False),
    ],
)
def test_shell_exec_allows_only_its_commands(
    tmp_path: Path, argv: list[str], allowed: bool
) -> None:
    checked = policy(tmp_path, exec='["git log", pytest, "python -m pytest"]')
    refusal = checked.command_refusal(argv)
    assert (refusal is None) is allowed, refusal
    if not allowed:
        assert "tester" in refusal  # type: ignore[operator]


def test_no_shell_exec_refuses_every_command(tmp_path: Path) -> None:
    refusal = policy(tmp_path).command_refusal(["ls"])
    assert refusal == "agent tester may run no commands (tools.shell.exec is empty)"


def test_toolbox_offers_only_what_is_granted(tmp_path: Path) -> None:
    checks = frozenset(t.spec.name for t in check_tools())
    box = policy(tmp_path, checks="[secrets]").toolbox(
        [*builtin_tools(), *check_tools()], check_tools=checks
    )
    offered = set(box.names())
    assert {"read_file", "list_dir", "grep", "check_secrets", "update_plan"} <= offered
    assert "apply_patch" not in offered
    assert "shell" not in offered
    refused = box.get("apply_patch")
    assert refused is not None  # a call by name still gets an answer: the refusal
    assert (
        box.refused["apply_patch"] == "agent tester may not write files (tools.fs.write is false)"
    )


def test_no_read_means_no_file_tools(tmp_path: Path) -> None:
    box = policy(tmp_path, read="false").toolbox(builtin_tools(), check_tools=frozenset())
    assert not {"read_file", "list_dir", "grep"} & set(box.names())
    assert "may not read files" in box.refused["read_file"]


def test_writers_and_runners_get_their_tools(tmp_path: Path) -> None:
    box = policy(tmp_path, write="true", exec="[pytest]").toolbox(
        builtin_tools(), check_tools=frozenset()
    )
    assert {"apply_patch", "shell"} <= set(box.names())


@pytest.mark.parametrize(
    ("url", "allow", "expected"),
    [
        ("https://api.example.com/mcp", ["api.example.com"], True),
        ("https://api.example.com/mcp", ["*.example.com"], True),
        ("https://example.com/mcp", ["*.example.com"], True),
        ("https://evil.com/mcp", ["*.example.com"], False),
        ("https://api.example.com.evil.com/", ["api.example.com"], False),
        ("http://localhost:8000/mcp", ["*"], True),
        ("http://localhost:8000/mcp", [], False),
    ],
)
def test_host_allowed(url: str, allow: list[str], expected: bool) -> None:
    assert host_allowed(url, allow) is expected


def test_write_paths_that_do_not_exist_are_not_bound(tmp_path: Path) -> None:
    sandbox = policy(tmp_path, write="[reports]").sandbox()
    assert sandbox.writable_roots == ()  # bwrap cannot bind a missing directory


def test_a_temporary_directory_holding_the_workspace_is_not_writable(tmp_path: Path) -> None:
    """The workspace lives under /tmp here: /tmp writable would make all of it writable."""
    sandbox = policy(tmp_path, write="[reports]").sandbox()
    assert not any(tmp_path.resolve().is_relative_to(p) for p in sandbox.writable_paths())
