"""The root command: its commands load on first use, and its help lists them truly."""

from __future__ import annotations

import subprocess
import sys

from ainos.app.cli._main import _COMMANDS, load_command


def test_each_listed_line_is_the_commands_own_help() -> None:
    for name, (_module, line) in _COMMANDS.items():
        command = load_command(name)
        assert command is not None, name
        assert command.get_short_help_str(limit=1000) == line, name
    assert load_command("nonsense") is None


def test_help_lists_every_command_without_importing_their_libraries() -> None:
    script = (
        "import sys\n"
        "from ainos.app.cli import main\n"
        "code = main(['--help'])\n"
        "heavy = [m for m in ('onnx', 'onnxruntime', 'starlette', 'xllamacpp', 'numpy') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip().endswith("HEAVY [] 0")
    for name in _COMMANDS:
        assert f" {name} " in done.stdout
