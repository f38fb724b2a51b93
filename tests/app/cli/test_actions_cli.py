"""``ainos actions``: data on stdout, one clear line on stderr for every mistake."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ainos.ai.actions import user_actions_dir
from ainos.app.cli import main

BUILTINS = [
    "Ainos.AnalyzeCodebase",
    "Ainos.Codex",
    "Ainos.ConvertTable",
    "Ainos.CountWords",
    "Ainos.DescribePhoto",
    "Ainos.SearchFiles",
    "Ainos.SummarizeText",
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["actions", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("ainos: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_list_shows_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "list")
    assert code == 0
    for action_id in BUILTINS:
        assert action_id in out
    code, out, _ = run(capsys, "list", "--json")
    assert [a["id"] for a in json.loads(out)] == BUILTINS
    assert all(a["available"] for a in json.loads(out))


def test_list_for_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "list", "--text", "some words", "--json")
    assert code == 0
    found = {a["id"]: a for a in json.loads(out)}
    assert set(found) == {
        "Ainos.Codex",
        "Ainos.ConvertTable",
        "Ainos.CountWords",
        "Ainos.SearchFiles",
        "Ainos.SummarizeText",
    }
    assert found["Ainos.CountWords"]["description"] == 'Count the words in "some words"'
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"")
    code, out, _ = run(capsys, "list", "--for", str(photo), "--json")
    assert [a["id"] for a in json.loads(out)] == ["Ainos.AnalyzeCodebase", "Ainos.DescribePhoto"]
    code, out, err = run(capsys, "list", "--for", str(tmp_path / "missing"))
    assert code == 2
    assert _error_line(err) == f"ainos: error: no such file or directory: {tmp_path / 'missing'}"


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "Ainos.SummarizeText", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["id"] == "Ainos.SummarizeText"
    assert shown["outputs"] == [{"name": "Summary", "kind": "StreamingText"}]
    code, out, _ = run(capsys, "show", "Ainos.SummarizeText")
    assert "overload 2" in out
    code, out, err = run(capsys, "show", "Ainos.Summarize")
    assert code == 1
    assert out == ""
    assert "no action 'Ainos.Summarize' (did you mean Ainos.SummarizeText?)" in _error_line(err)


def test_invoke_prints_tables_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invoke", "Ainos.CountWords", "--input", "Text=one two three")
    assert code == 0
    assert "Words" in out
    assert "3 words in text" in out
    assert "── Counts ──" in err  # names of several outputs go to stderr, not into the data
    code, out, _ = run(capsys, "invoke", "Ainos.CountWords", "-i", "Text=one two", "--json")
    outcome = json.loads(out)
    assert outcome["result"] == "Success"
    assert outcome["outputs"]["Summary"]["text"] == "2 words in text"
    assert isinstance(outcome["invocationId"], int)


def test_invoke_streams_the_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text(
        "Rivers carry water to the sea. Rivers shape valleys over time. A cat slept. "
        "Rivers flood in spring. Fish live in rivers. Rivers feed farms with water."
    )
    code, out, _ = run(capsys, "invoke", "Ainos.SummarizeText", "-i", f"Text=@{article}")
    assert code == 0
    assert out.startswith("Rivers carry water to the sea.")
    assert out.endswith("\n")
    assert "cat" not in out
    code, out, _ = run(
        capsys, "invoke", "Ainos.SummarizeText", "-i", f"Document={article}", "--json"
    )
    summary = json.loads(out)["outputs"]["Summary"]
    assert summary["kind"] == "StreamingText"
    assert summary["isComplete"] is True


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["invoke", "Ainos.CountWords", "-i", "Txt=x"],
            2,
            "Ainos.CountWords has no input 'Txt' (inputs: Text, Document)",
        ),
        (["invoke", "Ainos.CountWords", "-i", "Text"], 2, "--input takes NAME=VALUE, got 'Text'"),
        (
            ["invoke", "Ainos.CountWords", "-i", "Text=a", "-i", "Text=b"],
            2,
            "--input Text is given 2 times",
        ),
        (
            ["invoke", "Ainos.CountWords"],
            2,
            "Ainos.CountWords takes (Text: Text) or (Document: Document); got ()",
        ),
        (
            ["invoke", "Ainos.DescribePhoto", "-i", "Photo=/no/such.jpg"],
            2,
            "--input Photo: no such file or directory",
        ),
        (
            ["invoke", "Ainos.CountWords", "-i", 'Text={"kind": "Text"}'],
            2,
            "--input Text.text: missing",
        ),
        (["invoke", "Nope.Nothing"], 1, "no action 'Nope.Nothing'"),
        (["feedback", "Ainos.CountWords", "meh"], 2, "feedback is positive or negative, not 'meh'"),
        (["history", "--limit", "0"], 2, "--limit must be at least 1"),
    ],
)
def test_mistakes_give_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, *args)
    assert got == code
    assert out == ""
    assert message in _error_line(err)


def _garbage_action() -> None:
    directory = user_actions_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "garbage.py").write_text("print('garbage!')")
    definition = {
        "version": 3,
        "actions": [
            {
                "id": "Cmd.Garbage",
                "description": "prints garbage",
                "inputs": [],
                "outputs": [{"name": "Out", "kind": "Text"}],
                "invocation": {"type": "Command", "command": [sys.executable, "garbage.py"]},
            }
        ],
    }
    (directory / "garbage.json").write_text(json.dumps(definition))


def test_a_failed_invocation_reports_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    _garbage_action()
    code, out, err = run(capsys, "invoke", "Cmd.Garbage", "--json")
    assert code == 1
    outcome = json.loads(out)
    assert outcome["result"] == "Unsupported"
    assert "not JSON: 'garbage!'" in outcome["extendedError"]
    assert _error_line(err).startswith("ainos: error: Cmd.Garbage: Unsupported: ")
    code, out, _ = run(capsys, "history", "Cmd.Garbage", "--json")
    (record,) = json.loads(out)
    assert record["result"] == "Unsupported"


def test_feedback_and_history(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "invoke", "Ainos.CountWords", "-i", "Text=hello")
    code, _, err = run(capsys, "feedback", "Ainos.CountWords", "positive")
    assert code == 0
    assert "recorded positive feedback for Ainos.CountWords (invocation 1)" in err
    code, out, _ = run(capsys, "history", "--feedback", "--json")
    (record,) = json.loads(out)
    assert (record["actionId"], record["kind"], record["invocationId"]) == (
        "Ainos.CountWords",
        "Positive",
        1,
    )
    code, out, _ = run(capsys, "history")
    assert "Ainos.CountWords" in out
    assert "Success" in out
    code, _, err = run(capsys, "feedback", "Ainos.CountWords", "negative", "--invocation", "99")
    assert code == 1
    assert "has no invocation 99" in _error_line(err)


def test_disable_and_enable(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "disable", "Ainos.CountWords")[0] == 0
    code, out, err = run(capsys, "invoke", "Ainos.CountWords", "-i", "Text=x")
    assert code == 1
    assert "Unavailable: Ainos.CountWords is turned off" in _error_line(err)
    code, out, _ = run(capsys, "list", "--text", "x", "--json")
    assert "Ainos.CountWords" not in [a["id"] for a in json.loads(out)]
    assert run(capsys, "enable", "Ainos.CountWords")[0] == 0
    assert run(capsys, "invoke", "Ainos.CountWords", "-i", "Text=x")[0] == 0


def test_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "version": 2,
                "actions": [
                    {
                        "id": "A.B",
                        "description": "d",
                        "inputs": [],
                        "invocation": {"type": "EntryPoint"},
                    }
                ],
            }
        )
    )
    code, out, err = run(capsys, "validate", str(good))
    assert (code, out) == (0, "")
    assert "ok, 1 actions (schema 2)" in err
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"version": 3, "actions": [{"id": "A.C", "description": 5, "inputs": []}]})
    )
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 2
    assert out.splitlines() == [
        f"{bad}: $.actions[0].description: expected a string, got a number",
        f"{bad}: $.actions[0].invocation: missing "
        "(how the action is run: type and uri, module, command …)",
    ]
    assert _error_line(err) == "ainos: error: 2 problems in the definition files"
    code, out, _ = run(capsys, "validate", str(bad), "--json")
    (report,) = json.loads(out)
    assert [p["path"] for p in report["problems"]] == [
        "$.actions[0].description",
        "$.actions[0].invocation",
    ]


def test_list_warns_about_broken_definitions_but_lists_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = user_actions_dir()
    directory.mkdir(parents=True)
    (directory / "broken.json").write_text("{")
    code, out, err = run(capsys, "list", "--json")
    assert code == 0
    assert [a["id"] for a in json.loads(out)] == BUILTINS
    assert "ainos: warning:" in err
    assert "broken.json: $: invalid JSON at line 1 column 2" in err
