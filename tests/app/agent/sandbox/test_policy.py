"""Sandbox policies: modes, writable roots, protected entries, and the bubblewrap command line
they turn into."""

from __future__ import annotations

from pathlib import Path

import pytest

from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy
from ainos.app.agent.sandbox._bwrap import bwrap_argv
from ainos.errors import InvalidArgument


def test_modes_parse_from_text() -> None:
    assert SandboxMode.parse("workspace-write") is SandboxMode.WORKSPACE_WRITE
    policy = SandboxPolicy("read-only", Path("."))  # type: ignore[arg-type]
    assert policy.mode is SandboxMode.READ_ONLY
    assert policy.workspace == Path.cwd().resolve()
    with pytest.raises(InvalidArgument, match="expected one of read-only, workspace-write"):
        SandboxMode.parse("full")


def test_writable_paths_per_mode(workspace: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    assert SandboxPolicy(SandboxMode.READ_ONLY, workspace).writable_paths() == ()
    assert SandboxPolicy(SandboxMode.DANGER_FULL_ACCESS, workspace).writable_paths() == (Path("/"),)
    policy = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace, (extra, workspace))
    assert policy.writable_paths() == (workspace, extra, Path("/tmp"))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    assert policy.writable_paths({"TMPDIR": str(tmpdir)}) == (
        workspace,
        extra,
        Path("/tmp"),
        tmpdir,
    )
    # A TMPDIR that does not exist, or is relative, adds nothing.
    assert policy.writable_paths({"TMPDIR": "relative"}) == (workspace, extra, Path("/tmp"))


def test_unrestricted_keeps_the_workspace(workspace: Path) -> None:
    policy = SandboxPolicy(SandboxMode.READ_ONLY, workspace).unrestricted()
    assert policy.mode is SandboxMode.DANGER_FULL_ACCESS
    assert policy.workspace == workspace
    assert not policy.sandboxed
    assert policy.network_allowed


def test_git_and_ainos_stay_read_only(workspace: Path, tmp_path: Path) -> None:
    policy = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace)
    assert policy.read_only_subpaths() == ()
    (workspace / ".git").mkdir()
    (workspace / ".ainos").mkdir()
    assert policy.read_only_subpaths() == (workspace / ".git", workspace / ".ainos")
    assert SandboxPolicy(SandboxMode.READ_ONLY, workspace).read_only_subpaths() == ()


def test_a_git_file_protects_the_directory_it_points_to(workspace: Path, tmp_path: Path) -> None:
    gitdir = tmp_path / "main.git" / "worktrees" / "feature"
    gitdir.mkdir(parents=True)
    (workspace / ".git").write_text(f"gitdir: {gitdir}\n")
    policy = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace)
    assert policy.read_only_subpaths() == (workspace / ".git", gitdir)
    (workspace / ".git").write_text("not a pointer\n")
    assert policy.read_only_subpaths() == (workspace / ".git",)


def _pairs(args: list[str], flag: str) -> list[tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg == flag]


def test_bwrap_workspace_write_binds_roots_then_protected_entries(workspace: Path) -> None:
    (workspace / ".git").mkdir()
    policy = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace)
    args = bwrap_argv("bwrap", ["ls", "-l"], cwd=workspace, policy=policy, environ={})
    assert args[:3] == ["bwrap", "--new-session", "--die-with-parent"]
    assert args[-3:] == ["--", "ls", "-l"]
    assert _pairs(args, "--ro-bind") == [("/", "/"), (str(workspace / ".git"),) * 2]
    assert _pairs(args, "--bind") == [("/tmp", "/tmp"), (str(workspace), str(workspace))]
    last_bind = max(i for i, a in enumerate(args) if a == "--bind")
    assert args.index(str(workspace / ".git")) > last_bind  # the protection wins
    assert "--unshare-net" in args
    assert "--unshare-pid" in args
    assert args[args.index("--chdir") + 1] == str(workspace)
    with_network = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace, network=True)
    args = bwrap_argv("bwrap", ["true"], cwd=workspace, policy=with_network, environ={})
    assert "--unshare-net" not in args


def test_bwrap_read_only_writes_only_its_scratch_directory(workspace: Path, tmp_path: Path) -> None:
    assert workspace.is_relative_to("/tmp")  # pytest's tmp_path: nothing may hide it
    scratch = tmp_path / "scratch"
    policy = SandboxPolicy(SandboxMode.READ_ONLY, workspace)
    args = bwrap_argv("bwrap", ["true"], cwd=workspace, policy=policy, environ={}, scratch=scratch)
    assert "--tmpfs" not in args
    assert _pairs(args, "--ro-bind") == [("/", "/")]
    assert _pairs(args, "--bind") == [(str(scratch), str(scratch))]
