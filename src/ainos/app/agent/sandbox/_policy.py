"""What a sandboxed command may touch: the mode, the writable roots, the network.

The three modes are Codex's:

- ``read-only``: nothing on the real filesystem is writable; the command gets a private
  temporary directory so tools that need one still work; no network.
- ``workspace-write``: the workspace, ``/tmp``, ``$TMPDIR`` and any extra writable roots are
  writable, the rest is read-only; no network unless the policy allows it. As in Codex, a
  ``.git`` (and the git directory a ``.git`` file points to) and ``.ainos`` directly inside a
  writable root stay read-only, so a command cannot plant hooks or rewrite the agent's own
  project settings.
- ``danger-full-access``: no sandbox at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from ainos.errors import InvalidArgument

__all__ = ["PROTECTED_NAMES", "SandboxMode", "SandboxPolicy"]

# Entries of a writable root that stay read-only (Codex protects .git, .agents and .codex).
PROTECTED_NAMES = (".git", ".ainos")


class SandboxMode(StrEnum):
    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    DANGER_FULL_ACCESS = "danger-full-access"

    @classmethod
    def parse(cls, text: str) -> SandboxMode:
        try:
            return cls(text)
        except ValueError:
            expected = ", ".join(mode.value for mode in cls)
            raise InvalidArgument(
                f"unknown sandbox mode {text!r}: expected one of {expected}"
            ) from None


@dataclass(frozen=True)
class SandboxPolicy:
    """The sandbox a command runs in. Paths are made absolute (symlinks resolved)."""

    mode: SandboxMode
    workspace: Path
    writable_roots: tuple[Path, ...] = ()  # extra, beyond the defaults
    network: bool = False
    # workspace-write with this off: only the extra roots (and the temporaries) are writable,
    # not the workspace (an agent definition that may write only some of its paths).
    workspace_writable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", SandboxMode.parse(str(self.mode)))
        object.__setattr__(self, "workspace", _absolute(self.workspace))
        roots = tuple(_absolute(Path(root)) for root in self.writable_roots)
        object.__setattr__(self, "writable_roots", roots)

    @property
    def sandboxed(self) -> bool:
        """Whether commands under this policy need a sandbox mechanism at all."""
        return self.mode is not SandboxMode.DANGER_FULL_ACCESS

    @property
    def network_allowed(self) -> bool:
        return self.network or not self.sandboxed

    def unrestricted(self) -> SandboxPolicy:
        """The same workspace without any sandbox (a command approved to run outside)."""
        return replace(self, mode=SandboxMode.DANGER_FULL_ACCESS, network=True)

    def writable_paths(self, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
        """The roots a command may write under (their protected entries excepted).

        ``()`` for read-only; ``(Path("/"),)`` for danger-full-access, where everything the
        user may write is writable; for workspace-write the workspace, the extra roots,
        ``/tmp`` and ``$TMPDIR`` (read from ``environ``, default the process environment),
        without duplicates, the last two only when they exist.
        """
        if self.mode is SandboxMode.READ_ONLY:
            return ()
        if self.mode is SandboxMode.DANGER_FULL_ACCESS:
            return (Path("/"),)
        environment = os.environ if environ is None else environ
        temporaries = [
            _absolute(t)
            for t in (Path("/tmp"), Path(environment.get("TMPDIR") or "/tmp"))
            if t.is_absolute() and t.is_dir()
        ]
        if not self.workspace_writable:  # a temporary holding the workspace would open it
            temporaries = [t for t in temporaries if not self.workspace.is_relative_to(t)]
        candidates = [
            *([self.workspace] if self.workspace_writable else []),
            *self.writable_roots,
            *temporaries,
        ]
        return tuple(dict.fromkeys(candidates))

    def read_only_subpaths(self, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
        """Existing protected entries inside the writable roots, which stay read-only."""
        if self.mode is not SandboxMode.WORKSPACE_WRITE:
            return ()
        found: list[Path] = []
        for root in self.writable_paths(environ):
            found.extend(_protected_entries(root))
        return tuple(dict.fromkeys(found))


def _protected_entries(root: Path) -> Iterable[Path]:
    for name in PROTECTED_NAMES:
        entry = root / name
        if not entry.exists():
            continue
        # A symlinked entry is protected at its target: the link itself lives in a writable
        # directory and cannot be pinned by a bind mount.
        yield entry.resolve()
        if entry.is_file():
            gitdir = _gitdir_of(entry)
            if gitdir is not None:
                yield gitdir


def _gitdir_of(dot_git: Path) -> Path | None:
    """The directory a worktree's or submodule's ``.git`` file points to (``gitdir: …``)."""
    try:
        text = dot_git.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    key, _, value = text.strip().partition(":")
    if key.strip() != "gitdir" or not value.strip():
        return None
    target = (dot_git.parent / value.strip()).resolve()
    return target if target.is_dir() else None


def _absolute(path: Path) -> Path:
    return Path(path).expanduser().resolve()
