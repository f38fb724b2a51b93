"""Where the daemon's socket lives: ``$XDG_RUNTIME_DIR/ainos/control.sock``, else a
private directory (mode 0700) under /tmp; ``$AINOS_HOME/run`` when that is set."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ainos.errors import PermissionDenied
from ainos.paths import runtime_dir

SOCKET_NAME = "control.sock"


def default_socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def private_directory(path: Path) -> Path:
    """Create ``path`` (mode 0700) or check that an existing one is ours and private."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise PermissionDenied(f"{path} is not a directory owned by this user") from None
    except OSError as exc:  # a parent is a file, read-only, missing permissions
        raise PermissionDenied(f"cannot create {path}: {exc.strerror or exc}") from None
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionDenied(f"{path} is not a directory owned by this user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o700)
    return path
