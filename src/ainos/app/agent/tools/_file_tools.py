"""``read_file``, ``list_dir`` and ``grep``: reading the workspace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ainos.app.agent import _files
from ainos.app.agent._model import ToolSpec
from ainos.app.agent.tools._base import (
    FunctionTool,
    ToolContext,
    resolve_path,
    walkable_path,
)


def _read_file(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.read_file(
        resolve_path(context, args.get("path")),
        offset=int(args.get("offset") or 1),
        limit=int(args.get("limit") or 200),
    )
    return str(found.text)


def _list_dir(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.list_dir(
        walkable_path(context, args.get("path")), depth=int(args.get("depth") or 2)
    )
    return str(found.text)


def _grep(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.grep(
        str(args.get("pattern") or ""),
        walkable_path(context, args.get("path")),
        glob=str(args["glob"]) if args.get("glob") else None,
        ignore_case=bool(args.get("ignore_case")),
    )
    return str(found.text)


_PATH = {"type": "string", "description": "relative to the working directory"}

READ_FILE = FunctionTool(
    ToolSpec(
        "read_file",
        "Read lines of a text file (1-based offset, at most limit lines).",
        {
            "type": "object",
            "properties": {
                "path": _PATH,
                "offset": {"type": "integer", "minimum": 1},
                "limit": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
            "additionalProperties": False,
        },
    ),
    _read_file,
)
LIST_DIR = FunctionTool(
    ToolSpec(
        "list_dir",
        "List a directory as a tree, a few levels deep.",
        {
            "type": "object",
            "properties": {"path": _PATH, "depth": {"type": "integer", "minimum": 1}},
            "required": ["path"],
            "additionalProperties": False,
        },
    ),
    _list_dir,
)
GREP = FunctionTool(
    ToolSpec(
        "grep",
        "Search files for a regular expression; returns path:line: text matches.",
        {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "path": _PATH,
                "glob": {"type": "string", "description": "only files matching, e.g. *.py"},
                "ignore_case": {"type": "boolean"},
            },
            "required": ["pattern"],
            "additionalProperties": False,
        },
    ),
    _grep,
)
