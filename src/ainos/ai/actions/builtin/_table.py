"""Convert a table between CSV and Markdown (each way), also yielding it as a Table entity."""

from __future__ import annotations

import csv
import io
import re
from typing import ClassVar

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._entities import TableActionEntity, TextActionEntity
from ainos.ai.actions._kinds import ActionEntityTextFormat
from ainos.ai.actions._provider import ActionProvider
from ainos.ai.actions.builtin._common import file_path, read_document
from ainos.errors import ActionError

__all__ = ["ConvertTableProvider", "parse_table", "to_csv", "to_markdown"]

_SEPARATOR_CELL = re.compile(r":?-{1,}:?")
_PIPE = re.compile(r"(?<!\\)\|")


def is_markdown_table(text: str) -> bool:
    lines = [line.strip() for line in text.strip().splitlines()]
    return len(lines) >= 2 and lines[0].startswith("|") and _is_separator(lines[1])


def _markdown_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _PIPE.split(line)]


def _is_separator(line: str) -> bool:
    cells = _markdown_cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.fullmatch(cell.replace(" ", "")) for cell in cells)


def parse_table(text: str) -> tuple[list[list[str]], str]:
    """Rows of cells, and the format they were in (``"markdown"`` or ``"csv"``)."""
    if not text.strip():
        raise ActionError("the table is empty")
    if is_markdown_table(text):
        lines = [line for line in text.strip().splitlines() if line.strip()]
        rows = [_markdown_cells(lines[0])] + [_markdown_cells(line) for line in lines[2:]]
        return rows, "markdown"
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if row]
    if not rows:
        raise ActionError("the table has no rows")
    return rows, "csv"


def _rectangular(rows: list[list[str]]) -> list[list[str]]:
    width = max(len(row) for row in rows)
    return [row + [""] * (width - len(row)) for row in rows]


def to_markdown(rows: list[list[str]]) -> str:
    rows = _rectangular(rows)

    def line(cells: list[str]) -> str:
        escaped = [" ".join(c.replace("|", "\\|").split()) for c in cells]
        return "| " + " | ".join(escaped) + " |"

    separator = "| " + " | ".join("---" for _ in rows[0]) + " |"
    return "\n".join([line(rows[0]), separator, *(line(r) for r in rows[1:])]) + "\n"


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_rectangular(rows))
    return buffer.getvalue()


class ConvertTableProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "convert_table.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        source = context.get_input("Source")
        source_file = context.get_input("SourceFile")
        cells = context.get_input("Cells")
        if isinstance(cells, TableActionEntity):
            rows = [list(row) for row in cells.rows()]
            if not rows:
                raise ActionError("the table is empty")
            found = "table"
        elif isinstance(source, TextActionEntity):
            rows, found = parse_table(source.text)
        elif (path := file_path(source_file)) is not None:
            rows, found = parse_table(read_document(path))
        else:
            raise ActionError(f"{context.action_id} needs Source, SourceFile or Cells")
        factory = context.entity_factory
        if found == "markdown":
            converted = factory.create_text_entity(to_csv(rows))
        else:
            converted = factory.create_text_entity(
                to_markdown(rows), ActionEntityTextFormat.MARKDOWN
            )
        context.set_output_entity("Converted", converted)
        context.set_output_entity(
            "Table", factory.create_table_entity_from_rows(_rectangular(rows))
        )
