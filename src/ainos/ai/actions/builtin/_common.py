"""Helpers the built-in providers share: reading a text input, walking a source tree within
bounds, reading a file of it without ever blocking on something that is not a file."""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._entities import (
    DocumentActionEntity,
    FileActionEntity,
    PhotoActionEntity,
    TextActionEntity,
)
from ainos.errors import ActionError

__all__ = [
    "SKIPPED_DIRS",
    "TreeWalk",
    "Unreadable",
    "WalkLimits",
    "counted",
    "file_path",
    "is_binary",
    "read_document",
    "read_regular_file",
    "text_input",
    "walk_files",
]

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# Directories of tools, caches and dependencies: not the code a person wrote.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".idea",
        ".vscode",
        "dist",
        "build",
        "target",
        ".eggs",
        ".next",
        ".cache",
    }
)


def read_document(path: str) -> str:
    file = Path(path)
    try:
        status = file.stat()
        if not stat.S_ISREG(status.st_mode) and not stat.S_ISDIR(status.st_mode):
            # A FIFO or a device would block the read or never end.
            raise ActionError(f"{path} is not a regular file (a device, FIFO or socket)")
        size = status.st_size
        if size > MAX_DOCUMENT_BYTES:
            raise ActionError(
                f"{path} is {size} bytes; documents up to {MAX_DOCUMENT_BYTES} are read"
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise ActionError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ActionError(f"{path} is a directory, not a document") from None
    except OSError as exc:
        raise ActionError(f"cannot read {path}: {exc.strerror or exc}") from None
    if is_binary(data[:8192]):
        raise ActionError(f"{path} is not a text document")
    return data.decode("utf-8", "replace")


def file_path(entity: object) -> str | None:
    """The path of a File, Document or Photo entity (a File input takes all three)."""
    if isinstance(entity, DocumentActionEntity | FileActionEntity | PhotoActionEntity):
        return entity.full_path
    return None


def text_input(context: ActionInvocationContext, *names: str) -> tuple[str, str]:
    """The text of the first of ``names`` given (Text, or a document read from disk) and a label."""
    for name in names:
        entity = context.get_input(name)
        if isinstance(entity, TextActionEntity):
            return entity.text, "text"
        path = file_path(entity)
        if path is not None:
            return read_document(path), Path(path).name
    raise ActionError(f"{context.action_id} needs one of the inputs {', '.join(names)}")


def is_binary(head: bytes) -> bool:
    return b"\0" in head


# Kernel interfaces, not files: reading them blocks (/proc/kmsg), never ends or has effects.
SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
_SYSTEM = "system directory (/proc, /sys, /dev)"
_SPECIAL = "special file (device, FIFO or socket)"


@dataclass(frozen=True)
class WalkLimits:
    """How far a walk may go: files yielded, directory depth below the root, wall time."""

    max_files: int = 50_000
    max_depth: int = 64
    max_seconds: float = 60.0


@dataclass
class TreeWalk:
    """The regular files under ``root`` (or ``root`` itself), hidden and tool directories
    left out; what else it passed over is counted by reason in :attr:`skipped`, and the bounds
    that cut it short are in :attr:`bounds_hit`.

    Entries are examined with lstat only: a FIFO, socket or device is never opened, a
    symbolic link never followed, and /proc, /sys and /dev are never entered.
    """

    root: Path
    limits: WalkLimits = field(default_factory=WalkLimits)
    skipped: Counter[str] = field(default_factory=Counter)
    bounds_hit: set[str] = field(default_factory=set)
    files: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def __iter__(self) -> Iterator[Path]:
        deadline = time.monotonic() + self.limits.max_seconds
        try:
            status = self.root.stat()  # the root given may be a link; below it, none is followed
        except OSError as exc:
            raise ActionError(f"no such file or directory: {self.root}") from exc
        real_root = Path(os.path.realpath(self.root))
        if _system_tree(real_root):
            self.skip(_SYSTEM)
        elif stat.S_ISREG(status.st_mode):
            self.files += 1
            yield self.root
        elif stat.S_ISDIR(status.st_mode):
            yield from self._walk(real_root, deadline)
        else:
            self.skip(_SPECIAL)

    def _walk(self, real_root: Path, deadline: float) -> Iterator[Path]:
        # Real paths ride along (no link is followed, so a child's is its parent's plus its
        # name): the system-tree check needs no syscall per directory.
        pending: list[tuple[Path, Path, int]] = [(self.root, real_root, 0)]
        while pending:
            directory, real, depth = pending.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError:
                self.skip("unreadable directory")
                continue
            subdirectories: list[tuple[Path, Path, int]] = []
            for entry in entries:
                if time.monotonic() >= deadline:
                    self.bounds_hit.add(f"time ({self.limits.max_seconds:g} s)")
                    return
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError:
                    self.skip("unreadable entry")
                    continue
                if stat.S_ISDIR(mode):
                    if entry.name in SKIPPED_DIRS or entry.name.startswith("."):
                        continue  # by design: not the tree's own content
                    if _system_tree(real / entry.name):
                        self.skip(_SYSTEM)
                    elif depth + 1 > self.limits.max_depth:
                        self.skip(f"directory deeper than {self.limits.max_depth} levels")
                        self.bounds_hit.add(f"depth ({self.limits.max_depth} levels)")
                    else:
                        subdirectories.append(
                            (directory / entry.name, real / entry.name, depth + 1)
                        )
                elif stat.S_ISLNK(mode):
                    self.skip("symbolic link")
                elif not stat.S_ISREG(mode):
                    self.skip(_SPECIAL)
                elif self.files >= self.limits.max_files:
                    self.bounds_hit.add(f"files ({self.limits.max_files})")
                    return
                else:
                    self.files += 1
                    yield directory / entry.name
            pending.extend(reversed(subdirectories))  # depth first, in name order

    def report(self) -> str:
        """What was passed over and why, in one line; empty when nothing was."""
        parts = [counted(count, reason) for reason, count in sorted(self.skipped.items())]
        text = f"skipped {', '.join(parts)}" if parts else ""
        if self.bounds_hit:
            stop = f"stopped at the bound on {', '.join(sorted(self.bounds_hit))}"
            text = f"{text}; {stop}" if text else stop
        return text


def counted(count: int, reason: str) -> str:
    """``1 symbolic link``, ``2 symbolic links``, ``3 unreadable entries``: for our own noun
    phrases, whose noun ends them or comes before a parenthesis."""
    if count == 1:
        return f"1 {reason}"
    noun, paren, rest = reason.partition(" (")
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        noun = noun[:-1] + "ie"
    return f"{count} {noun}s{paren}{rest}"


def _system_tree(real: Path) -> bool:
    return any(real.is_relative_to(tree) for tree in SYSTEM_TREES)


def walk_files(root: Path, limits: WalkLimits | None = None) -> Iterator[Path]:
    """Regular files under ``root`` (see :class:`TreeWalk`), not reporting what was skipped."""
    return iter(TreeWalk(root, limits or WalkLimits()))


class Unreadable(Exception):
    """A file :func:`read_regular_file` did not read, and why (a skip reason)."""


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is still a regular file of at most ``max_bytes``: opened
    without following a link and without blocking, checked on the open descriptor, so a file
    swapped for a FIFO or a device after the walk saw it is never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise Unreadable("unreadable file") from exc
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise Unreadable(_SPECIAL)
        if status.st_size > max_bytes:
            raise Unreadable(f"file larger than {max_bytes} bytes")
        try:
            return file.read(max_bytes + 1)[:max_bytes]
        except OSError as exc:
            raise Unreadable("unreadable file") from exc
