"""Commands run for real under each mechanism this machine has: what they may write, whether
they reach the network, and how they are stopped, capped and reported."""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.app.agent.sandbox import CommandResult, SandboxMode, SandboxPolicy, run_command
from ainos.errors import InvalidArgument

READ_ONLY = SandboxMode.READ_ONLY
WORKSPACE_WRITE = SandboxMode.WORKSPACE_WRITE
FULL = SandboxMode.DANGER_FULL_ACCESS


def _run(argv: list[str], workspace: Path, mode: SandboxMode, **options: object) -> CommandResult:
    network = bool(options.pop("network", False))
    policy = SandboxPolicy(mode, workspace, network=network)
    return run_command(argv, cwd=workspace, policy=policy, **options)  # type: ignore[arg-type]


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


# -- filesystem -------------------------------------------------------------------------


def test_workspace_write_allows_the_workspace_only(
    mechanism: str, workspace: Path, outside: Path
) -> None:
    inside = _run(_sh("echo hello > made.txt"), workspace, WORKSPACE_WRITE)
    assert inside.exit_code == 0, inside.output
    assert inside.mechanism == mechanism
    assert (workspace / "made.txt").read_text() == "hello\n"

    target = outside / "escaped.txt"
    denied = _run(_sh(f"echo no > {target}"), workspace, WORKSPACE_WRITE)
    assert denied.exit_code != 0
    assert denied.likely_sandbox_denial, denied.output
    assert not target.exists()


def test_workspace_write_refuses_home(mechanism: str, workspace: Path) -> None:
    target = Path.home() / f".ainos-sandbox-test-{uuid.uuid4().hex}"
    try:
        result = _run(_sh(f"echo no > {target}"), workspace, WORKSPACE_WRITE)
        assert result.exit_code != 0
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_read_only_refuses_the_workspace(mechanism: str, workspace: Path) -> None:
    (workspace / "kept.txt").write_text("original\n")
    result = _run(_sh("echo changed > kept.txt"), workspace, READ_ONLY)
    assert result.exit_code != 0
    assert result.likely_sandbox_denial
    assert "Read-only file system" in result.output or "Permission denied" in result.output
    assert (workspace / "kept.txt").read_text() == "original\n"
    assert _run(["cat", "kept.txt"], workspace, READ_ONLY).output == "original\n"


def test_read_only_writes_to_tmp_do_not_reach_the_real_tmp(mechanism: str, workspace: Path) -> None:
    target = Path("/tmp") / f"ainos-sandbox-test-{uuid.uuid4().hex}"
    try:
        _run(_sh(f"echo leaked > {target}"), workspace, READ_ONLY)
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)
    # Tools that need a temporary directory still work.
    script = "import tempfile; f = tempfile.NamedTemporaryFile(); f.write(b'x'); print('ok')"
    result = _run([sys.executable, "-c", script], workspace, READ_ONLY)
    assert (result.exit_code, result.output) == (0, "ok\n")


def test_git_stays_read_only_under_bubblewrap(
    monkeypatch: pytest.MonkeyPatch, have_bwrap: bool, workspace: Path
) -> None:
    if not have_bwrap:
        pytest.skip("bwrap is not installed")
    monkeypatch.setenv("AINOS_SANDBOX", "bubblewrap")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("[core]\n")
    result = _run(
        _sh("echo x > file.txt; echo '[evil]' >> .git/config"), workspace, WORKSPACE_WRITE
    )
    assert result.exit_code != 0
    assert result.likely_sandbox_denial
    assert (workspace / "file.txt").exists()
    assert (workspace / ".git" / "config").read_text() == "[core]\n"


def test_danger_full_access_runs_unsandboxed(
    monkeypatch: pytest.MonkeyPatch, workspace: Path, outside: Path
) -> None:
    monkeypatch.setenv("AINOS_SANDBOX", "none")  # no mechanism is needed for it
    result = _run(
        _sh(f"echo yes > {outside / 'f'}; echo ${{AINOS_SANDBOXED:-none}}"), workspace, FULL
    )
    assert (result.exit_code, result.mechanism, result.output) == (0, "none", "none\n")
    assert (outside / "f").read_text() == "yes\n"


def test_sandboxed_commands_are_told_so(mechanism: str, workspace: Path) -> None:
    result = _run(
        _sh("echo $AINOS_SANDBOXED $AINOS_SANDBOX_NETWORK_DISABLED"), workspace, READ_ONLY
    )
    assert result.output == f"{mechanism} 1\n"


# -- network ----------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1; the kernel completes connections into its backlog."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield server.getsockname()[1]


_CONNECT = (
    "import socket, sys\n"
    "socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5).close()\n"
    "print('connected')\n"
)


