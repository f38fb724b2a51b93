"""Definition files: versions 2 and 3 load; every fault is named by file, JSON path and reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ainos.ai.actions import (
    ActionEntityKind,
    InvocationType,
    load_definition_file,
    parse_definitions,
    read_definition_file,
)
from ainos.errors import ActionDefinitionError

BUILTIN_DIR = Path(__file__).parents[3] / "src" / "ainos" / "ai" / "actions" / "builtin"


def valid() -> dict[str, Any]:
    return {
        "version": 3,
        "actions": [
            {
                "id": "Test.Greet",
                "description": "Greet someone",
                "icon": "greet.png",
                "displaysUI": False,
                "usesGenerativeAI": True,
                "isAvailable": True,
                "allowedAppInvokers": ["*"],
                "inputs": [
                    {"name": "Name", "kind": "Text"},
                    {"name": "Pet", "kind": "Text", "required": False},
                    {"name": "Friends", "kind": "Contact[]", "required": False},
                ],
                "inputCombinations": [
                    {"inputs": ["Name"], "description": "Greet ${Name.Text}"},
                    {"inputs": ["Name", "Pet"], "where": ["${Pet.Length} > 0"]},
                    {
                        "inputs": ["Name", "Friends"],
                        "description": "Greet ${Friends.Count} friends",
                    },
                ],
                "outputs": [{"name": "Greeting", "kind": "Text"}],
                "contentAgeRating": "Child",
                "invocation": {"type": "Module", "module": "greet.py:Greeter"},
            }
        ],
    }


def test_a_valid_file_loads_into_typed_definitions() -> None:
    loaded = parse_definitions(json.dumps(valid()), "greet.json")
    assert loaded.ok, loaded.problems
    (action,) = loaded.actions
    assert action.id == "Test.Greet"
    assert action.uses_generative_ai is True
    assert action.schema_version == 3
    assert [i.kind_spec for i in action.inputs] == ["Text", "Text", "Contact[]"]
    assert action.inputs[2].kind is ActionEntityKind.ARRAY
    assert action.inputs[2].element_kind is ActionEntityKind.CONTACT
    assert [o.description_template for o in action.get_overloads()] == [
        "Greet ${Name.Text}",
        "Greet someone",
        "Greet ${Friends.Count} friends",
    ]
    assert action.invocation.type is InvocationType.MODULE
    assert action.source == "greet.json"
    again = parse_definitions(json.dumps({"version": 3, "actions": [action.to_dict()]}), "x")
    assert again.actions[0].to_dict() == action.to_dict()


def test_windows_version_2_sample_loads() -> None:
    document = {
        "version": "2",
        "actions": [
            {
                "id": "Contoso.SampleGreeting",
                "description": "Send greeting with Contoso",
                "icon": "ms-resource//...",
                "usesGenerativeAI": False,
                "isAvailable": False,
                "inputs": [
                    {"name": "UserFriendlyName", "kind": "Text"},
                    {"name": "PetName", "kind": "Text", "required": False},
                ],
                "inputCombinations": [
                    {
                        "inputs": ["UserFriendlyName"],
                        "description": "Greet ${UserFriendlyName.Text}",
                    },
                    {
                        "inputs": ["UserFriendlyName", "PetName"],
                        "description": "Greet ${UserFriendlyName.Text} and ${PetName.Text}",
                        "where": ["${UserFriendlyName.Length > 3}"],
                    },
                ],
                "contentAgeRating": "child",
                "invocation": {
                    "type": "Uri",
                    "uri": "contoso://greetUser?userName=${UserFriendlyName.Text}",
                    "inputData": {"PetName": "${PetName.Text}"},
                },
            },
            {
                "id": "Contoso.SampleGetText",
                "description": "Summarize file with Contoso",
                "inputs": [{"name": "FileToSummarize", "kind": "File"}],
                "inputCombinations": [
                    {
                        "inputs": ["FileToSummarize"],
                        "description": "Summarize ${FileToSummarize.Path}",
                    }
                ],
                "outputs": [{"name": "Summary", "kind": "Text"}],
                "invocation": {"type": "COM", "clsid": "{00000000-0000-0000-0000-000000000000}"},
            },
        ],
    }
    loaded = parse_definitions(json.dumps(document), "contoso.json")
    assert loaded.ok, loaded.problems
    assert loaded.version == 2
    assert [a.invocation.type for a in loaded.actions] == [InvocationType.URI, InvocationType.COM]
    assert loaded.actions[0].is_available is False


def test_builtin_definition_files_are_valid() -> None:
    files = sorted(BUILTIN_DIR.glob("*.json"))
    assert len(files) >= 6
    for path in files:
        assert len(load_definition_file(path)) == 1


Mutation = Callable[[dict[str, Any]], None]


def _action(doc: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = doc["actions"][0]
    return action


CASES: list[tuple[str, Mutation, str, str]] = [
    ("version missing", lambda d: d.pop("version"), "$.version", "missing"),
    ("version 1", lambda d: d.update(version=1), "$.version", "unsupported schema version 1"),
    (
        "actions not array",
        lambda d: d.update(actions={}),
        "$.actions",
        "expected an array, got an object",
    ),
    ("unknown root key", lambda d: d.update(action=[]), "$.action", "did you mean 'actions'?"),
    ("id missing", lambda d: _action(d).pop("id"), "$.actions[0].id", "missing"),
    (
        "bad id",
        lambda d: _action(d).update(id="has space"),
        "$.actions[0].id",
        "is not an action id",
    ),
    (
        "id type",
        lambda d: _action(d).update(id=7),
        "$.actions[0].id",
        "expected a string, got a number",
    ),
    (
        "typo key",
        lambda d: _action(d).update(descripton="x"),
        "$.actions[0].descripton",
        "did you mean 'description'?",
    ),
    (
        "flag type",
        lambda d: _action(d).update(usesGenerativeAI="yes"),
        "$.actions[0].usesGenerativeAI",
        "expected true or false",
    ),
    (
        "unknown kind",
        lambda d: _action(d)["inputs"][1].update(kind="Txt"),
        "$.actions[0].inputs[1].kind",
        "unknown entity kind 'Txt' (did you mean 'Text'?)",
    ),
    (
        "array of arrays",
        lambda d: _action(d)["inputs"][1].update(kind="Array[]"),
        "$.actions[0].inputs[1].kind",
        "arrays of arrays",
    ),
    (
        "None kind",
        lambda d: _action(d)["outputs"][0].update(kind="None"),
        "$.actions[0].outputs[0].kind",
        "unknown entity kind 'None'",
    ),
    (
        "bad name",
        lambda d: _action(d)["inputs"][0].update(name="1st"),
        "$.actions[0].inputs[0].name",
        "is not a name",
    ),
    (
        "duplicate input",
        lambda d: _action(d)["inputs"][1].update(name="Name"),
        "$.actions[0].inputs[1].name",
        "duplicate name 'Name'",
    ),
    (
        "required type",
        lambda d: _action(d)["inputs"][1].update(required="no"),
        "$.actions[0].inputs[1].required",
        "expected true or false",
    ),
    (
        "undeclared input",
        lambda d: _action(d)["inputCombinations"][1]["inputs"].append("Dog"),
        "$.actions[0].inputCombinations[1].inputs[2]",
        "'Dog' is not a declared input",
    ),
    (
        "required left out",
        lambda d: _action(d)["inputCombinations"][0].update(inputs=[]),
        "$.actions[0].inputCombinations[0].inputs",
        "leaves out the required input 'Name'",
    ),
    (
        "empty combinations",
        lambda d: _action(d).update(inputCombinations=[]),
        "$.actions[0].inputCombinations",
        "at least one combination",
    ),
    (
        "where syntax",
        lambda d: _action(d)["inputCombinations"][1].update(where=["${Pet.Length} >"]),
        "$.actions[0].inputCombinations[1].where[0]",
        "bad where clause: expected a value, found the end at offset 15",
    ),
    (
        "where property",
        lambda d: _action(d)["inputCombinations"][1].update(where=["${Pet.Lenght} > 0"]),
        "$.actions[0].inputCombinations[1].where[0]",
        "has no property 'Lenght' (did you mean 'Length'?)",
    ),
    (
        "where out of scope",
        lambda d: _action(d)["inputCombinations"][0].update(where=["${Pet.Length} > 0"]),
        "$.actions[0].inputCombinations[0].where[0]",
        "refers to 'Pet', not an input of this combination (Name)",
    ),
    (
        "description ref",
        lambda d: _action(d)["inputCombinations"][0].update(description="Hi ${Name.Txt}"),
        "$.actions[0].inputCombinations[0].description",
        "a Text input has no property 'Txt'",
    ),
    (
        "sub-property",
        lambda d: _action(d)["inputCombinations"][0].update(description="${Name.Text.Foo}"),
        "$.actions[0].inputCombinations[0].description",
        "'Text' has no sub-properties",
    ),
    (
        "rating",
        lambda d: _action(d).update(contentAgeRating="toddler"),
        "$.actions[0].contentAgeRating",
        "is not one of Child, Minor, Adult",
    ),
    (
        "invocation missing",
        lambda d: _action(d).pop("invocation"),
        "$.actions[0].invocation",
        "missing",
    ),
    (
        "invocation type",
        lambda d: _action(d)["invocation"].update(type="Shell"),
        "$.actions[0].invocation.type",
        "unknown invocation type 'Shell'",
    ),
    (
        "module format",
        lambda d: _action(d)["invocation"].update(module="greet"),
        "$.actions[0].invocation.module",
        "is not 'package.module:Provider'",
    ),
    (
        "uri needs uri",
        lambda d: _action(d).update(invocation={"type": "Uri"}),
        "$.actions[0].invocation.uri",
        "missing",
    ),
    (
        "command key on module",
        lambda d: _action(d)["invocation"].update(timeout=3),
        "$.actions[0].invocation.timeout",
        "unknown property",
    ),
    (
        "command timeout",
        lambda d: _action(d).update(
            invocation={"type": "Command", "command": ["x"], "timeout": -1}
        ),
        "$.actions[0].invocation.timeout",
        "expected seconds above 0",
    ),
    (
        "command empty",
        lambda d: _action(d).update(invocation={"type": "Command", "command": []}),
        "$.actions[0].invocation.command",
        "names no program",
    ),
    (
        "command template",
        lambda d: _action(d).update(
            invocation={"type": "Command", "command": ["echo", "${Nme.Text}"]}
        ),
        "$.actions[0].invocation.command[1]",
        "refers to 'Nme'",
    ),
    (
        "inputData type",
        lambda d: _action(d).update(
            invocation={"type": "Command", "command": "x", "inputData": {"a": 1}}
        ),
        "$.actions[0].invocation.inputData.a",
        "expected a string",
    ),
    (
        "duplicate id",
        lambda d: d["actions"].append(copy.deepcopy(d["actions"][0])),
        "$.actions[1].id",
        "duplicate action id 'Test.Greet' (also at $.actions[0])",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_fault_is_reported_precisely(mutate: Mutation, path: str, message: str) -> None:
    document = valid()
    mutate(document)
    loaded = parse_definitions(json.dumps(document), "greet.json")
    assert not loaded.ok
    problem = loaded.problems[0]
    assert (problem.source, problem.path) == ("greet.json", path), loaded.problems
    assert message in problem.message, problem.message
    assert str(problem) == f"greet.json: {path}: {problem.message}"


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "version": 3,\n  "actions": [\n}\n')
    loaded = read_definition_file(path)
    assert [str(p) for p in loaded.problems] == [
        f"{path}: $: invalid JSON at line 4 column 1: Expecting value"
    ]
    with pytest.raises(ActionDefinitionError, match=r"broken\.json: \$: invalid JSON at line 4"):
        load_definition_file(path)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = read_definition_file(tmp_path / "nope.json")
    assert "cannot read" in missing.problems[0].message
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"version": 3, "actions": [], "x": "\xe9"}')
    assert "not UTF-8" in read_definition_file(latin).problems[0].message


def test_a_broken_action_does_not_hide_its_sound_neighbours() -> None:
    document = valid()
    broken = copy.deepcopy(document["actions"][0])
    broken["id"] = "Test.Broken"
    broken["inputs"][0]["kind"] = "Nonsense"
    document["actions"].insert(0, broken)
    loaded = parse_definitions(json.dumps(document), "two.json")
    assert [a.id for a in loaded.actions] == ["Test.Greet"]
    assert [p.path for p in loaded.problems] == ["$.actions[0].inputs[0].kind"]
    with pytest.raises(
        ActionDefinitionError, match=r"two\.json: \$\.actions\[0\]\.inputs\[0\]\.kind"
    ):
        loaded.raise_for_problems()


def test_several_problems_are_all_listed() -> None:
    document = valid()
    _action(document)["inputs"][0]["kind"] = "Nope"
    _action(document)["contentAgeRating"] = "old"
    loaded = parse_definitions(json.dumps(document), "f.json")
    assert len(loaded.problems) == 2
    with pytest.raises(ActionDefinitionError, match=r"\(and 1 more problems\)"):
        loaded.raise_for_problems()


def test_missing_input_combinations_default_to_the_required_inputs() -> None:
    document = valid()
    del _action(document)["inputCombinations"]
    (action,) = parse_definitions(json.dumps(document), "f.json").actions
    assert [o.combination.inputs for o in action.get_overloads()] == [("Name",)]


# -- generated files: whatever they hold, the loader reports and never crashes ------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_kinds = st.sampled_from(["Text", "File", "Photo", "Text[]", "Array", "Txt", "", "None", "Table[]"])
_names = st.sampled_from(["A", "B", "Text", "1x", ""])
_templates = st.sampled_from(
    ["${A.Text}", "${A.Length} > 2", "${B.Extension} ~= '.md'", "${", "}", "x", "${A.Nope}", "(("]
)
_inputs = st.fixed_dictionaries(
    {"name": _names | _json, "kind": _kinds | _json},
    optional={"required": st.booleans() | _json},
)
_combinations = st.fixed_dictionaries(
    {"inputs": st.lists(_names, max_size=3) | _json},
    optional={"description": _templates | _json, "where": st.lists(_templates, max_size=2) | _json},
)
_invocations = st.fixed_dictionaries(
    {"type": st.sampled_from(["Uri", "COM", "EntryPoint", "Module", "Command", "x"]) | _json},
    optional={
        "uri": _templates | _json,
        "module": st.sampled_from(["a.b:C", "f.py:P", "bad"]) | _json,
        "command": st.lists(_templates, max_size=3) | _templates | _json,
        "timeout": st.floats() | _json,
        "inputData": st.dictionaries(st.text(max_size=4), _templates | _json, max_size=2),
    },
)
_actions = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["X.A", "X.A", "bad id"]) | _json,
        "description": st.text(max_size=8) | _json,
    },
    optional={
        "inputs": st.lists(_inputs, max_size=3) | _json,
        "inputCombinations": st.lists(_combinations, max_size=3) | _json,
        "outputs": st.lists(_inputs, max_size=2) | _json,
        "invocation": _invocations | _json,
        "contentAgeRating": st.sampled_from(["child", "Adult", "x"]) | _json,
        "isAvailable": st.booleans() | _json,
        "allowedAppInvokers": st.lists(st.text(max_size=4), max_size=2) | _json,
    },
)
_documents = (
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from([2, 3, "3", 1, "x"]) | _json,
            "actions": st.lists(_actions, max_size=3) | _json,
        },
    )
    | _json
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_generated_definition_files_never_crash_the_loader(document: object) -> None:
    loaded = parse_definitions(json.dumps(document), "generated.json")
    for problem in loaded.problems:
        assert problem.source == "generated.json"
        assert problem.path.startswith("$")
        assert problem.message
    for action in loaded.actions:
        assert action.get_overloads()
        json.dumps(action.to_dict())


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_loader(data: bytes) -> None:
    loaded = parse_definitions(data, "bytes.json")
    assert loaded.ok == (not loaded.problems)
