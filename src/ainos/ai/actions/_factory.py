"""``ActionEntityFactory``: makes entities and remembers them by id for their runtime."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from ainos.ai.actions._entities import (
    ActionEntity,
    AppointmentActionEntity,
    ArrayActionEntity,
    ContactActionEntity,
    CustomTextActionEntity,
    DateTimeActionEntity,
    DocumentActionEntity,
    FileActionEntity,
    PhotoActionEntity,
    RemoteFileActionEntity,
    TableActionEntity,
    TextActionEntity,
    UriActionEntity,
    entity_from_dict,
    entity_from_json,
)
from ainos.ai.actions._kinds import ActionEntityKind, ActionEntityTextFormat, RemoteFileKind
from ainos.ai.actions._streaming import StreamingTextActionEntityWriter

__all__ = ["ActionEntityFactory"]

_T = TypeVar("_T", bound=ActionEntity)


def _full_path(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


class ActionEntityFactory:
    """Every entity made (or decoded) here can be found again with :meth:`get`.

    Entities are held weakly: the registry never keeps a finished invocation's data alive.
    """

    def __init__(self) -> None:
        self._entities: weakref.WeakValueDictionary[str, ActionEntity] = (
            weakref.WeakValueDictionary()
        )

    def _keep(self, entity: _T) -> _T:
        self._entities[entity.id] = entity
        return entity

    def get(self, entity_id: str) -> ActionEntity | None:
        return self._entities.get(entity_id)

    def register(self, entity: _T) -> _T:
        """Make an entity built elsewhere findable by id."""
        return self._keep(entity)

    def create_text_entity(
        self, text: str, text_format: ActionEntityTextFormat = ActionEntityTextFormat.PLAIN
    ) -> TextActionEntity:
        return self._keep(TextActionEntity(text, text_format))

    def create_streaming_text_action_entity_writer(
        self, text_format: ActionEntityTextFormat = ActionEntityTextFormat.PLAIN
    ) -> StreamingTextActionEntityWriter:
        writer = StreamingTextActionEntityWriter(text_format)
        self._keep(writer.reader_entity)
        return writer

    def create_file_entity(self, path: str | os.PathLike[str]) -> FileActionEntity:
        return self._keep(FileActionEntity(_full_path(path)))

    def create_document_entity(self, path: str | os.PathLike[str]) -> DocumentActionEntity:
        return self._keep(DocumentActionEntity(_full_path(path)))

    def create_photo_entity(self, path: str | os.PathLike[str]) -> PhotoActionEntity:
        return self._keep(PhotoActionEntity(_full_path(path)))

    def create_remote_file_entity(
        self,
        source_id: str,
        file_kind: RemoteFileKind,
        source_uri: str,
        file_id: str,
        content_type: str,
        drive_id: str,
        account_id: str,
        extension: str,
    ) -> RemoteFileActionEntity:
        return self._keep(
            RemoteFileActionEntity(
                source_id,
                file_kind,
                source_uri,
                file_id,
                content_type,
                drive_id,
                account_id,
                extension,
            )
        )

    def create_table_entity(self, data: Sequence[str], column_count: int) -> TableActionEntity:
        return self._keep(TableActionEntity(tuple(data), column_count))

    def create_table_entity_from_rows(self, rows: Sequence[Sequence[str]]) -> TableActionEntity:
        """Rows of equal width (the first row is usually the header)."""
        width = len(rows[0]) if rows else 0
        cells = [cell for row in rows for cell in (*row, *([""] * (width - len(row))))[:width]]
        return self.create_table_entity(cells, width)

    def create_contact_entity(
        self,
        display_name: str,
        *,
        first_name: str = "",
        last_name: str = "",
        emails: Sequence[str] = (),
        phone_numbers: Sequence[str] = (),
    ) -> ContactActionEntity:
        return self._keep(
            ContactActionEntity(
                display_name, first_name, last_name, tuple(emails), tuple(phone_numbers)
            )
        )

    def create_uri_entity(self, uri: str) -> UriActionEntity:
        return self._keep(UriActionEntity(uri))

    def create_date_time_entity(self, date_time: datetime) -> DateTimeActionEntity:
        return self._keep(DateTimeActionEntity(date_time))

    def create_appointment_entity(
        self,
        subject: str,
        start_time: datetime,
        duration: timedelta = timedelta(),
        location: str = "",
    ) -> AppointmentActionEntity:
        return self._keep(AppointmentActionEntity(subject, start_time, duration, location))

    def create_array_entity(
        self, element_kind: ActionEntityKind, entities: Sequence[ActionEntity]
    ) -> ArrayActionEntity:
        return self._keep(ArrayActionEntity(element_kind, tuple(entities)))

    def create_custom_text_entity(
        self, custom_kind: str, key_phrase: str, properties: Mapping[str, str] | None = None
    ) -> CustomTextActionEntity:
        return self._keep(CustomTextActionEntity(custom_kind, key_phrase, dict(properties or {})))

    def from_dict(self, data: object, path: str = "$") -> ActionEntity:
        entity = self._keep(entity_from_dict(data, path))
        if isinstance(entity, ArrayActionEntity):
            for element in entity.elements:
                self._keep(element)
        return entity

    def from_json(self, text: str) -> ActionEntity:
        return self._keep(entity_from_json(text))
