"""``ainos supervisor`` and ``ainos delegate`` as a user runs them, the sub-agents' model
being the fake OpenAI-compatible provider: the report on stdout (Markdown or JSON),
progress on stderr, one line for each mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.app.cli.conftest import RunAinos
from tests.app.mcp_server.fake_provider import FakeChatProvider, Reply, write_agent_config
from tests.app.supervisor.conftest import AWS_KEY, planted_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return planted_repo(tmp_path / "repo")


@pytest.fixture
def provider(ainos_home: Path) -> FakeChatProvider:
    with FakeChatProvider(default=Reply("The hard-coded key matters most.")) as fake:
        write_agent_config(ainos_home, fake.url)
        yield fake  # type: ignore[misc]


def test_supervisor_json_report(
    run_ainos: RunAinos, repo: Path, provider: FakeChatProvider
) -> None:
    done = run_ainos(
        "supervisor", "Comprehensive code review", "-C", str(repo),
        "--agents", "code-reviewer,sec-audit", "--merge", "voting", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["merge"] == "voting"
    assert report["planned_by"] == "agents"
    assert [a["agent"] for a in report["agents"]] == ["code-reviewer", "security-auditor"]
    assert all(a["status"] == "completed" for a in report["agents"])
    places = {(f["check"], f["path"], f["line"]) for f in report["findings"]}
    assert ("secrets", "src/app.py", 4) in places
    assert ("todo", "src/app.py", 9) in places
    assert AWS_KEY not in done.stdout
    assert AWS_KEY not in str(provider.requests)
    assert "supervisor: code-reviewer, security-auditor (chosen by agents)" in done.stderr
    assert "[security-auditor] done" in done.stderr


def test_supervisor_markdown_report_to_a_file(
    run_ainos: RunAinos, repo: Path, provider: FakeChatProvider, tmp_path: Path
) -> None:
    out = tmp_path / "report.md"
    done = run_ainos(
        "supervisor", "Audit for secrets", "-C", str(repo), "--strategy", "sequential",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Supervisor report: Audit for secrets")
    assert out.read_text() == done.stdout
    assert "`src/app.py:4`" in done.stdout


def test_delegate_runs_one_agent(
    run_ainos: RunAinos, repo: Path, provider: FakeChatProvider
) -> None:
    done = run_ainos(
        "delegate", "test-gen", "--goal", "What is untested?", "-C", str(repo), "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (agent,) = report["agents"]
    assert agent["agent"] == "test-writer"
    assert agent["task"] == "What is untested?"
    assert {f["message"] for f in report["findings"]} == {
        "public function run() is not mentioned by any test"
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["supervisor", "x", "--agents", "nobody"], "no agent named 'nobody'"),
        (["supervisor", "x", "--strategy", "fast"], "unknown strategy 'fast'"),
        (["supervisor", "x", "--merge", "best"], "unknown merge strategy 'best'"),
        (["supervisor", "x", "--max-parallel", "0"], "--max-parallel must be at least 1"),
        (["supervisor", "x", "-C", "/nonexistent/dir"], "no such directory"),
        (["supervisor", ""], "give a request"),
        (["delegate", "nobody", "--goal", "x"], "no agent named 'nobody'"),
    ],
)
def test_mistakes_are_one_line(
    run_ainos: RunAinos, ainos_home: Path, args: list[str], message: str
) -> None:
    done = run_ainos(*args)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
