"""``ainos chat`` and ``ainos generate``, run as a user would: in-process (no daemon), and
through a daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ainos.app.bench._daemon import running_daemon

CHAT_MODEL = "smollm2-135m-instruct"
GREEDY = ("--temperature", "0", "--max-tokens", "16")
YES_NO = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ainos: error: ")
    return lines[0]


def _error_last(stderr: str) -> str:
    """The error that ended a run after the model loaded: the last line, the only error one."""
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("ainos: error: "), stderr
    assert not any(line.startswith("ainos: error: ") for line in lines[:-1]), stderr
    assert "Traceback" not in stderr
    return lines[-1]


def test_greedy_chat_is_deterministic(run_ainos: Any) -> None:
    first = run_ainos("chat", "Name a colour.", *GREEDY)
    second = run_ainos("chat", "Name a colour.", *GREEDY)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip()
    assert first.stdout.endswith("\n")
    assert first.stdout == second.stdout
    assert "in-process" in first.stderr


def test_chat_json_is_a_chat_completion(run_ainos: Any) -> None:
    result = run_ainos("chat", "Say hello.", "--json", *GREEDY, "--system", "Be brief.")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["object"] == "chat.completion"
    assert document["model"] == CHAT_MODEL
    choice = document["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    assert choice["finish_reason"] in ("stop", "length")
    usage = document["usage"]
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= 16
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # as the API gives it: with the prompt tokens the KV cache held (none on a fresh load)
    assert usage["prompt_tokens_details"]["cached_tokens"] >= 0


def test_json_schema_constrains_the_output(run_ainos: Any, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(YES_NO))
    result = run_ainos(
        "chat",
        "Is the sky blue?",
        "--json-schema",
        str(schema),
        "--temperature",
        "0",
        "--max-tokens",
        "24",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer"}
    assert answer["answer"] in ("yes", "no")


def test_prompt_from_stdin(run_ainos: Any) -> None:
    result = run_ainos("chat", "-", *GREEDY, input="What is the capital of France?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_generate_json(run_ainos: Any) -> None:
    result = run_ainos("generate", "The capital of France is", "--json", *GREEDY)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"text", "finish_reason", "usage"}
    assert document["text"]
    assert document["finish_reason"] in ("stop", "length")
    assert 0 < document["usage"]["completion_tokens"] <= 16


def test_unknown_model_is_one_line(run_ainos: Any) -> None:
    result = run_ainos("chat", "hi", "--model", "nope")
    assert result.returncode != 0
    assert "no model 'nope'" in _one_error_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--temperature", "9"), "--temperature must be between 0 and 2"),
        (("--max-tokens", "0"), "--max-tokens must be at least 1"),
        (("--top-p", "1.5"), "--top-p must be between 0 and 1"),
        (("--json-schema", "/nonexistent/schema.json"), "cannot read it"),
    ],
)
def test_bad_options_are_one_line(run_ainos: Any, args: tuple[str, ...], expected: str) -> None:
    result = run_ainos("chat", "hi", *args)
    assert result.returncode == 2
    assert expected in _one_error_line(result.stderr)


def test_bad_schema_file_is_one_line(run_ainos: Any, tmp_path: Path) -> None:
    not_json = tmp_path / "schema.json"
    not_json.write_text("{not json")
    result = run_ainos("chat", "hi", "--json-schema", str(not_json))
    assert "not JSON" in _one_error_line(result.stderr)
    not_object = tmp_path / "list.json"
    not_object.write_text("[1, 2]")
    result = run_ainos("generate", "hi", "--json-schema", str(not_object))
    assert "a JSON schema is an object" in _one_error_line(result.stderr)


def test_too_long_a_prompt_ends_in_one_error_line(run_ainos: Any) -> None:
    result = run_ainos("chat", "word " * 9000, "--max-tokens", "4")
    assert result.returncode == 2
    assert "exceeds the available context size" in _error_last(result.stderr)


def test_chat_through_the_daemon(run_ainos: Any) -> None:
    with running_daemon() as daemon:
        socket = ("--socket", str(daemon.socket_path))
        streamed = run_ainos("chat", "Name a colour.", *GREEDY, *socket)
        assert streamed.returncode == 0, streamed.stderr
        assert "through the daemon" in streamed.stderr
        assert streamed.stdout.strip()
        as_json = run_ainos("chat", "Name a colour.", "--json", *GREEDY, *socket)
        document = json.loads(as_json.stdout)
        assert document["choices"][0]["message"]["content"] + "\n" == streamed.stdout
        assert document["usage"]["completion_tokens"] > 0
        unknown = run_ainos("chat", "hi", "--model", "nope", *socket)
        assert unknown.returncode != 0
        assert "no model 'nope'" in _one_error_line(unknown.stderr)
        too_long = run_ainos("chat", "word " * 9000, "--max-tokens", "4", *socket)
        assert too_long.returncode == 2
        assert "exceeds the available context size" in _error_last(too_long.stderr)
