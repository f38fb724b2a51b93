"""Tools the provider tests offer their models."""

from __future__ import annotations

from ainos.app.agent._model import ToolSpec

READ_FILE = ToolSpec(
    "read_file",
    "Read a file of the workspace",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["path"],
    },
)
LIST_DIR = ToolSpec(
    "list_dir",
    "List the entries of a directory",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
TOOLS = (READ_FILE, LIST_DIR)
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
