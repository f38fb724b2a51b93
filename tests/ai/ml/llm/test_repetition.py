"""Keeping the small model out of loops: DRY defaults on chat requests, and the guard that
stops a generation repeating one phrase (on synthetic streams, then on the real engine)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openai
import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL, ModelCatalog
from ainos.ai.ml.llm import (
    CHAT_REPETITION,
    GUARD_FIELD,
    STOPPED_FIELD,
    ChatStream,
    GuardLimits,
    LlmLimits,
    LlmService,
    RepetitionGuard,
    RequestError,
    chat_defaults,
    collect_completion,
    prepare_chat,
)
from ainos.errors import InvalidArgument
from ainos.kernel.scheduler import CpuExecutor, Scheduler

from .conftest import TEST_CONTEXT

USER = [{"role": "user", "content": "hi"}]
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
LOOP = "la femme au martyre, "


def _pieces(text: str, size: int = 3) -> list[str]:
    """Text cut as a tokenizer might: a few characters a piece."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _fed(pieces: Iterable[str], guard: RepetitionGuard | None = None) -> tuple[str, bool]:
    """The text fed before the guard tripped (all of it if it never did), and whether it did."""
    guard = guard or RepetitionGuard()
    seen = []
    for piece in pieces:
        seen.append(piece)
        if guard.feed(piece):
            return "".join(seen), True
    return "".join(seen), False


# -- the guard on synthetic streams ---------------------------------------------------------


def test_a_looping_phrase_trips_the_guard_by_its_fifth_time() -> None:
    text, tripped = _fed(_pieces("L'Étoile, la Marseillaise, la femme, " + LOOP * 50))
    assert tripped
    repeats = GuardLimits().repeats
    assert text.count("la femme au martyre") <= repeats + 1


def test_the_unit_is_the_shortest_one() -> None:
    guard = RepetitionGuard()
    _fed(_pieces(LOOP * 10), guard)
    assert guard.unit is not None
    assert len(guard.unit) == len(LOOP)
    assert set(guard.unit.split()) == set(LOOP.split())  # a rotation of the phrase


