"""Log lines of a long-running command (the daemon) on stderr, one per event."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum

__all__ = ["LogLevel", "log_to_stderr"]


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def log_to_stderr(level: LogLevel) -> None:
    """ainos' own records from ``level`` up, other libraries' from warnings up: their info
    lines (HTTP clients, SDKs) would drown the daemon's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ainos").setLevel(level.upper())
