"""Tools: arguments checked against the input schema with a message naming the field; a
call's failure is an ``isError`` result, never a protocol error."""

from __future__ import annotations

from typing import Any, cast

import mcp_types as types
import pytest

from ainos.app.mcp_server._tools import (
    ToolCall,
    ToolEntry,
    ToolFailure,
    ToolSet,
    check_arguments,
    error_result,
    json_result,
)
from ainos.errors import InvalidArgument

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 1},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "texts": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 2},
        "options": {
            "type": "object",
            "properties": {"depth": {"type": "integer", "minimum": 1}},
            "required": ["depth"],
        },
    },
    "required": ["prompt"],
    "additionalProperties": False,
}
TOOL = types.Tool(name="demo", input_schema=SCHEMA)


def _message(arguments: dict[str, Any]) -> str:
    with pytest.raises(ToolFailure) as caught:
        check_arguments(TOOL, arguments)
    return str(caught.value)


def test_valid_arguments_pass() -> None:
    check_arguments(TOOL, {"prompt": "hi", "mode": "fast", "texts": ["a"], "options": {"depth": 2}})


@pytest.mark.parametrize(
    ("arguments", "start", "detail"),
    [
        ({}, "demo: invalid argument prompt: ", "'prompt' is a required property"),
        ({"prompt": ""}, "demo: invalid argument prompt: ", "should be non-empty"),
        ({"prompt": 3}, "demo: invalid argument prompt: ", "3 is not of type 'string'"),
        ({"prompt": "x", "mode": "medium"}, "demo: invalid argument mode: ", "is not one of"),
        ({"prompt": "x", "texts": ["a", ""]}, "demo: invalid argument texts.1: ", ""),
        ({"prompt": "x", "texts": ["a", "b", "c"]}, "demo: invalid argument texts: ", "too long"),
        ({"prompt": "x", "options": {}}, "demo: invalid argument options.depth: ", "required"),
        ({"prompt": "x", "options": {"depth": 0}}, "demo: invalid argument options.depth: ", ""),
        ({"prompt": "x", "colour": "red"}, "demo: invalid argument colour: ", "'colour'"),
    ],
)
def test_a_bad_argument_is_named(arguments: dict[str, Any], start: str, detail: str) -> None:
    message = _message(arguments)
    assert message.startswith(start), message
    assert detail in message
    assert "\n" not in message


def test_of_several_extra_fields_the_first_by_name_is_named() -> None:
    assert _message({"prompt": "x", "zeta": 1, "alpha": 2}).startswith(
        "demo: invalid argument alpha: "
    )


def test_a_schema_error_on_the_whole_object_names_the_arguments() -> None:
    tool = types.Tool(name="t", input_schema={"type": "object", "minProperties": 1})
    with pytest.raises(ToolFailure, match=r"^t: invalid argument \(arguments\): "):
        check_arguments(tool, {})


def test_results() -> None:
    failed = error_result("it broke")
    assert failed.is_error is True
    assert failed.content == [types.TextContent(text="it broke")]
    done = json_result({"a": 1, "b": "é"})
    assert done.is_error is not True
    assert done.structured_content == {"a": 1, "b": "é"}
    assert done.content == [types.TextContent(text='{"a": 1, "b": "é"}')]
    assert json_result({"a": 1}, text="one").content == [types.TextContent(text="one")]


def _entry(name: str, handler: Any, schema: dict[str, Any] | None = None) -> ToolEntry:
    return ToolEntry(types.Tool(name=name, input_schema=schema or {"type": "object"}), handler)


def _call(name: str, arguments: dict[str, Any] | None = None) -> ToolCall:
    # The request context and peer are not used by these handlers.
    return ToolCall(name, arguments or {}, cast(Any, None), cast(Any, None))


@pytest.mark.anyio
async def test_a_call_reaches_its_handler() -> None:
    seen: list[dict[str, Any]] = []

    async def echo(call: ToolCall) -> types.CallToolResult:
        seen.append(call.arguments)
        return json_result(call.arguments)

    tools = ToolSet([_entry("echo", echo)])
    result = await tools.call(_call("echo", {"x": 1}))
    assert result.structured_content == {"x": 1}
    assert seen == [{"x": 1}]


@pytest.mark.anyio
async def test_failures_are_error_results() -> None:
    async def refuses(call: ToolCall) -> types.CallToolResult:
        raise InvalidArgument("refuses: no")

    async def crashes(call: ToolCall) -> types.CallToolResult:
        raise RuntimeError("boom")

    async def never(call: ToolCall) -> types.CallToolResult:
        raise AssertionError("a call with bad arguments must not run")

    tools = ToolSet(
        [
            _entry("refuses", refuses),
            _entry("crashes", crashes),
            _entry("strict", never, {"type": "object", "required": ["a"]}),
        ]
    )
    unknown = await tools.call(_call("nope"))
    assert unknown.is_error is True
    assert unknown.content == [types.TextContent(text="unknown tool 'nope'")]
    refused = await tools.call(_call("refuses"))
    assert refused.is_error is True
    assert refused.content == [types.TextContent(text="refuses: no")]
    crashed = await tools.call(_call("crashes"))
    assert crashed.is_error is True
    assert crashed.content == [types.TextContent(text="crashes failed: RuntimeError: boom")]
    bad = await tools.call(_call("strict"))
    assert bad.is_error is True
    assert isinstance(bad.content[0], types.TextContent)
    assert bad.content[0].text.startswith("strict: invalid argument a: ")


@pytest.mark.anyio
async def test_sources_are_asked_on_every_listing_and_fixed_tools_win() -> None:
    async def fixed(call: ToolCall) -> types.CallToolResult:
        return json_result({"from": "fixed"})

    async def sourced(call: ToolCall) -> types.CallToolResult:
        return json_result({"from": "source"})

    offered: list[ToolEntry] = []
    tools = ToolSet([_entry("a", fixed)], [lambda: offered])
    before = tools.signature()
    assert [e.tool.name for e in tools.entries()] == ["a"]
    assert tools.get("b") is None
    offered.extend([_entry("a", sourced), _entry("b", sourced)])
    assert [e.tool.name for e in tools.entries()] == ["a", "b"]
    assert (await tools.call(_call("a"))).structured_content == {"from": "fixed"}
    assert (await tools.call(_call("b"))).structured_content == {"from": "source"}
    assert tools.signature() != before
    tools.add(_entry("c", fixed))
    assert tools.get("c") is not None
