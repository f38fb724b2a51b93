"""``ainos exec`` end to end: a real process, the real embedded model, a fixture repository."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.app.agent.conftest import validate_events

pytestmark = pytest.mark.slow

_EXEC_TIMEOUT = 240


def _fixture_repository(root: Path) -> Path:
    repo = root / "shop"
    (repo / "shop").mkdir(parents=True)
    (repo / "web").mkdir()
    (repo / "README.md").write_text(
        "# shop\n\nA tiny shop: a Python inventory and a JavaScript storefront.\n"
    )
    (repo / "AGENTS.md").write_text("Answer in English.\n")
    (repo / "shop" / "__init__.py").write_text('"""The shop."""\n')
    (repo / "shop" / "inventory.py").write_text(
        "# TODO: persist the stock\n"
        "STOCK = {}\n\n\n"
        "def add(item, count):\n"
        "    if count <= 0:\n"
        "        raise ValueError(count)\n"
        "    STOCK[item] = STOCK.get(item, 0) + count\n"
        + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(12))
    )
    (repo / "shop" / "prices.py").write_text(
        "# FIXME: prices are floats\nPRICES = {'apple': 0.5}\n"
    )
    (repo / "web" / "app.js").write_text(
        "// TODO: render the cart\nfunction cart() {\n  return [];\n}\n"
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _exec(
    *args: str, cwd: Path, timeout: float = _EXEC_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ainos", "exec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return _fixture_repository(tmp_path)


def test_analyze_this_codebase_quotes_the_measured_figures(repo: Path) -> None:
    done = _exec("Analyze this codebase", cwd=repo)
    assert done.returncode == 0, done.stderr
    answer = done.stdout
    # The figures as Ainos.AnalyzeCodebase measured them.
    assert "Python" in answer
    assert "JavaScript" in answer
    assert "Largest file: shop/inventory.py" in answer
    assert "TODO markers: 3 (FIXME 1, TODO 2)" in answer
    # Progress went to stderr, each tool call named.
    assert "actions.action_Ainos_AnalyzeCodebase" in done.stderr
    assert "ainos.list_dir" in done.stderr


def test_json_events_follow_codex_schema_and_are_stored(repo: Path) -> None:
    done = _exec("--json", "Analyze this codebase", cwd=repo)
    assert done.returncode == 0, done.stderr
    events = validate_events(_events(done.stdout))
    types = [e["type"] for e in events]
    assert types[0] == "thread.started"
    assert types[1] == "turn.started"
    assert types[-1] == "turn.completed"
    usage = events[-1]["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    messages = [e["item"] for e in events if e["type"] == "item.completed"]
    assert messages[-1]["type"] == "agent_message"
    calls = [i for i in messages if i["type"] == "mcp_tool_call"]
    assert {c["tool"] for c in calls} >= {"action_Ainos_AnalyzeCodebase", "list_dir", "grep"}
    thread = events[0]["thread_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "ainos", "conversations", "show", thread, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    stored = _events(shown.stdout)
    assert [e for e in stored if e["type"] != "user_message"] == events[1:]


def test_kill_mid_turn_leaves_a_resumable_conversation(repo: Path) -> None:
    thread = None
    with subprocess.Popen(
        [sys.executable, "-m", "ainos", "exec", "--json", "Analyze this codebase"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            event = json.loads(line)
            thread = thread or event.get("thread_id")
            if event["type"] == "item.completed" and event["item"].get("tool") == "list_dir":
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    listed = subprocess.run(
        [sys.executable, "-m", "ainos", "conversations", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    threads = json.loads(listed.stdout)
    assert [t["id"] for t in threads] == [thread]
    assert threads[0]["interrupted"] is True
    resumed = _exec("--json", "resume", "--last", "Which file is the largest?", cwd=repo)
    assert resumed.returncode == 0, resumed.stderr
    events = validate_events(_events(resumed.stdout))
    assert events[0] == {"type": "thread.started", "thread_id": thread}
    assert events[-1]["type"] == "turn.completed"


def test_bad_input_is_one_line(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    done = _exec("hello", cwd=outside)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"ainos: error: {outside} is not inside a git repository; pass --skip-git-repo-check "
        "to run here anyway"
    ]
    done = _exec("-s", "sideways", "hello", cwd=repo)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "sandbox_mode" in done.stderr
    done = _exec("resume", "no-such-thread", "hello", cwd=repo)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert "no-such-thread" in done.stderr


def test_output_schema_last_message_file_and_shorthand(repo: Path, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string"}},
        "required": ["summary"],
        "additionalProperties": False,
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    last = tmp_path / "last.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ainos",
            "Analyze this codebase",  # no command: the prompt of `ainos exec`
            "--output-schema",
            str(schema_file),
            "-o",
            str(last),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=_EXEC_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"summary"}
    assert isinstance(answer["summary"], str)
    assert json.loads(last.read_text()) == answer


def test_prompt_from_stdin(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "exec", "-"],
        cwd=repo,
        input="Which file is the largest?\n",
        capture_output=True,
        text=True,
        timeout=_EXEC_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Largest file: shop/inventory.py" in done.stdout
