"""``ainos ctl`` against a real daemon: any method, its result as JSON, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.control_daemon import Daemon, start_daemon, stop_daemon

from ainos.protocol.control import METHODS

from .conftest import RunAinos


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(tmp_path, "--pool-mib", "8")
    yield running
    stop_daemon(running)


def _error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ainos: error: "), stderr
    return lines[0].removeprefix("ainos: error: ")


def test_a_method_without_a_command_prints_its_result(daemon: Daemon, run_ainos: RunAinos) -> None:
    socket = str(daemon.socket_path)
    done = run_ainos("ctl", "register_runtime", '{"name": "scripted"}', "--socket", socket)
    assert done.returncode == 0, done.stderr
    registration = json.loads(done.stdout)
    assert registration["name"] == "scripted"
    assert done.stdout.startswith("{\n  ")  # pretty by default
    placement = run_ainos(
        "ctl", "get_optimized_path", '{"memory_bytes": 4096}', "--json", "--socket", socket
    )
    assert placement.returncode == 0, placement.stderr
    assert placement.stdout.count("\n") == 1  # one compact line for programs
    assert json.loads(placement.stdout)["device"]["id"] == "cpu:0"


def test_params_from_stdin_and_a_list_of_processes(daemon: Daemon, run_ainos: RunAinos) -> None:
    done = run_ainos(
        "ctl",
        "set_gpu_util",
        "-",
        "--json",
        "--socket",
        str(daemon.socket_path),
        input='{"target": "batch", "fraction": 0.5}',
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["limit"]["fraction"] == 0.5
    processes = run_ainos("ctl", "list_ai_processes", "--socket", str(daemon.socket_path))
    assert processes.returncode == 0, processes.stderr
    assert "processes" in json.loads(processes.stdout)


def test_list_shows_every_method_with_its_line(daemon: Daemon, run_ainos: RunAinos) -> None:
    done = run_ainos("ctl", "--list", "--socket", str(daemon.socket_path))
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0]: line.split(maxsplit=1)[1] for line in done.stdout.splitlines()}
    assert listed == {name: spec.description for name, spec in METHODS.items()}
    bare = run_ainos("ctl", "--json", "--socket", str(daemon.socket_path))
    assert [m["name"] for m in json.loads(bare.stdout)] == list(METHODS)


def test_an_unknown_method_names_the_known_ones(daemon: Daemon, run_ainos: RunAinos) -> None:
    done = run_ainos("ctl", "format_disk", "--socket", str(daemon.socket_path))
    assert done.returncode != 0
    assert _error_line(done.stderr) == (
        f"the daemon has no method 'format_disk' (known: {', '.join(METHODS)})"
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{nope", "PARAMS is not JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "PARAMS must be a JSON object of named params, not list"),
        ('{"size": "10"}', "Invalid params: size: Input should be a valid integer"),
        ('{"size": 1073741824}', "pinned pool quota exceeded: client pid"),
    ],
)
def test_bad_params_are_one_line(
    daemon: Daemon, run_ainos: RunAinos, params: str, message: str
) -> None:
    done = run_ainos("ctl", "alloc_pinned", params, "--socket", str(daemon.socket_path))
    assert done.returncode != 0
    assert _error_line(done.stderr).startswith(message)
    assert done.stdout == ""


def test_without_a_daemon(tmp_path: Path, run_ainos: RunAinos) -> None:
    missing = tmp_path / "none.sock"
    done = run_ainos("ctl", "version", "--socket", str(missing))
    assert done.returncode != 0
    assert _error_line(done.stderr) == f"no ainos daemon is serving {missing}"


def test_it_imports_no_engine_nor_the_services(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from ainos.app.cli import main\n"
        f"main(['ctl', 'version', '--socket', {str(tmp_path / 'none.sock')!r}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'onnxruntime', 'starlette', 'uvicorn', 'xllamacpp', 'psutil')"
        " or m == 'ainos.kernel.control._services'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