@pytest.mark.parametrize(
    ("unit", "span"),
    [
        ("ha ", GuardLimits().short_span),  # short units must fill more
        ("a", GuardLimits().short_span),
        ("\n", GuardLimits().symbol_span),  # symbols more still
        ("!", GuardLimits().symbol_span),
        ("----------|", GuardLimits().symbol_span),
    ],
)
def test_short_and_symbol_units_trip_only_past_their_span(unit: str, span: int) -> None:
    below = unit * ((span - 1) // len(unit))
    assert not _fed(_pieces(below, 1))[1]
    text, tripped = _fed(_pieces(unit * (2 * span), 1))
    assert tripped
    assert len(text) <= span + len(unit)


PROSE = (
    "The sea covers most of the planet. It shapes the weather, feeds millions of people and "
    "carries most of the world's trade. Sailors have crossed it for thousands of years, and "
    "scientists still find new species in its depths every year. "
) * 1

PYTHON = """
class First:
    pass


class Second:
    pass


class Third:
    pass


def main() -> None:
    for name in ("a", "b", "c"):
        print(name)
"""

C_CODE = """
int main(void) {
    for (int i = 0; i < 10; i++) {
        if (i % 2) {
            while (x) {
                x--;
            }
        }
    }
}
"""

LISTS = "\n".join(f"{i}. item number {i}" for i in range(1, 30))
TABLE = (
    "| name | size | kind | owner | mode | date |\n"
    "|------|------|------|-------|------|------|\n"
    "| a.py | 10   | file | me    | 644  | today |\n"
    "| b.py | 12   | file | me    | 644  | today |\n"
)
RULES = "=" * 79 + "\nTitle\n" + "-" * 79 + "\n"
ZEROS = "[" + ", ".join(["0"] * 20) + "]"
JSON_CALLS = (
    '{"tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}, '
    '{"name": "read_file", "arguments": {"path": "b.py"}}, '
    '{"name": "read_file", "arguments": {"path": "c.py"}}]}'
)


@pytest.mark.parametrize(
    "text", [PROSE, PYTHON, C_CODE, LISTS, TABLE, RULES, ZEROS, JSON_CALLS], ids=str.split
)
def test_ordinary_output_does_not_trip_it(text: str) -> None:
    for size in (1, 4):
        assert _fed(_pieces(text, size)) == (text, False)


def test_it_stays_tripped() -> None:
    guard = RepetitionGuard()
    _fed(_pieces(LOOP * 10), guard)
    assert guard.tripped
    assert guard.feed("anything else")


# -- chat requests: DRY's fields and defaults -----------------------------------------------


def _engine_request(**fields: Any) -> dict[str, Any]:
    return prepare_chat({"model": "m", "messages": USER, **fields}, None).engine_request


def test_dry_is_on_by_default() -> None:
    assert chat_defaults() == CHAT_REPETITION.fields()
    assert CHAT_REPETITION.dry_multiplier > 0
    assert CHAT_REPETITION.dry_penalty_last_n > 0  # 0 would turn DRY off
    # The request carries only what it set: the service fills in the model's defaults.
    request = _engine_request()
    assert not any(name.startswith("dry_") for name in request)
    assert GUARD_FIELD not in request  # the guard is on unless a request says otherwise


def test_a_model_may_set_its_own_defaults() -> None:
    assert chat_defaults({"dry_multiplier": 0})["dry_multiplier"] == 0
    assert (
        chat_defaults({"dry_base": 2.0})["dry_allowed_length"] == CHAT_REPETITION.dry_allowed_length
    )


def test_a_request_sets_dry_off_or_tunes_it() -> None:
    off = _engine_request(dry_multiplier=0)
    assert off["dry_multiplier"] == 0
    assert {**chat_defaults(), **off}["dry_multiplier"] == 0  # what the service sends
    tuned = _engine_request(dry_base=2, dry_sequence_breakers=["\n", ";"])
    assert tuned["dry_base"] == 2.0
    assert tuned["dry_sequence_breakers"] == ["\n", ";"]
    assert "dry_multiplier" not in tuned  # the model's default stays


def test_repeat_penalty_and_the_guard_switch_pass_through() -> None:
    request = _engine_request(repeat_penalty=1.1, repeat_last_n=64, ainos_repetition_guard=False)
    assert (request["repeat_penalty"], request["repeat_last_n"]) == (1.1, 64)
    assert request[GUARD_FIELD] is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dry_multiplier", -1),
        ("dry_multiplier", "high"),
        ("dry_base", 0.5),
        ("dry_allowed_length", 0),
        ("dry_allowed_length", 1.5),
        ("dry_penalty_last_n", -1),
        ("dry_sequence_breakers", []),
        ("dry_sequence_breakers", ["", "x"]),
        ("repeat_penalty", 0),
        ("repeat_last_n", -1),
        ("ainos_repetition_guard", "no"),
    ],
)
def test_bad_repetition_fields_are_named(field: str, value: object) -> None:
    with pytest.raises(RequestError) as caught:
        _engine_request(**{field: value})
    assert caught.value.param == field
    assert field in str(caught.value)


# -- the real engine ------------------------------------------------------------------------


def _generate(
    service: LlmService, body: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any], list[dict[str, Any]]]:
    call = prepare_chat({"messages": FRANCE, "temperature": 0, **body}, DEFAULT_CHAT_MODEL)
    chunks = list(service.generate(DEFAULT_CHAT_MODEL, call.engine_request))
    text, finish, usage = [], None, {}
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            text.append((choice.get("delta") or {}).get("content") or "")
            finish = choice.get("finish_reason") or finish
        usage = chunk.get("usage") or usage
    return "".join(text), finish, usage, chunks


def _most_repeated(text: str, length: int = 8) -> int:
    """How often the most frequent phrase of ``length`` characters occurs (non-overlapping)."""
    phrases = {text[i : i + length] for i in range(len(text) - length + 1)}
    return max((len(re.findall(re.escape(p), text)) for p in phrases), default=0)


