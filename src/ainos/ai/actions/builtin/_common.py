"""Helpers the built-in providers share: reading a text input, walking a source tree."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._entities import (
    DocumentActionEntity,
    FileActionEntity,
    PhotoActionEntity,
    TextActionEntity,
)
from ainos.errors import ActionError

__all__ = ["SKIPPED_DIRS", "file_path", "is_binary", "read_document", "text_input", "walk_files"]

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
        size = file.stat().st_size
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


def walk_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` (or ``root`` itself), skipping hidden and tool directories."""
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise ActionError(f"no such file or directory: {root}")
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        base = Path(directory)
        for name in sorted(files):
            path = base / name
            if not path.is_symlink():
                yield path
