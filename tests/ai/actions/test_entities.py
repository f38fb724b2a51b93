"""Entities: every kind round-trips through JSON; streaming text; the factory's id registry."""

from __future__ import annotations

import asyncio
import gc
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ainos.ai.actions import (
    ActionEntity,
    ActionEntityFactory,
    ActionEntityKind,
    ActionEntityTextFormat,
    ActionFeedbackKind,
    ActionInvocationHelpKind,
    ActionInvocationResult,
    ArrayActionEntity,
    RemoteFileKind,
    StreamingTextActionEntity,
    StreamingTextActionEntityWriter,
    TableActionEntity,
    entity_from_dict,
    entity_from_json,
)
from ainos.ai.actions._entities import ENTITY_PROPERTIES
from ainos.errors import ActionError, InvalidArgument


def test_enumerations_keep_the_windows_values() -> None:
    assert {k.wire_name: k.value for k in ActionEntityKind} == {
        "None": 0,
        "Document": 1,
        "File": 2,
        "Photo": 3,
        "Text": 4,
        "StreamingText": 5,
        "RemoteFile": 6,
        "Table": 7,
        "Contact": 8,
        "Uri": 9,
        "Array": 10,
        "Appointment": 11,
        "Date": 12,
        "CustomText": 13,
    }
    assert [f.wire_name for f in ActionEntityTextFormat] == ["Plain", "Markdown"]
    assert [(r.wire_name, r.value) for r in ActionInvocationResult] == [
        ("Success", 0),
        ("UserCanceled", 1),
        ("Unsupported", 2),
        ("Unavailable", 3),
    ]
    assert [f.wire_name for f in ActionFeedbackKind] == ["Positive", "Negative"]
    assert [h.wire_name for h in ActionInvocationHelpKind] == ["None", "Error", "Warning"]


def _one_of_each(factory: ActionEntityFactory, tmp_path: Path) -> list[ActionEntity]:
    writer = factory.create_streaming_text_action_entity_writer(ActionEntityTextFormat.MARKDOWN)
    writer.set_text("# streamed")
    writer.close()
    moment = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
    return [
        factory.create_document_entity(tmp_path / "report.docx"),
        factory.create_file_entity(tmp_path / "data.bin"),
        factory.create_photo_entity(tmp_path / "cat.jpg"),
        factory.create_text_entity("héllo wörld", ActionEntityTextFormat.MARKDOWN),
        writer.reader_entity,
        factory.create_remote_file_entity(
            "onedrive",
            RemoteFileKind.PHOTO,
            "https://example.org/f/1",
            "f1",
            "image/png",
            "drive-9",
            "acct-2",
            ".png",
        ),
        factory.create_table_entity(["name", "age", "ada", "36"], 2),
        factory.create_contact_entity(
            "Ada Lovelace",
            first_name="Ada",
            last_name="Lovelace",
            emails=["ada@example.org"],
            phone_numbers=["+44 20 0000"],
        ),
        factory.create_uri_entity("https://example.org/a?b=c"),
        factory.create_array_entity(
            ActionEntityKind.TEXT,
            [factory.create_text_entity("a"), factory.create_text_entity("b")],
        ),
        factory.create_appointment_entity("Review", moment, timedelta(minutes=45), "Room 3"),
        factory.create_date_time_entity(moment),
        factory.create_custom_text_entity("Recipe", "pancakes", {"serves": "4"}),
    ]


def test_every_entity_kind_round_trips_through_json(tmp_path: Path) -> None:
    entities = _one_of_each(ActionEntityFactory(), tmp_path)
    kinds = {e.kind for e in entities}
    assert kinds == set(ActionEntityKind) - {ActionEntityKind.NONE}
    for entity in entities:
        text = entity.to_json()
        again = entity_from_json(text)
        assert type(again) is type(entity)
        assert again.to_dict() == entity.to_dict() == json.loads(text)
        if not isinstance(entity, StreamingTextActionEntity):
            assert again == entity


def test_property_names_match_what_entities_expose(tmp_path: Path) -> None:
    for entity in _one_of_each(ActionEntityFactory(), tmp_path):
        assert set(entity.property_values()) == ENTITY_PROPERTIES[entity.kind], entity.kind


def test_file_properties_follow_windows_names(tmp_path: Path) -> None:
    photo = ActionEntityFactory().create_photo_entity(tmp_path / "Holiday.JPG")
    props = photo.property_values()
    assert props["FileName"] == "Holiday.JPG"
    assert props["Extension"] == ".JPG"
    assert props["Path"] == str(tmp_path / "Holiday.JPG")
    assert props["IsDirectory"] is False