def test_the_guard_stops_a_loop_that_dry_would_have_broken(llm_service: LlmService) -> None:
    """DRY off: the model loops on one phrase; the guard ends it as a normal stop."""
    text, finish, usage, chunks = _generate(llm_service, {"dry_multiplier": 0, "max_tokens": 300})
    assert finish == "stop"
    assert usage["completion_tokens"] < 150
    assert usage["prompt_tokens"] > 0
    assert _most_repeated(text) <= GuardLimits().repeats + 1
    assert any(chunk.get(STOPPED_FIELD) == "repetition" for chunk in chunks)


def test_without_dry_and_guard_the_loop_runs_to_the_limit(llm_service: LlmService) -> None:
    text, finish, usage, _ = _generate(
        llm_service, {"dry_multiplier": 0, GUARD_FIELD: False, "max_tokens": 120}
    )
    assert (finish, usage["completion_tokens"]) == ("length", 120)
    assert _most_repeated(text) > GuardLimits().repeats + 1


def test_dry_by_default_ends_the_reply_by_itself(llm_service: LlmService) -> None:
    text, finish, usage, _ = _generate(llm_service, {"max_tokens": 300})
    assert finish == "stop"
    assert usage["completion_tokens"] < 150
    assert _most_repeated(text) <= GuardLimits().repeats + 1


def test_http_clients_see_an_ordinary_stop(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model=DEFAULT_CHAT_MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=300,
        extra_body={"dry_multiplier": 0},
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert 0 < completion.usage.completion_tokens < 150


SEND_KEYS = {
    "type": "function",
    "function": {
        "name": "send_keys",
        "parameters": {
            "type": "object",
            "properties": {"chars": {"type": "string"}},
            "required": ["chars"],
        },
    },
}


def test_a_loop_inside_a_tool_call_is_stopped_and_reported_cut(llm_service: LlmService) -> None:
    """Asked to copy a long "abab…", the model loops inside the call's string argument; the
    guard stops it there, and the unfinished call is no call and no text: "length"."""
    body = {
        "messages": [{"role": "user", "content": "Call send_keys with these chars: " + "ab" * 80}],
        "tools": [SEND_KEYS],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "temperature": 0,
        "max_tokens": 300,
    }
    call = prepare_chat(body, DEFAULT_CHAT_MODEL)
    stream = ChatStream(call)
    chunks = list(llm_service.generate(DEFAULT_CHAT_MODEL, call.engine_request))
    assert any(chunk.get(STOPPED_FIELD) == "repetition" for chunk in chunks)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"  # the JSON is unfinished
    out = [piece for chunk in chunks for piece in stream.feed(chunk)] + stream.finish()
    choice = collect_completion(call, out, stream.usage)["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"] == {"role": "assistant", "content": ""}
    assert stream.usage is not None
    assert stream.usage["completion_tokens"] < 150


def test_a_catalog_entry_overrides_the_dry_default(tmp_path: Path, chat_model_path: Path) -> None:
    """The packaged model registered again with DRY off in its catalog entry: the loop DRY
    broke comes back (and the guard ends it); a bad entry is refused when it loads."""
    catalog = ModelCatalog(tmp_path / "registry.json")
    catalog.add(chat_model_path, alias="no-dry", repetition={"dry_multiplier": 0})
    catalog.add(chat_model_path, alias="bad-dry", repetition={"dry_multiplier": -1})
    assert catalog.entry("no-dry").repetition == {"dry_multiplier": 0}
    scheduler = Scheduler([CpuExecutor()]).start()
    service = LlmService(
        scheduler, catalog, limits=LlmLimits(parallel=1, reserved=0, context_tokens=TEST_CONTEXT)
    )
    try:
        with pytest.raises(InvalidArgument, match=r"bad-dry.*dry_multiplier"):
            service.load("bad-dry")
        call = prepare_chat({"messages": FRANCE, "temperature": 0, "max_tokens": 300}, "no-dry")
        chunks = list(service.generate("no-dry", call.engine_request))
        assert any(chunk.get(STOPPED_FIELD) == "repetition" for chunk in chunks)
    finally:
        scheduler.close()
        service.close()
