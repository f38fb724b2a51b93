"""Action entities: the typed values actions take and return (Windows.AI.Actions.*ActionEntity).

Every entity has an ``id`` (for ``ActionRuntime.get_action_entity_by_id``), serialises to a
JSON object ``{"kind": "Text", "id": …, …}`` and back, and exposes the named properties
that ``where`` clauses and ``${Entity.Property}`` templates read (Windows' property names).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ainos.ai.actions._json import JsonObject
from ainos.ai.actions._kinds import ActionEntityKind, ActionEntityTextFormat, RemoteFileKind
from ainos.errors import InvalidArgument

__all__ = [
    "ENTITY_PROPERTIES",
    "ActionEntity",
    "AppointmentActionEntity",
    "ArrayActionEntity",
    "ContactActionEntity",
    "CustomTextActionEntity",
    "DateTimeActionEntity",
    "DocumentActionEntity",
    "FileActionEntity",
    "NamedActionEntity",
    "PhotoActionEntity",
    "RemoteFileActionEntity",
    "TableActionEntity",
    "TextActionEntity",
    "UriActionEntity",
    "entity_from_dict",
    "entity_from_json",
    "new_entity_id",
]

_SHORT_TEXT = 64

_ENTITY_TYPES: dict[ActionEntityKind, type[ActionEntity]] = {}


def new_entity_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class ActionEntity:
    """Base of every entity. Subclasses set ``kind`` and are registered for deserialisation."""

    kind: ClassVar[ActionEntityKind] = ActionEntityKind.NONE
    id: str = field(default_factory=new_entity_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            _ENTITY_TYPES[cls.kind] = cls

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.wire_name, "id": self.id, **self._payload()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def property_values(self) -> dict[str, object]:
        """The properties templates and ``where`` clauses see, by their Windows names."""
        return {"Kind": self.kind.wire_name, "Id": self.id, **self._properties()}

    def _payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def _properties(self) -> dict[str, object]:
        raise NotImplementedError

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        raise NotImplementedError


@dataclass(frozen=True)
class NamedActionEntity:
    """An entity as it is bound to one of an action's named inputs or outputs."""

    name: str
    entity: ActionEntity


def text_properties(text: str, text_format: ActionEntityTextFormat) -> dict[str, object]:
    """Windows' Text properties, shared by plain and streaming text."""
    flat = " ".join(text.split())
    short = flat if len(flat) <= _SHORT_TEXT else flat[: _SHORT_TEXT - 1].rstrip() + "…"
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return {
        "Text": text,
        "ShortText": short,
        "Title": first_line[:_SHORT_TEXT],
        "Description": "",
        "Length": len(text),
        "WordCount": len(text.split()),
        "TextFormat": text_format.wire_name,
    }


@dataclass(frozen=True)
class TextActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.TEXT
    text: str
    text_format: ActionEntityTextFormat = ActionEntityTextFormat.PLAIN

    def _payload(self) -> dict[str, Any]:
        return {"text": self.text, "textFormat": self.text_format.wire_name}

    def _properties(self) -> dict[str, object]:
        return text_properties(self.text, self.text_format)

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(
            data.text("text"),
            data.member("textFormat", ActionEntityTextFormat, ActionEntityTextFormat.PLAIN),
            id=entity_id,
        )


