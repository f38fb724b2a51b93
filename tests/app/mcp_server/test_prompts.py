"""The prompts: their arguments checked, their text steering to ainos's tools."""

from __future__ import annotations

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from ainos.app.mcp_server._prompts import PROMPTS, get_prompt


def _text(result: types.GetPromptResult) -> str:
    [message] = result.messages
    assert message.role == "user"
    assert isinstance(message.content, types.TextContent)
    return message.content.text


def test_a_code_review_names_the_path_and_the_focus() -> None:
    plain = _text(get_prompt("code-review", {"path": "src"}))
    assert plain.startswith("Review the code in src.")
    assert "Ainos.AnalyzeCodebase" in plain
    assert "Focus on" not in plain
    focused = _text(get_prompt("code-review", {"path": "src", "focus": "error handling"}))
    assert focused.splitlines()[1] == "Focus on: error handling."


def test_an_analysis_asks_the_question_given_or_a_default() -> None:
    asked = _text(get_prompt("analyze-codebase", {"path": "/repo", "question": "Is it tested?"}))
    assert "/repo" in asked
    assert asked.endswith("Is it tested?")
    default = _text(get_prompt("analyze-codebase", {"path": "/repo"}))
    assert default.endswith("What is this codebase, and how is it laid out?")


def test_descriptions_come_with_the_result() -> None:
    for prompt in PROMPTS:
        result = get_prompt(prompt.name, {"path": "."})
        assert result.description == prompt.description


@pytest.mark.parametrize("arguments", [None, {}, {"path": ""}, {"focus": "tests"}])
def test_a_missing_required_argument_is_invalid_params(arguments: dict[str, str] | None) -> None:
    with pytest.raises(MCPError) as caught:
        get_prompt("code-review", arguments)
    assert caught.value.code == types.INVALID_PARAMS
    assert caught.value.message == "prompt code-review: argument path is required"


def test_an_unknown_prompt_is_invalid_params() -> None:
    with pytest.raises(MCPError) as caught:
        get_prompt("summarise-everything", {"path": "."})
    assert caught.value.code == types.INVALID_PARAMS
    assert "summarise-everything" in caught.value.message
