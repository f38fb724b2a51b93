"""Bubblewrap: the command runs in new mount, PID (and, without network, network) namespaces.

The mount order matters, as in Codex: ``--ro-bind / /`` makes everything read-only, a fresh
``/dev`` keeps the usual device nodes, then the writable roots are bound writable and the
protected entries inside them bound read-only again, so they win. In read-only mode nothing
is writable but a fresh scratch directory, the command's ``TMPDIR``: a private tmpfs over
``/tmp`` would hide whatever lives there (a checkout, a virtual environment, the very
program being run).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ainos.app.agent.sandbox._policy import SandboxMode, SandboxPolicy
from ainos.app.agent.sandbox._probe import PROBE_TIMEOUT_S, probe_program, run_probe

__all__ = ["BwrapProbe", "bwrap_argv", "find_bwrap", "probe_bwrap"]


@dataclass(frozen=True)
class BwrapProbe:
    path: str
    works: bool
    version: str | None
    reason: str | None  # why it does not work


def find_bwrap() -> str | None:
    """``bwrap`` on ``PATH`` (looked up each time: ``PATH`` may change)."""
    return shutil.which("bwrap")


@functools.cache
def probe_bwrap(path: str) -> BwrapProbe:
    """Run ``true`` inside a sandbox built the way commands' are; cached per process."""
    version = _version(path)
    argv = [
        path,
        *_common_head(),
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        *_common_tail(network=False),
        "--",
        probe_program(),
    ]
    failure = run_probe(argv)
    return BwrapProbe(path, failure is None, version, failure)


def _version(path: str) -> str | None:
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.decode(errors="replace").strip()
    return text.removeprefix("bubblewrap ") or None


def _common_head() -> list[str]:
    # A new session: the command cannot inject keystrokes into our terminal (TIOCSTI).
    return ["--new-session", "--die-with-parent"]


def _common_tail(*, network: bool) -> list[str]:
    tail = ["--unshare-pid"]
    if not network:
        tail.append("--unshare-net")
    tail += ["--proc", "/proc"]
    return tail


def bwrap_argv(
    path: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    policy: SandboxPolicy,
    environ: Mapping[str, str],
    scratch: Path | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in ``cwd`` under ``policy``;
    ``scratch``: the one writable directory of read-only mode."""
    args = [path, *_common_head(), "--ro-bind", "/", "/", "--dev", "/dev"]
    if policy.mode is SandboxMode.READ_ONLY:
        if scratch is not None:
            args += ["--bind", str(scratch), str(scratch)]
    else:
        # Parents before children, so a deeper bind is not hidden by a shallower one.
        roots = sorted(policy.writable_paths(environ), key=lambda p: len(p.parts))
        for root in roots:
            args += ["--bind", str(root), str(root)]
        for protected in policy.read_only_subpaths(environ):
            args += ["--ro-bind", str(protected), str(protected)]
    args += _common_tail(network=policy.network)
    args += ["--chdir", str(cwd), "--", *argv]
    return args