def test_text_properties() -> None:
    text = ActionEntityFactory().create_text_entity("Title line\n" + "word " * 30)
    props = text.property_values()
    assert props["WordCount"] == 32
    assert props["Length"] == len(text.text)
    assert props["Title"] == "Title line"
    assert str(props["ShortText"]).endswith("…")
    assert len(str(props["ShortText"])) <= 64


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "Txt", "text": "x"}, "$.kind: unknown value 'Txt'"),
        ({"text": "x"}, "$.kind: missing"),
        ({"kind": "Text"}, "$.text: missing"),
        ({"kind": "Text", "text": 3}, "$.text: expected a string, got a number"),
        ({"kind": "None"}, "None entities have no value"),
        ({"kind": "Table", "content": ["a", "b", "c"], "columnCount": 2}, "3 cells do not fill"),
        ({"kind": "Table", "content": ["a"], "columnCount": 1, "rowCount": 4}, "$.rowCount"),
        ({"kind": "Uri", "uri": "no scheme"}, "not an absolute URI"),
        ({"kind": "Date", "dateTime": "yesterday"}, "$.dateTime: not an ISO 8601"),
        (
            {"kind": "Array", "elementKind": "Text", "elements": [{"kind": "Uri", "uri": "a:b"}]},
            "element 0 of a Text[] array is Uri",
        ),
        (
            {"kind": "Array", "elementKind": "Text", "elements": [{"kind": "Text"}]},
            "$.elements[0].text: missing",
        ),
        ([1, 2], "$: expected an object, got an array"),
    ],
)
def test_malformed_entity_json_names_the_fault(document: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        entity_from_dict(document)


def test_array_rejects_nested_arrays() -> None:
    with pytest.raises(InvalidArgument, match="cannot hold Array"):
        ArrayActionEntity(ActionEntityKind.ARRAY, ())


def test_table_rows_and_content() -> None:
    table = ActionEntityFactory().create_table_entity_from_rows([["a", "b"], ["1"], ["2", "3"]])
    assert (table.row_count, table.column_count) == (3, 2)
    assert table.get_table_content() == ("a", "b", "1", "", "2", "3")
    assert TableActionEntity((), 0).row_count == 0


def test_streaming_writer_replaces_text_and_close_completes_the_reader() -> None:
    writer = StreamingTextActionEntityWriter()
    reader = writer.reader_entity
    seen: list[str] = []
    remove = reader.add_text_changed_handler(lambda r: seen.append(r.get_text()))
    writer.set_text("Hel")
    writer.set_text("Hello")
    assert reader.get_text() == "Hello"
    assert not reader.is_complete
    remove()
    writer.set_text("Hello, world")
    writer.close()
    assert seen == ["Hel", "Hello"]
    assert reader.is_complete
    with pytest.raises(ActionError, match="closed"):
        writer.set_text("too late")


def test_streaming_readers_await_changes_until_closed() -> None:
    async def scenario() -> tuple[list[str], str]:
        writer = StreamingTextActionEntityWriter()
        reader = writer.reader_entity
        updates: list[str] = []
        step = asyncio.Event()

        async def follow() -> None:
            async for text in reader.changes():
                updates.append(text)
                step.set()

        task = asyncio.create_task(follow())
        waiter = asyncio.create_task(reader.wait_complete())
        await step.wait()  # the follower has seen the empty start
        for text in ("one", "one two", "one two three"):
            step.clear()
            writer.set_text(text)
            await step.wait()
        writer.close()
        await task
        return updates, await waiter

    updates, final = asyncio.run(scenario())
    assert updates == ["", "one", "one two", "one two three"]
    assert final == "one two three"


def test_streaming_writer_on_another_thread_wakes_the_reader() -> None:
    async def scenario() -> str:
        writer = StreamingTextActionEntityWriter()

        def produce() -> None:
            for n in range(1, 4):
                writer.set_text("x" * n)
            writer.close()

        waiting = asyncio.create_task(writer.reader_entity.wait_complete())
        await asyncio.sleep(0)
        await asyncio.to_thread(produce)
        return await waiting

    assert asyncio.run(scenario()) == "xxx"


def test_factory_finds_entities_by_id_and_forgets_dropped_ones() -> None:
    factory = ActionEntityFactory()
    text = factory.create_text_entity("kept")
    assert factory.get(text.id) is text
    dropped_id = factory.create_text_entity("dropped").id
    gc.collect()
    assert factory.get(dropped_id) is None
    decoded = factory.from_json(json.dumps({"kind": "Text", "id": "fixed-id", "text": "t"}))
    assert factory.get("fixed-id") is decoded
