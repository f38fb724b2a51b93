"""The answer of a turn asked for JSON matching a schema: kept as the model finished it, closed
where a cut-short reply stopped when that still matches, and a clear failure otherwise."""

from __future__ import annotations

import json

import pytest

from ainos.app.agent._schema_answer import schema_answer
from ainos.errors import AgentError

SUMMARY = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "files": {"type": "integer"}},
    "required": ["summary"],
    "additionalProperties": False,
}


def test_a_finished_document_is_kept_as_written() -> None:
    text = '{"summary": "A greeting library.", "files": 3}'
    answer = schema_answer(f"  {text}\n", "stop", SUMMARY)
    assert (answer.text, answer.closed_because) == (text, None)


def test_a_loop_stopped_inside_a_string_is_closed_where_it_stopped() -> None:
    # What the embedded model wrote on one machine before the repetition guard stopped it.
    cut = '{\n    "summary": "Sin Sama, 2023-07-24 14:36:08-SIN SAMA, 2023-07-24 14:36:08-SIN'
    answer = schema_answer(cut, "repetition", SUMMARY)
    assert json.loads(answer.text) == {
        "summary": "Sin Sama, 2023-07-24 14:36:08-SIN SAMA, 2023-07-24 14:36:08-SIN"
    }
    assert answer.closed_because == "the repetition guard (a loop)"


def test_a_document_cut_at_the_token_limit_drops_its_unfinished_member() -> None:
    answer = schema_answer('{"summary": "Short.", "files": ', "length", SUMMARY)
    assert json.loads(answer.text) == {"summary": "Short."}
    assert answer.closed_because == "the token limit"


def test_a_cut_before_a_required_member_is_an_error_naming_it() -> None:
    with pytest.raises(AgentError) as caught:
        schema_answer('{"files": 3, "summ', "length", SUMMARY)
    message = str(caught.value)
    assert "does not match the output schema (stopped by the token limit)" in message
    assert "'summary' is a required property" in message


def test_a_finished_document_that_breaks_the_schema_is_an_error() -> None:
    with pytest.raises(AgentError, match=r"\(it finished\): files: 'three' is not of type"):
        schema_answer('{"summary": "x", "files": "three"}', "stop", SUMMARY)


def test_text_that_is_no_json_at_all_is_an_error_with_an_excerpt() -> None:
    with pytest.raises(AgentError, match=r"is not JSON \(it finished\): I think it is"):
        schema_answer("I think it is a library.", "stop", SUMMARY)
