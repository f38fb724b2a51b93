"""Containment with bubblewrap: a contained server sees only its grants (run for real), and
one whose sandbox cannot start is refused, never run uncontained."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from tests.ai.mcp_registry.conftest import ECHO_SERVER, echo_entry, needs_bwrap

from ainos.ai.mcp_registry import (
    Capability,
    ConsentStore,
    Grant,
    McpConnections,
    ServerEntry,
    StdioCommand,
    contained_argv,
)
from ainos.errors import McpRegistryError


def grant(capability: Capability, path: Path | None = None, grant_id: int = 1) -> Grant:
    return Grant(grant_id, "*", "echo", capability, path, 0.0)


def binds(argv: list[str]) -> dict[str, str]:
    """Bind target → the option that made it."""
    found = {}
    for index, arg in enumerate(argv):
        if arg in ("--bind-try", "--ro-bind-try", "--ro-bind"):
            found[argv[index + 2]] = arg
    return found


def test_the_sandbox_holds_the_system_the_runtime_the_server_and_its_grants(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs" / "drafts").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    grants = [
        grant(Capability.FILE_SYSTEM_READ, tmp_path / "docs"),
        grant(Capability.FILE_SYSTEM_WRITE, tmp_path / "out"),
        grant(Capability.FILE_SYSTEM_READ, tmp_path / "out" / "inside-write"),
    ]
    argv = contained_argv(
        echo_entry(containment="contained"), grants, bwrap="/usr/bin/bwrap", environ=os.environ
    )

    assert argv[0] == "/usr/bin/bwrap"
    assert argv[argv.index("--") + 1 :] == [sys.executable, str(ECHO_SERVER)]
    assert "--unshare-net" in argv
    assert "--unshare-pid" in argv
    mounts = binds(argv)
    assert mounts[str(tmp_path / "docs")] == "--ro-bind-try"
    assert mounts[str(tmp_path / "out")] == "--bind-try"
    assert str(tmp_path / "out" / "inside-write") not in mounts  # a read grant never narrows
    assert mounts[str(ECHO_SERVER)] == "--ro-bind-try"  # its own file
    assert mounts["/usr"] == "--ro-bind"
    venv = Path(sys.executable).parent.parent
    if not str(venv).startswith("/usr"):
        assert mounts[str(venv)] == "--ro-bind-try"  # the interpreter's installation
    assert str(Path.home()) not in mounts


def test_an_http_grant_lets_the_network_in() -> None:
    argv = contained_argv(
        echo_entry(containment="contained"),
        [grant(Capability.HTTP_GET)],
        bwrap="bwrap",
        environ=os.environ,
    )
    assert "--unshare-net" not in argv


@needs_bwrap
def test_a_contained_server_reads_its_grants_and_nothing_else(tmp_path: Path) -> None:
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "note.txt").write_text("you may read this")
    secret = tmp_path / "secret.txt"
    secret.write_text("you may not")
    ConsentStore().grant("echo", Capability.FILE_SYSTEM_READ, granted, host="tests")

    entry = echo_entry(containment="contained")
    with McpConnections([entry], client_name="tests", host="tests") as connections:
        inside = connections.call("echo", "read_file", {"path": str(granted / "note.txt")})
        outside = connections.call("echo", "read_file", {"path": str(secret)})
        # Beside its own file, which it may read, nothing of its directory is there.
        sibling = connections.call(
            "echo", "read_file", {"path": str(ECHO_SERVER.with_name("..") / "conftest.py")}
        )

    assert not inside.is_error
    assert inside.content[0].text == "you may read this"
    assert outside.is_error
    assert "No such file or directory" in outside.content[0].text  # type: ignore[union-attr]
    assert sibling.is_error


@needs_bwrap
def test_grants_of_another_host_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("for claude only")
    ConsentStore().grant("echo", Capability.FILE_SYSTEM_READ, tmp_path, host="claude")

    entry = echo_entry(containment="contained")
    with McpConnections([entry], client_name="tests", host="cursor") as connections:
        result = connections.call("echo", "read_file", {"path": str(tmp_path / "note.txt")})
    assert result.is_error


@pytest.mark.parametrize(
    ("fake", "reason"),
    [
        (None, "bubblewrap is not installed (no bwrap on PATH)"),
        ("echo 'bwrap: No permissions to create a new namespace' >&2; exit 1",
         "bwrap: No permissions to create a new namespace"),
    ],
)  # fmt: skip
def test_a_contained_server_whose_sandbox_cannot_start_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: str | None, reason: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if fake is not None:
        bwrap = bin_dir / "bwrap"
        bwrap.write_text(f"#!/bin/sh\n{fake}\n")
        bwrap.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    witness = tmp_path / "ran"  # the server would write it: it must never run
    launch = StdioCommand(
        sys.executable, (str(ECHO_SERVER),), {"ECHO_FIXTURE_STARTED": str(witness)}
    )
    entry = ServerEntry(id="echo", name="echo", launch=launch, containment="contained")
    with McpConnections([entry], client_name="tests") as connections:
        with pytest.raises(McpRegistryError) as caught:
            connections.tools("echo")
        again = connections.open_all()["echo"]

    assert str(caught.value) == (
        f"MCP server 'echo' must run contained and its sandbox cannot start: {reason}"
    )
    assert again is caught.value  # remembered, not retried
    assert not witness.exists()
