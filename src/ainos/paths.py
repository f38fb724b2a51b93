"""Where ainos keeps its state on this machine.

One environment variable, ``AINOS_HOME``, relocates everything (tests use it to stay
isolated); otherwise the XDG base directories are followed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "config_dir", "data_dir", "home_override", "runtime_dir"]

_ENV_HOME = "AINOS_HOME"


def home_override() -> Path | None:
    """The ``AINOS_HOME`` directory when it is set."""
    value = os.environ.get(_ENV_HOME)
    return Path(value).expanduser() if value else None


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / "ainos"


def data_dir() -> Path:
    """Persistent state: databases, converted models, registries."""
    home = home_override()
    return home / "data" if home else _xdg("XDG_DATA_HOME", ".local/share")


def config_dir() -> Path:
    """User configuration: action definitions, agent definitions, settings."""
    home = home_override()
    return home / "config" if home else _xdg("XDG_CONFIG_HOME", ".config")


def cache_dir() -> Path:
    """Rebuildable files."""
    home = home_override()
    return home / "cache" if home else _xdg("XDG_CACHE_HOME", ".cache")


def runtime_dir() -> Path:
    """Sockets and other per-boot files. Private to the user (mode 0700)."""
    home = home_override()
    if home:
        return home / "run"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_absolute():
        return Path(runtime) / "ainos"
    return Path(f"/tmp/ainos-{os.getuid()}")
