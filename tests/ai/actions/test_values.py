"""Plain values (what a command line or a model's tool call gives) as the entities an
action's inputs declare, and the JSON schema of those values."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ainos.ai.actions import (
    ActionEntityFactory,
    ActionEntityKind,
    ActionEntityRegistrationInfo,
    ArrayActionEntity,
    ContactActionEntity,
    DateTimeActionEntity,
    DocumentActionEntity,
    FileActionEntity,
    PhotoActionEntity,
    TableActionEntity,
    TextActionEntity,
    UriActionEntity,
    entity_from_value,
    value_schema,
)
from ainos.errors import InvalidArgument

Kind = ActionEntityKind


def info(
    kind: ActionEntityKind, element: ActionEntityKind | None = None
) -> ActionEntityRegistrationInfo:
    return ActionEntityRegistrationInfo("Input", kind, element)


@pytest.fixture
def factory() -> ActionEntityFactory:
    return ActionEntityFactory()


# -- schemas -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        (Kind.TEXT, {"type": "string"}),
        (Kind.FILE, {"type": "string", "description": "path of a file"}),
        (Kind.DOCUMENT, {"type": "string", "description": "path of a document"}),
        (Kind.PHOTO, {"type": "string", "description": "path of a photo"}),
        (Kind.URI, {"type": "string", "description": "a URI"}),
        (Kind.DATE, {"type": "string", "description": "an ISO 8601 date and time"}),
        (Kind.CONTACT, {"type": "string", "description": "a contact's display name"}),
        (
            Kind.TABLE,
            {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string"}},
                "description": "rows of cells, header first",
            },
        ),
        (Kind.APPOINTMENT, {"type": "object", "description": "a Appointment entity as JSON"}),
    ],
)
def test_value_schema_per_kind(kind: ActionEntityKind, schema: dict[str, object]) -> None:
    assert value_schema(info(kind)) == schema


def test_an_array_schema_holds_its_elements_schema() -> None:
    assert value_schema(info(Kind.ARRAY, Kind.FILE)) == {
        "type": "array",
        "items": {"type": "string", "description": "path of a file"},
        "description": "File values",
    }
    assert value_schema(info(Kind.ARRAY))["items"] == {"type": "string"}


# -- values ------------------------------------------------------------------------------------


def test_text_uri_contact_and_date(factory: ActionEntityFactory) -> None:
    text = entity_from_value(factory, Kind.TEXT, "hello", name="Text")
    uri = entity_from_value(factory, Kind.URI, "https://example.org/a", name="Link")
    contact = entity_from_value(factory, Kind.CONTACT, "Ada Lovelace", name="Who")
    date = entity_from_value(factory, Kind.DATE, "2024-05-06T07:08:09", name="When")

    assert isinstance(text, TextActionEntity)
    assert text.text == "hello"
    assert isinstance(uri, UriActionEntity)
    assert uri.uri == "https://example.org/a"
    assert isinstance(contact, ContactActionEntity)
    assert contact.display_name == "Ada Lovelace"
    assert isinstance(date, DateTimeActionEntity)
    assert date.date_time == datetime(2024, 5, 6, 7, 8, 9)
    # every entity made is registered with the factory
    assert factory.get(text.id) is text


@pytest.mark.parametrize(
    ("kind", "entity_type"),
    [
        (Kind.FILE, FileActionEntity),
        (Kind.DOCUMENT, DocumentActionEntity),
        (Kind.PHOTO, PhotoActionEntity),
    ],
)
def test_paths_are_taken_from_the_base(
    factory: ActionEntityFactory,
    tmp_path: Path,
    kind: ActionEntityKind,
    entity_type: type[FileActionEntity | DocumentActionEntity | PhotoActionEntity],
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("a\n")

    relative = entity_from_value(factory, kind, "docs/a.txt", name="In", base=tmp_path)
    absolute = entity_from_value(factory, kind, str(tmp_path / "docs"), name="In")

    assert isinstance(relative, entity_type)
    assert relative.full_path == str(tmp_path / "docs" / "a.txt")
    assert isinstance(absolute, entity_type)
    assert absolute.full_path == str(tmp_path / "docs")


def test_a_table_from_rows(factory: ActionEntityFactory) -> None:
    table = entity_from_value(factory, Kind.TABLE, [["a", "b"], [1, 2], ["x"]], name="Cells")

    assert isinstance(table, TableActionEntity)
    assert table.rows() == [("a", "b"), ("1", "2"), ("x", "")]


def test_an_array_of_values(factory: ActionEntityFactory, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")

    texts = entity_from_value(factory, Kind.ARRAY, ["one", "two"], name="Words")
    files = entity_from_value(
        factory, Kind.ARRAY, ["a.txt"], name="Files", base=tmp_path, element_kind=Kind.FILE
    )

    assert isinstance(texts, ArrayActionEntity)
    assert texts.element_kind is Kind.TEXT
    assert [e.text for e in texts.elements if isinstance(e, TextActionEntity)] == ["one", "two"]
    assert isinstance(files, ArrayActionEntity)
    assert files.element_kind is Kind.FILE
    assert [e.full_path for e in files.elements if isinstance(e, FileActionEntity)] == [
        str(tmp_path / "a.txt")
    ]
    with pytest.raises(InvalidArgument, match=r"Files\[1\]: no such file"):
        entity_from_value(
            factory,
            Kind.ARRAY,
            ["a.txt", "b.txt"],
            name="Files",
            base=tmp_path,
            element_kind=Kind.FILE,
        )


def test_an_object_is_an_entity_as_json(factory: ActionEntityFactory) -> None:
    entity = entity_from_value(
        factory, Kind.APPOINTMENT, {"kind": "Text", "text": "as JSON"}, name="In"
    )

    assert isinstance(entity, TextActionEntity)
    assert entity.text == "as JSON"
    assert factory.get(entity.id) is entity


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (Kind.TEXT, 42, "In: a Text is given as a string"),
        (Kind.FILE, "no/such/file", "In: no such file or directory: no/such/file"),
        (Kind.DATE, "next tuesday", "In: not an ISO 8601 date: 'next tuesday'"),
        (Kind.TABLE, "a,b", "In: a Table is given as an array of rows"),
        (Kind.TABLE, [["a"], "b"], "In: a Table is given as an array of rows"),
        (Kind.ARRAY, "one", "In: an Array is given as a list of values"),
        (Kind.APPOINTMENT, "lunch", "In: give a Appointment entity as JSON"),
    ],
)
def test_a_bad_value_names_the_input(
    factory: ActionEntityFactory,
    tmp_path: Path,
    kind: ActionEntityKind,
    value: object,
    message: str,
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        entity_from_value(factory, kind, value, name="In", base=tmp_path)

    assert str(raised.value).startswith(message)
