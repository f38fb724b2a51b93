"""``ainos sandbox check`` and ``ainos sandbox run``.

The tests register the group on a small Typer app of their own. Most run it in this
process with Click's runner (commands and sandboxes are real); one runs it as a child
process, the way a user does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ainos.app.cli import _sandbox
from ainos.errors import SandboxUnavailable

_APP = """
import sys
import typer
from ainos.app.cli import _sandbox

app = typer.Typer(add_completion=False)


@app.callback()
def _root() -> None:
    pass


_sandbox.register(app)
command = typer.main.get_command(app)
sys.exit(command.main(args=sys.argv[1:], prog_name="ainos", standalone_mode=False) or 0)
"""


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        pass

    _sandbox.register(app)
    return app


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str, exception: object) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.exception = exception


def _ainos(*args: str, sandbox: str | None = None, cwd: Path | None = None) -> _Result:
    env = {"AINOS_SANDBOX": sandbox, "TMPDIR": None, "COLUMNS": "200"}
    previous = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner(env=env).invoke(_app(), list(args))
    finally:
        os.chdir(previous)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return _Result(result.exit_code, result.stdout, result.stderr, exception)


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap is not installed")


@needs_bwrap
def test_check_prints_a_table_and_a_verdict() -> None:
    result = _ainos("sandbox", "check")
    assert result.returncode == 0, result.stderr
    assert "bubblewrap (used)" in result.stdout
    assert "landlock" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == (
        "sandboxed commands run under bubblewrap (chosen automatically)"
    )


def test_check_json() -> None:
    result = _ainos("sandbox", "check", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == (0 if document["ok"] else 1)
    assert [m["name"] for m in document["mechanisms"]] == ["bubblewrap", "landlock"]
    assert document["override"] == "auto"
    assert document["selected"] == document["auto"]


def test_check_exits_1_when_nothing_may_be_used() -> None:
    result = _ainos("sandbox", "check", sandbox="none")
    assert result.returncode == 1
    assert "bubblewrap" in result.stdout  # the table is still printed
    assert "AINOS_SANDBOX=none: no mechanism may be used" in result.stdout
    document = json.loads(_ainos("sandbox", "check", "--json", sandbox="none").stdout)
    assert document["ok"] is False
    assert document["selected"] is None


@needs_bwrap
def test_run_exits_with_the_command_s_code(tmp_path: Path) -> None:
    result = _ainos("sandbox", "run", "-C", str(tmp_path), "--", "sh", "-c", "echo hi; exit 3")
    assert (result.returncode, result.stdout, result.stderr) == (3, "hi\n", "")


@needs_bwrap
def test_run_read_only_by_default_and_workspace_write_on_request(tmp_path: Path) -> None:
    refused = _ainos("sandbox", "run", "-C", str(tmp_path), "touch", "made")
    assert refused.returncode == 1
    assert "Read-only file system" in refused.stdout
    assert "read-only sandbox (bubblewrap) probably refused this" in refused.stderr
    assert not (tmp_path / "made").exists()
    allowed = _ainos("sandbox", "run", "-s", "workspace-write", "touch", "made", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert (tmp_path / "made").exists()


def test_run_refused_without_a_sandbox(tmp_path: Path) -> None:
    result = _ainos("sandbox", "run", "-C", str(tmp_path), "true", sandbox="none")
    assert isinstance(result.exception, SandboxUnavailable)  # ainos prints it as one line
    assert str(result.exception).startswith("a read-only sandbox without network is needed")


@needs_bwrap
@pytest.mark.slow  # a child process importing the whole command line: over a second
def test_run_as_a_child_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AINOS_SANDBOX", "TMPDIR")}
    result = subprocess.run(
        [sys.executable, "-c", _APP, "sandbox", "run", "--", "sh", "-c", "echo hi >&2; exit 3"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "hi\n", "")


@needs_bwrap
def test_run_times_out_with_124(tmp_path: Path) -> None:
    result = _ainos("sandbox", "run", "--timeout", "0.2", "-C", str(tmp_path), "sleep", "30")
    assert result.returncode == 124
    assert "timed out after 0.2 s" in result.stderr
