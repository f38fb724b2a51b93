"""ainos registers itself: the entry ``ainos`` runs ``ainos mcp-server``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ainos import __version__
from ainos.ai.mcp_registry._entry import ServerEntry, StdioCommand

__all__ = ["BUILTIN_ID", "ainos_command", "builtin_entry"]

BUILTIN_ID = "ainos"


def ainos_command() -> tuple[str, tuple[str, ...]]:
    """The command that runs ``ainos`` from outside this process: the ``ainos`` script
    installed beside this interpreter (a virtual environment's ``bin/``; its shebang names
    that environment's Python, so it works without activating it), else this interpreter
    with ``-m ainos``. Both are absolute: a client's ``PATH`` is not ours."""
    here = Path(sys.executable)
    script = here.with_name("ainos")
    if script.is_file() and os.access(script, os.X_OK):
        return str(script), ()
    return str(here), ("-m", "ainos")


def builtin_entry() -> ServerEntry:
    command, prefix = ainos_command()
    return ServerEntry(
        id=BUILTIN_ID,
        name="ainos",
        launch=StdioCommand(command, (*prefix, "mcp-server")),
        version=__version__,
        description="ainos itself: the coding agent, AI actions, models and statistics as tools.",
        author="ainos",
        server_type="python",
        entry_point="ainos mcp-server",
        builtin=True,
        source="built in",
    )