@pytest.mark.parametrize("mode", [READ_ONLY, WORKSPACE_WRITE])
def test_network_is_refused_by_default(
    mechanism: str, workspace: Path, listener: int, mode: SandboxMode
) -> None:
    result = _run([sys.executable, "-c", _CONNECT, str(listener)], workspace, mode)
    assert result.exit_code != 0
    assert "connected" not in result.output
    assert result.likely_sandbox_denial, result.output


def test_network_when_the_policy_allows_it(mechanism: str, workspace: Path, listener: int) -> None:
    argv = [sys.executable, "-c", _CONNECT, str(listener)]
    result = _run(argv, workspace, WORKSPACE_WRITE, network=True)
    assert (result.exit_code, result.output) == (0, "connected\n")


# -- exit codes, output ----------------------------------------------------------------


def test_exit_code_and_interleaved_output(any_mode: SandboxMode, workspace: Path) -> None:
    result = _run(_sh("echo one; echo two >&2; echo three; exit 3"), workspace, any_mode)
    assert result.exit_code == 3
    assert result.output == "one\ntwo\nthree\n"
    assert (result.truncated, result.timed_out, result.cancelled) == (False, False, False)
    assert not result.likely_sandbox_denial
    assert result.argv == ("sh", "-c", "echo one; echo two >&2; echo three; exit 3")
    assert result.duration_s > 0


def test_death_by_signal_is_128_plus_the_signal(any_mode: SandboxMode, workspace: Path) -> None:
    result = _run(_sh("kill -TERM $$"), workspace, any_mode)
    assert result.exit_code == 128 + 15


@pytest.mark.parametrize("program", ["no-such-program-ainos", "./no-such-script"])
def test_a_missing_executable_is_exit_code_127(
    any_mode: SandboxMode, workspace: Path, program: str
) -> None:
    result = _run([program, "arg"], workspace, any_mode)
    assert result.exit_code == 127
    assert f"command not found: {program}" in result.output
    assert not result.likely_sandbox_denial


def test_output_keeps_head_and_tail(workspace: Path) -> None:
    script = "import sys; sys.stdout.write('A' * 5000 + 'B' * 100000 + 'Z' * 5000)"
    result = _run([sys.executable, "-c", script], workspace, FULL, output_cap=10_000)
    assert result.truncated
    head, marker, tail = result.output.partition("\n[… 100000 bytes omitted …]\n")
    assert marker
    assert (head, tail) == ("A" * 5000, "Z" * 5000)
    exact = _run([sys.executable, "-c", script], workspace, FULL, output_cap=110_000)
    assert not exact.truncated
    assert len(exact.output) == 110_000


def test_invalid_utf8_is_replaced(workspace: Path) -> None:
    script = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end')"
    result = _run([sys.executable, "-c", script], workspace, FULL)
    assert result.output == "ok \ufffd\ufffd end"


# -- stopping ---------------------------------------------------------------------------


def test_timeout_kills_the_command(any_mode: SandboxMode, workspace: Path) -> None:
    marker = f"{30 + uuid.uuid4().int % 1000 / 1000:.3f}"
    result = _run(["sleep", marker], workspace, any_mode, timeout_s=0.3)
    assert result.timed_out
    assert result.exit_code is None
    assert not result.cancelled
    assert _processes_with(marker) == []


def test_cancel_stops_the_command(workspace: Path) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    try:
        result = _run(["sleep", "30"], workspace, FULL, cancel=cancel, timeout_s=30)
    finally:
        timer.cancel()
    assert result.cancelled
    assert not result.timed_out
    assert result.exit_code is None


def test_background_leftovers_do_not_hold_the_command(workspace: Path) -> None:
    marker = f"{40 + uuid.uuid4().int % 1000 / 1000:.3f}"
    result = _run(_sh(f"sleep {marker} & echo started"), workspace, FULL, timeout_s=20)
    assert (result.exit_code, result.output, result.timed_out) == (0, "started\n", False)
    assert _processes_with(marker) == []


# -- refusals ---------------------------------------------------------------------------


def test_bad_arguments(workspace: Path) -> None:
    policy = SandboxPolicy(FULL, workspace)
    with pytest.raises(InvalidArgument, match="does not exist"):
        run_command(["true"], cwd=workspace / "missing", policy=policy)
    with pytest.raises(InvalidArgument, match="argv is empty"):
        run_command([], cwd=workspace, policy=policy)
    with pytest.raises(InvalidArgument, match="timeout"):
        run_command(["true"], cwd=workspace, policy=policy, timeout_s=0)
    extra = SandboxPolicy(WORKSPACE_WRITE, workspace, (workspace / "gone",))
    with pytest.raises(InvalidArgument, match="writable root"):
        run_command(["true"], cwd=workspace, policy=extra)


def test_env_is_passed_as_given(workspace: Path) -> None:
    result = run_command(
        _sh("echo $GREETING"),
        cwd=workspace,
        policy=SandboxPolicy(FULL, workspace),
        env={"GREETING": "hi", "PATH": os.environ["PATH"]},
    )
    assert result.output == "hi\n"
