"""The root command: its commands load on first use, and its help lists them truly."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        "heavy = [m for m in ('onnx', 'onnxruntime', 'starlette', 'xllamacpp', 'numpy', "
        "'textual', 'typer.rich_utils', 'markdown_it') if m in sys.modules]\n"
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
    for option in ("--version", "--help", "-h"):
        assert option in done.stdout


HEAVY = ("onnx", "onnxruntime", "starlette", "uvicorn", "tokenizers", "xllamacpp", "gguf")


def _heavy_modules_after(*args: str, tmp_home: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run the command in a fresh interpreter; which of ``heavy`` it imported."""
    script = (
        "import sys\n"
        "from ainos.app.cli import main\n"
        f"code = main({list(args)!r})\n"
        f"print('HEAVY', [m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "AINOS_HOME": tmp_home},
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY "), done.stdout + done.stderr
    found: list[str] = ast.literal_eval(last.removeprefix("HEAVY "))
    return found


def test_the_quick_commands_import_no_engine(tmp_path: Path) -> None:
    """``ainos stats``, ``ps`` and ``status`` (no daemon here) import no model runtime, HTTP
    server or tokenizer: they answer in well under a second."""
    home = str(tmp_path)
    for command in (["stats", "--json"], ["ps", "--json"], ["status"], ["--help"]):
        assert _heavy_modules_after(*command, tmp_home=home) == [], command


@pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists(), reason="an NVIDIA driver is present on this machine"
)
def test_stats_json_imports_neither_rich_nor_nvml_bindings_it_does_not_use(
    tmp_path: Path,
) -> None:
    # It prints JSON (no rich), and with no driver library there is nothing for pynvml to do.
    found = _heavy_modules_after(
        "stats", "--json", tmp_home=str(tmp_path), heavy=("rich", "pynvml")
    )
    assert found == []


def test_a_table_piped_to_a_program_is_laid_out_whole(seeded_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "models", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    widths = [len(line.rstrip()) for line in done.stdout.splitlines()]
    # rich alone would squeeze the table into 80 columns and wrap every description.
    assert 80 < max(widths) <= 160, widths