@dataclass(frozen=True)
class _PathEntity(ActionEntity):
    full_path: str

    def __post_init__(self) -> None:
        if not self.full_path:
            raise InvalidArgument(f"a {self.kind.wire_name} entity needs a path")

    def _payload(self) -> dict[str, Any]:
        return {"fullPath": self.full_path}

    def _properties(self) -> dict[str, object]:
        path = PurePath(self.full_path)
        return {
            "FileName": path.name,
            "Path": self.full_path,
            "FullPath": self.full_path,
            "Extension": path.suffix,
            "IsDirectory": _is_dir(self.full_path),
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(data.text("fullPath"), id=entity_id)


def _is_dir(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except OSError:
        return False


@dataclass(frozen=True)
class DocumentActionEntity(_PathEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.DOCUMENT


@dataclass(frozen=True)
class FileActionEntity(_PathEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.FILE


@dataclass(frozen=True)
class PhotoActionEntity(_PathEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.PHOTO

    def _properties(self) -> dict[str, object]:
        temporary = PurePath(tempfile.gettempdir())
        in_temp = PurePath(self.full_path).is_relative_to(temporary)
        return {**super()._properties(), "IsTemporaryPath": in_temp}


@dataclass(frozen=True)
class RemoteFileActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.REMOTE_FILE
    source_id: str
    file_kind: RemoteFileKind
    source_uri: str
    file_id: str
    content_type: str
    drive_id: str
    account_id: str
    extension: str

    def _payload(self) -> dict[str, Any]:
        return {
            "sourceId": self.source_id,
            "fileKind": self.file_kind.wire_name,
            "sourceUri": self.source_uri,
            "fileId": self.file_id,
            "contentType": self.content_type,
            "driveId": self.drive_id,
            "accountId": self.account_id,
            "extension": self.extension,
        }

    def _properties(self) -> dict[str, object]:
        return {
            "SourceId": self.source_id,
            "FileKind": self.file_kind.wire_name,
            "SourceUri": self.source_uri,
            "FileId": self.file_id,
            "ContentType": self.content_type,
            "DriveId": self.drive_id,
            "AccountId": self.account_id,
            "Extension": self.extension,
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(
            data.text("sourceId"),
            data.member("fileKind", RemoteFileKind),
            data.text("sourceUri"),
            data.text("fileId"),
            data.text("contentType"),
            data.text("driveId"),
            data.text("accountId"),
            data.text("extension"),
            id=entity_id,
        )


@dataclass(frozen=True)
class TableActionEntity(ActionEntity):
    """A table of text cells stored row by row, as Windows' ``GetTableContent`` returns it."""

    kind: ClassVar[ActionEntityKind] = ActionEntityKind.TABLE
    content: tuple[str, ...]
    column_count: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", tuple(self.content))
        if self.column_count < 0:
            raise InvalidArgument("a table's column count cannot be negative")
        if self.column_count == 0 and self.content:
            raise InvalidArgument("a table with cells needs at least one column")
        if self.column_count and len(self.content) % self.column_count:
            raise InvalidArgument(
                f"{len(self.content)} cells do not fill rows of {self.column_count} columns"
            )

    @property
    def row_count(self) -> int:
        return len(self.content) // self.column_count if self.column_count else 0

    def get_table_content(self) -> tuple[str, ...]:
        return self.content

    def rows(self) -> list[tuple[str, ...]]:
        width = self.column_count
        return [self.content[i : i + width] for i in range(0, len(self.content), width or 1)]

    def _payload(self) -> dict[str, Any]:
        return {
            "rowCount": self.row_count,
            "columnCount": self.column_count,
            "content": list(self.content),
        }

    def _properties(self) -> dict[str, object]:
        text = "\n".join("\t".join(row) for row in self.rows())
        return {"RowCount": self.row_count, "ColumnCount": self.column_count, "Text": text}

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        table = cls(data.texts("content"), data.count("columnCount"), id=entity_id)
        if "rowCount" in data.data and data.count("rowCount") != table.row_count:
            raise data.fail(
                "rowCount", f"says {data.data['rowCount']}, cells make {table.row_count}"
            )
        return table


@dataclass(frozen=True)
class ContactActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.CONTACT
    display_name: str
    first_name: str = ""
    last_name: str = ""
    emails: tuple[str, ...] = ()
    phone_numbers: tuple[str, ...] = ()

    def _payload(self) -> dict[str, Any]:
        return {
            "displayName": self.display_name,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "emails": list(self.emails),
            "phoneNumbers": list(self.phone_numbers),
        }

    def _properties(self) -> dict[str, object]:
        return {
            "DisplayName": self.display_name,
            "FirstName": self.first_name,
            "LastName": self.last_name,
            "Email": self.emails[0] if self.emails else "",
            "Phone": self.phone_numbers[0] if self.phone_numbers else "",
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(
            data.text("displayName"),
            data.text("firstName", ""),
            data.text("lastName", ""),
            data.texts("emails", ()),
            data.texts("phoneNumbers", ()),
            id=entity_id,
        )


@dataclass(frozen=True)
class UriActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.URI
    uri: str

    def __post_init__(self) -> None:
        if not urlsplit(self.uri).scheme:
            raise InvalidArgument(f"not an absolute URI (no scheme): {self.uri!r}")

    def _payload(self) -> dict[str, Any]:
        return {"uri": self.uri}

    def _properties(self) -> dict[str, object]:
        parts = urlsplit(self.uri)
        return {
            "Uri": self.uri,
            "Scheme": parts.scheme,
            "Host": parts.hostname or "",
            "Path": parts.path,
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(data.text("uri"), id=entity_id)


def _date_properties(moment: datetime) -> dict[str, object]:
    return {
        "DateTime": moment.isoformat(),
        "Date": moment.date().isoformat(),
        "Year": moment.year,
        "Month": moment.month,
        "Day": moment.day,
    }


@dataclass(frozen=True)
class DateTimeActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.DATE
    date_time: datetime

    def _payload(self) -> dict[str, Any]:
        return {"dateTime": self.date_time.isoformat()}

    def _properties(self) -> dict[str, object]:
        return _date_properties(self.date_time)

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        return cls(data.timestamp("dateTime"), id=entity_id)


@dataclass(frozen=True)
class AppointmentActionEntity(ActionEntity):
    kind: ClassVar[ActionEntityKind] = ActionEntityKind.APPOINTMENT
    subject: str
    start_time: datetime
    duration: timedelta = timedelta()
    location: str = ""

    def _payload(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "startTime": self.start_time.isoformat(),
            "durationSeconds": self.duration.total_seconds(),
            "location": self.location,
        }

    def _properties(self) -> dict[str, object]:
        return {
            "Subject": self.subject,
            "StartTime": self.start_time.isoformat(),
            "Duration": self.duration.total_seconds(),
            "Location": self.location,
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        seconds = data.number("durationSeconds") if "durationSeconds" in data.data else 0.0
        if not 0 <= seconds < timedelta.max.total_seconds():
            raise data.fail("durationSeconds", f"out of range: {seconds}")
        return cls(
            data.text("subject"),
            data.timestamp("startTime"),
            timedelta(seconds=seconds),
            data.text("location", ""),
            id=entity_id,
        )


@dataclass(frozen=True)
class ArrayActionEntity(ActionEntity):
    """An array of entities that are all of ``element_kind`` (``Text[]`` in a definition)."""

    kind: ClassVar[ActionEntityKind] = ActionEntityKind.ARRAY
    element_kind: ActionEntityKind
    elements: tuple[ActionEntity, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
        if self.element_kind in (ActionEntityKind.NONE, ActionEntityKind.ARRAY):
            raise InvalidArgument(f"an array cannot hold {self.element_kind.wire_name} entities")
        for index, element in enumerate(self.elements):
            if element.kind is not self.element_kind:
                raise InvalidArgument(
                    f"element {index} of a {self.element_kind.wire_name}[] array "
                    f"is {element.kind.wire_name}"
                )

    def get_all(self) -> tuple[ActionEntity, ...]:
        return self.elements

    def _payload(self) -> dict[str, Any]:
        return {
            "elementKind": self.element_kind.wire_name,
            "elements": [element.to_dict() for element in self.elements],
        }

    def _properties(self) -> dict[str, object]:
        return {"ElementKind": self.element_kind.wire_name, "Count": len(self.elements)}

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        items = data.array("elements")
        elements = tuple(
            entity_from_dict(item, f"{data.at('elements')}[{index}]")
            for index, item in enumerate(items)
        )
        return cls(data.member("elementKind", ActionEntityKind), elements, id=entity_id)


@dataclass(frozen=True)
class CustomTextActionEntity(ActionEntity):
    """Text of an app-defined kind (``custom_kind``) with a key phrase and string properties."""

    kind: ClassVar[ActionEntityKind] = ActionEntityKind.CUSTOM_TEXT
    custom_kind: str
    key_phrase: str
    properties: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", dict(self.properties))

    def _payload(self) -> dict[str, Any]:
        return {
            "customKind": self.custom_kind,
            "keyPhrase": self.key_phrase,
            "properties": dict(self.properties),
        }

    def _properties(self) -> dict[str, object]:
        return {
            "CustomKind": self.custom_kind,
            "KeyPhrase": self.key_phrase,
            "Properties": dict(self.properties),
        }

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        properties = data.text_map("properties") if "properties" in data.data else {}
        return cls(data.text("customKind"), data.text("keyPhrase"), properties, id=entity_id)


def entity_from_dict(data: object, path: str = "$") -> ActionEntity:
    """Rebuild an entity from its JSON object form; malformed input raises ``InvalidArgument``."""
    obj = JsonObject(data, path)
    kind = obj.member("kind", ActionEntityKind)
    entity_type = _ENTITY_TYPES.get(kind)
    if entity_type is None:
        raise obj.fail("kind", f"{kind.wire_name} entities have no value to carry")
    entity_id = obj.text("id") if "id" in obj.data else new_entity_id()
    if not entity_id:
        raise obj.fail("id", "must not be empty")
    try:
        return entity_type._from_payload(obj, entity_id)
    except InvalidArgument as exc:
        message = str(exc)
        raise InvalidArgument(
            message if message.startswith(path) else f"{path}: {message}"
        ) from None


def entity_from_json(text: str) -> ActionEntity:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"entity is not valid JSON: {exc}") from None
    return entity_from_dict(data)


# Property names per kind, for checking templates and ``where`` clauses when a file loads.
ENTITY_PROPERTIES: dict[ActionEntityKind, frozenset[str]] = {}


def _register_properties() -> None:
    common = {"Kind", "Id"}
    text = set(text_properties("", ActionEntityTextFormat.PLAIN))
    files = {"FileName", "Path", "FullPath", "Extension", "IsDirectory"}
    table = {
        ActionEntityKind.TEXT: text,
        ActionEntityKind.STREAMING_TEXT: {
            "Text",
            "Length",
            "WordCount",
            "TextFormat",
            "IsComplete",
        },
        ActionEntityKind.DOCUMENT: files,
        ActionEntityKind.FILE: files,
        ActionEntityKind.PHOTO: files | {"IsTemporaryPath"},
        ActionEntityKind.REMOTE_FILE: {
            "SourceId",
            "FileKind",
            "SourceUri",
            "FileId",
            "ContentType",
            "DriveId",
            "AccountId",
            "Extension",
        },
        ActionEntityKind.TABLE: {"RowCount", "ColumnCount", "Text"},
        ActionEntityKind.CONTACT: {"DisplayName", "FirstName", "LastName", "Email", "Phone"},
        ActionEntityKind.URI: {"Uri", "Scheme", "Host", "Path"},
        ActionEntityKind.DATE: set(_date_properties(datetime(2000, 1, 1))),
        ActionEntityKind.APPOINTMENT: {"Subject", "StartTime", "Duration", "Location"},
        ActionEntityKind.ARRAY: {"ElementKind", "Count"},
        ActionEntityKind.CUSTOM_TEXT: {"CustomKind", "KeyPhrase", "Properties"},
        ActionEntityKind.NONE: set(),
    }
    ENTITY_PROPERTIES.update({kind: frozenset(names | common) for kind, names in table.items()})


_register_properties()
