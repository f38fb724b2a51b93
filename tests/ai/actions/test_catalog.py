"""The catalog: built-in and user actions, matching by kinds and ``where``, change notification."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.actions import ActionEntityKind, ActionRuntime
from ainos.errors import NotFound

BUILTINS = {
    "Ainos.AnalyzeCodebase",
    "Ainos.Codex",
    "Ainos.ConvertTable",
    "Ainos.CountWords",
    "Ainos.DescribePhoto",
    "Ainos.SearchFiles",
    "Ainos.SummarizeText",
}
MODULE = {"type": "Module", "module": "nothing.py:Nothing"}


def test_builtins_come_from_entry_points(runtime: ActionRuntime) -> None:
    ids = {a.id for a in runtime.action_catalog.get_all_actions()}
    assert ids >= BUILTINS
    assert runtime.action_catalog.problems == ()
    summarize = runtime.action_catalog.get("Ainos.SummarizeText")
    assert summarize.source.endswith("summarize_text.json")
    assert summarize.host is runtime


def test_unknown_action_suggests_a_close_id(runtime: ActionRuntime) -> None:
    with pytest.raises(
        NotFound, match=r"no action 'Ainos\.CountWord' \(did you mean Ainos\.CountWords\?\)"
    ):
        runtime.action_catalog.get("Ainos.CountWord")


def test_matching_by_kinds_and_where(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    write_definition(
        "docs.json",
        make_action(
            "Test.OpenMarkdown",
            [{"name": "Doc", "kind": "Document"}],
            MODULE,
            combinations=[
                {
                    "inputs": ["Doc"],
                    "description": "Open ${Doc.FileName}",
                    "where": ['${Doc.Extension} ~= ".md"'],
                }
            ],
        ),
        make_action(
            "Test.Compare",
            [{"name": "Left", "kind": "Text"}, {"name": "Right", "kind": "File"}],
            MODULE,
            combinations=[
                {
                    "inputs": ["Left", "Right"],
                    "description": "Compare ${Left.Text} with ${Right.FileName}",
                }
            ],
        ),
        make_action(
            "Test.Many",
            [{"name": "Lines", "kind": "Text[]"}],
            MODULE,
            combinations=[
                {
                    "inputs": ["Lines"],
                    "description": "Join ${Lines.Count} lines",
                    "where": ["${Lines.Count} >= 2"],
                }
            ],
        ),
    )
    factory = runtime.entity_factory
    catalog = runtime.action_catalog
    markdown = factory.create_document_entity(tmp_path / "README.MD")
    text_file = factory.create_document_entity(tmp_path / "notes.txt")
    found = {i.definition.id: i for i in catalog.get_actions_for_inputs([markdown])}
    assert "Test.OpenMarkdown" in found
    assert found["Test.OpenMarkdown"].display_info.description == "Open README.MD"
    assert found["Test.OpenMarkdown"].context.get_input("Doc") is markdown
    assert "Test.OpenMarkdown" not in {
        i.definition.id for i in catalog.get_actions_for_inputs([text_file])
    }

    # Two unnamed inputs are fitted to the slots in whichever order the kinds allow;
    # a File slot takes a Document too.
    hello = factory.create_text_entity("hello")
    pair = catalog.get_actions_for_inputs([markdown, hello])
    compare = [i for i in pair if i.definition.id == "Test.Compare"]
    assert [i.display_info.description for i in compare] == ["Compare hello with README.MD"]

    two = factory.create_array_entity(
        ActionEntityKind.TEXT, [hello, factory.create_text_entity("x")]
    )
    one = factory.create_array_entity(ActionEntityKind.TEXT, [hello])
    assert "Test.Many" in {i.definition.id for i in catalog.get_actions_for_inputs([two])}
    assert "Test.Many" not in {i.definition.id for i in catalog.get_actions_for_inputs([one])}

    # Named inputs must use the combination's names.
    assert [i.definition.id for i in catalog.get_actions_for_inputs({"Doc": markdown})] == [
        "Test.OpenMarkdown"
    ]
    named = {i.definition.id for i in catalog.get_actions_for_inputs({"Document": markdown})}
    assert named == {"Ainos.CountWords", "Ainos.SummarizeText"}


def test_text_input_finds_the_text_builtins(runtime: ActionRuntime) -> None:
    text = runtime.entity_factory.create_text_entity("Some words to work on.")
    ids = {i.definition.id for i in runtime.action_catalog.get_actions_for_inputs([text])}
    assert ids == {
        "Ainos.Codex",
        "Ainos.ConvertTable",
        "Ainos.CountWords",
        "Ainos.SearchFiles",
        "Ainos.SummarizeText",
    }
    empty = runtime.entity_factory.create_text_entity("   ")
    ids = {i.definition.id for i in runtime.action_catalog.get_actions_for_inputs([empty])}
    assert "Ainos.SummarizeText" not in ids  # where ${Text.WordCount} > 0


def test_a_broken_file_is_reported_and_hides_nothing(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
    actions_dir: Path,
) -> None:
    write_definition("good.json", make_action("Test.Good", [], MODULE))
    (actions_dir / "broken.json").write_text('{"version": 3, "actions": [')
    write_definition(
        "half.json",
        make_action("Test.Half", [{"name": "X", "kind": "Textual"}], MODULE),
        make_action("Test.OtherHalf", [], MODULE),
    )
    ids = {a.id for a in runtime.action_catalog.get_all_actions()}
    assert ids >= BUILTINS | {"Test.Good", "Test.OtherHalf"}
    assert "Test.Half" not in ids
    problems = {(Path(p.source).name, p.path) for p in runtime.action_catalog.problems}
    assert problems == {("broken.json", "$"), ("half.json", "$.actions[0].inputs[0].kind")}


def test_user_definitions_replace_builtins_and_duplicates_are_reported(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    write_definition("a.json", make_action("Ainos.CountWords", [], MODULE, description="mine"))
    write_definition("b.json", make_action("Ainos.CountWords", [], MODULE, description="theirs"))
    assert runtime.action_catalog.get("Ainos.CountWords").description == "mine"
    (problem,) = runtime.action_catalog.problems
    assert Path(problem.source).name == "b.json"
    assert "already defined in" in problem.message


def test_change_notification_when_definition_files_change(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    catalog = runtime.action_catalog
    assert catalog.find("Test.New") is None
    changes: list[int] = []
    catalog.add_changed_handler(lambda c: changes.append(len(c.get_all_actions())))
    assert catalog.refresh() is False
    path = write_definition("new.json", make_action("Test.New", [], MODULE))
    assert catalog.find("Test.New") is not None
    assert changes == [len(BUILTINS) + 1]
    data = json.loads(path.read_text())
    data["actions"][0]["description"] = "changed"
    path.write_text(json.dumps(data))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert catalog.get("Test.New").description == "changed"
    path.unlink()
    assert catalog.find("Test.New") is None
    assert len(changes) == 3


def test_watch_yields_on_change(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    async def scenario() -> bool:
        watcher = runtime.action_catalog.watch(interval=0.01)
        pending = asyncio.ensure_future(anext(watcher))
        await asyncio.sleep(0.05)
        assert not pending.done()
        write_definition("w.json", make_action("Test.Watched", [], MODULE))
        catalog = await asyncio.wait_for(pending, timeout=30)
        await watcher.aclose()
        return catalog.find("Test.Watched") is not None

    assert asyncio.run(scenario())


def test_turned_off_actions_are_not_suggested(runtime: ActionRuntime) -> None:
    text = runtime.entity_factory.create_text_entity("words here")
    runtime.set_action_availability("Ainos.CountWords", False)
    assert runtime.get_action_availability("Ainos.CountWords") is False
    ids = {i.definition.id for i in runtime.action_catalog.get_actions_for_inputs([text])}
    assert "Ainos.CountWords" not in ids
    # The setting is stored: a new runtime (another process) sees it too.
    assert ActionRuntime().get_action_availability("Ainos.CountWords") is False
    runtime.set_action_availability("Ainos.CountWords", True)
    assert ActionRuntime().get_action_availability("Ainos.CountWords") is True


def test_declared_unavailable_until_turned_on(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    write_definition("off.json", make_action("Test.Off", [], MODULE, isAvailable=False))
    assert runtime.get_action_availability("Test.Off") is False
    runtime.set_action_availability("Test.Off", True)
    assert runtime.get_action_availability("Test.Off") is True
    with pytest.raises(NotFound):
        runtime.set_action_availability("Test.Nope", True)
