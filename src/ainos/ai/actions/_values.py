"""Entities from plain values, and the JSON schema of those values per entity kind.

What a person types on a command line or a model writes in a tool call is a string, a
list or an object; this turns it into the entity an action's input declares, so every
front door (the CLI, the agent's tools, MCP) fills action inputs the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ainos.ai.actions._definition import ActionEntityRegistrationInfo
from ainos.ai.actions._entities import ActionEntity
from ainos.ai.actions._factory import ActionEntityFactory
from ainos.ai.actions._kinds import ActionEntityKind
from ainos.errors import InvalidArgument

__all__ = ["PATH_KINDS", "entity_from_value", "value_schema"]

# Kinds given as a path: a model or a person names the file.
PATH_KINDS = frozenset({ActionEntityKind.FILE, ActionEntityKind.DOCUMENT, ActionEntityKind.PHOTO})
_ROW = {"type": "array", "items": {"type": "string"}}


def value_schema(info: ActionEntityRegistrationInfo) -> dict[str, Any]:
    """The JSON schema of the plain value that fills ``info``."""
    kind = info.kind
    if kind is ActionEntityKind.ARRAY:
        element = info.element_kind or ActionEntityKind.TEXT
        item = value_schema(ActionEntityRegistrationInfo(info.name, element))
        return {"type": "array", "items": item, "description": f"{element.wire_name} values"}
    if kind in PATH_KINDS:
        return {"type": "string", "description": f"path of a {kind.wire_name.lower()}"}
    if kind is ActionEntityKind.TABLE:
        return {"type": "array", "items": _ROW, "description": "rows of cells, header first"}
    if kind is ActionEntityKind.DATE:
        return {"type": "string", "description": "an ISO 8601 date and time"}
    if kind is ActionEntityKind.URI:
        return {"type": "string", "description": "a URI"}
    if kind is ActionEntityKind.CONTACT:
        return {"type": "string", "description": "a contact's display name"}
    if kind is ActionEntityKind.TEXT:
        return {"type": "string"}
    return {"type": "object", "description": f"a {kind.wire_name} entity as JSON"}


def entity_from_value(
    factory: ActionEntityFactory,
    kind: ActionEntityKind,
    value: object,
    *,
    name: str,
    base: Path | None = None,
    element_kind: ActionEntityKind | None = None,
) -> ActionEntity:
    """The entity of ``kind`` for ``value``; relative paths are taken from ``base``; an
    Array's values are entities of ``element_kind`` (default Text, as :func:`value_schema`).

    An object is read as an entity's JSON (``{"kind": ...}``); a bad value raises
    ``InvalidArgument`` naming the input.
    """
    if isinstance(value, dict):
        return factory.from_dict(value, name)
    if kind is ActionEntityKind.ARRAY:
        if not isinstance(value, list):
            raise InvalidArgument(f"{name}: an Array is given as a list of values")
        element = element_kind or ActionEntityKind.TEXT
        elements = [
            entity_from_value(factory, element, item, name=f"{name}[{i}]", base=base)
            for i, item in enumerate(value)
        ]
        return factory.create_array_entity(element, elements)
    if kind is ActionEntityKind.TABLE:
        return factory.create_table_entity_from_rows(_rows(value, name))
    if not isinstance(value, str):
        raise InvalidArgument(f"{name}: a {kind.wire_name} is given as a string")
    if kind is ActionEntityKind.TEXT:
        return factory.create_text_entity(value)
    if kind in PATH_KINDS:
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.exists():
            raise InvalidArgument(f"{name}: no such file or directory: {value}")
        if kind is ActionEntityKind.PHOTO:
            return factory.create_photo_entity(path)
        if kind is ActionEntityKind.DOCUMENT:
            return factory.create_document_entity(path)
        return factory.create_file_entity(path)
    if kind is ActionEntityKind.URI:
        return factory.create_uri_entity(value)
    if kind is ActionEntityKind.DATE:
        try:
            return factory.create_date_time_entity(datetime.fromisoformat(value))
        except ValueError:
            raise InvalidArgument(f"{name}: not an ISO 8601 date: {value!r}") from None
    if kind is ActionEntityKind.CONTACT:
        return factory.create_contact_entity(value)
    raise InvalidArgument(f'{name}: give a {kind.wire_name} entity as JSON ({{"kind": …}})')


def _rows(value: object, name: str) -> Sequence[Sequence[str]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise InvalidArgument(f"{name}: a Table is given as an array of rows")
    return [[str(cell) for cell in row] for row in value]
