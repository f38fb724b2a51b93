"""Search files by content: every line under a folder that contains the query."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._entities import TextActionEntity
from ainos.ai.actions._provider import ActionProvider
from ainos.ai.actions.builtin._common import (
    TreeWalk,
    Unreadable,
    WalkLimits,
    counted,
    file_path,
    is_binary,
    read_regular_file,
)
from ainos.errors import ActionError

__all__ = ["SearchFilesProvider", "search_files"]

MAX_MATCHES = 500
MAX_FILE_BYTES = 8 * 1024 * 1024
_LINE = 200


@dataclass
class SearchResult:
    walk: TreeWalk
    matches: list[tuple[str, int, str]] = field(default_factory=list)
    files_searched: int = 0
    files_matched: int = 0
    truncated: bool = False


def search_files(root: Path, query: str, limits: WalkLimits | None = None) -> SearchResult:
    """Case-insensitive unless the query has a capital letter (smart case)."""
    if not query:
        raise ActionError("the query is empty")
    sensitive = query != query.lower()
    needle = query if sensitive else query.lower()
    base = root if root.is_dir() else root.parent
    result = SearchResult(TreeWalk(root, limits or WalkLimits()))
    for path in result.walk:
        try:
            data = read_regular_file(path, MAX_FILE_BYTES)
        except Unreadable as skipped:
            result.walk.skip(str(skipped))
            continue
        if is_binary(data[:8192]):
            continue
        result.files_searched += 1
        found = False
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if needle in (line if sensitive else line.lower()):
                if len(result.matches) >= MAX_MATCHES:
                    result.truncated = True
                    return result
                shown = line.strip()
                shown = shown if len(shown) <= _LINE else shown[: _LINE - 1] + "…"
                result.matches.append((str(path.relative_to(base)), number, shown))
                found = True
        result.files_matched += found
    return result


class SearchFilesProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "search_files.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        query = context.get_input("Query")
        if not isinstance(query, TextActionEntity):
            raise ActionError(f"{context.action_id} needs a Query")
        folder = context.get_input("Folder")
        folder_path = file_path(folder)
        root = Path(folder_path) if folder_path is not None else Path(os.getcwd())
        result = await asyncio.to_thread(search_files, root, query.text)
        factory = context.entity_factory
        rows = [("Path", "Line", "Text")] + [(p, str(n), t) for p, n, t in result.matches]
        context.set_output_entity("Matches", factory.create_table_entity_from_rows(rows))
        summary = (
            f"{counted(len(result.matches), 'matching line')} in {result.files_matched} of "
            f"{counted(result.files_searched, 'file')} under {root}"
            + (f" (stopped at {MAX_MATCHES})" if result.truncated else "")
        )
        if passed_over := result.walk.report():
            summary += f"; {passed_over}"
        context.set_output_entity("Summary", factory.create_text_entity(summary))
