"""Containment of a local server with bubblewrap: it sees nothing beyond its grants.

Inside, the server finds read-only the system directories an interpreter needs (``/usr``,
``/bin``, ``/lib*``, ``/etc``), the installation its command comes from (a virtual
environment, a Node prefix), its own files (a manifest's directory; the existing paths on its
command line), and the paths granted to it — writable for write, create and delete grants.
It has a private ``/tmp``, ``/proc`` and ``/dev``, its own PID namespace, and no network
unless an HTTP capability is granted.

A contained server whose sandbox cannot start is refused with the reason: it is never run
uncontained. Whether bubblewrap works is probed once per process by running ``true`` in it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ainos.ai.mcp_registry._consent import Grant
from ainos.ai.mcp_registry._entry import ServerEntry, StdioCommand
from ainos.errors import McpRegistryError

__all__ = ["SYSTEM_DIRS", "bubblewrap", "contained_argv", "runtime_roots"]

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_PROBE_TIMEOUT_S = 10.0


def _head() -> list[str]:
    # A new session: no TIOCSTI into our terminal; the sandbox dies with its bwrap.
    return ["--new-session", "--die-with-parent", "--unshare-pid", "--unshare-ipc"]


@functools.cache
def _probe(path: str) -> str | None:
    """Why bubblewrap at ``path`` cannot run a sandbox here (None: it can)."""
    program = shutil.which("true") or "/bin/true"
    argv = [path, *_head(), "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
            "--dev", "/dev", "--", program]  # fmt: skip
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"its probe timed out after {_PROBE_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"it could not start: {exc.strerror}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return lines[0] if lines else f"its probe exited with status {done.returncode}"
    return None


def bubblewrap(server_id: str) -> str:
    """The ``bwrap`` that will contain ``server_id``; :class:`McpRegistryError` saying why
    none can."""
    path = shutil.which("bwrap")
    why = "bubblewrap is not installed (no bwrap on PATH)" if path is None else _probe(path)
    if path is None or why is not None:
        raise McpRegistryError(
            f"MCP server {server_id!r} must run contained and its sandbox cannot start: {why}"
        )
    return path


def _under_system(path: Path) -> bool:
    return any(path == Path(d) or path.is_relative_to(d) for d in SYSTEM_DIRS)


def runtime_roots(command: str, environ: Mapping[str, str]) -> list[Path]:
    """What running ``command`` needs beyond the system directories: the installation it
    lives in (``<prefix>/bin/<command>`` → ``<prefix>``: a virtual environment, a Node
    version), for the path as written and the file it links to."""
    found = shutil.which(command, path=environ.get("PATH", os.defpath))
    if found is None:
        return []
    roots: list[Path] = []
    for path in dict.fromkeys((Path(os.path.abspath(found)), Path(found).resolve())):
        if _under_system(path):
            continue
        roots.append(path.parent.parent if path.parent.name == "bin" else path.parent)
    return roots


def _own_files(entry: ServerEntry, launch: StdioCommand) -> list[Path]:
    """The server's own files: its manifest's directory, its working directory, and the
    existing absolute paths on its command line (a script, a package)."""
    paths = [p for p in (entry.base_dir, launch.cwd) if p is not None]
    paths += [Path(a) for a in launch.args if a.startswith("/") and Path(a).exists()]
    # Bound where the command line names them and where they really are (a symlink's target).
    return [*paths, *(p.resolve() for p in paths)]


def _mounts(read: Iterable[Path], write: Iterable[Path]) -> list[str]:
    """Bind arguments, parents before children; a path inside a writable one is not bound
    read-only again (a read grant never narrows a write grant)."""
    writable = sorted({Path(os.path.abspath(p)) for p in write}, key=lambda p: len(p.parts))
    readable = {Path(os.path.abspath(p)) for p in read}
    chosen: list[tuple[Path, bool]] = [(p, True) for p in writable]
    chosen += [(p, False) for p in readable if not any(p.is_relative_to(w) for w in writable)]
    args: list[str] = []
    for path, rw in sorted(chosen, key=lambda c: len(c[0].parts)):
        args += ["--bind-try" if rw else "--ro-bind-try", str(path), str(path)]
    return args


def contained_argv(
    entry: ServerEntry,
    grants: Sequence[Grant],
    *,
    bwrap: str,
    environ: Mapping[str, str],
) -> list[str]:
    """The command line running ``entry``'s server inside bubblewrap under ``grants``."""
    launch = entry.launch
    if not isinstance(launch, StdioCommand):
        raise McpRegistryError(f"{entry.id} is a remote server: there is nothing to contain")
    args = [bwrap, *_head()]
    network = any(not g.capability.filesystem for g in grants)
    if not network:
        args.append("--unshare-net")
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):  # /bin → usr/bin on merged-/usr systems
            args += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    if network and os.path.isdir("/run/systemd/resolve"):  # /etc/resolv.conf's target
        args += ["--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    read = runtime_roots(launch.command, environ) + _own_files(entry, launch)
    read += [g.path for g in grants if g.path is not None and not g.capability.writes]
    write = [g.path for g in grants if g.path is not None and g.capability.writes]
    args += _mounts(read, write)
    workdir = launch.cwd or entry.base_dir
    args += ["--chdir", str(workdir) if workdir is not None else "/"]
    return [*args, "--", launch.command, *launch.args]
