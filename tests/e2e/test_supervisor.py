"""``ainos supervisor`` end to end: a real process, the real embedded model shared by two
sub-agents side by side, a fixture repository with a planted hard-coded secret and TODO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.app.supervisor.conftest import AWS_KEY, planted_repo

pytestmark = pytest.mark.slow

_TIMEOUT = 300


def _supervisor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ainos", "supervisor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_comprehensive_code_review_names_the_secret_and_the_todo(tmp_path: Path) -> None:
    repo = planted_repo(tmp_path / "repo")
    done = _supervisor(
        "Comprehensive code review", "--agents", "code-reviewer,security-auditor", cwd=repo
    )
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert report.startswith("# Supervisor report: Comprehensive code review")
    # The planted secret, by place and kind, never by value.
    assert "`src/app.py:4` — AWS access key id" in report
    assert AWS_KEY not in report
    # The planted TODO.
    assert "`src/app.py:9` — TODO: validate the command before running it" in report
    assert "2 completed, 0 failed" in report
    assert "[code-reviewer] done" in done.stderr
    assert "[security-auditor] done" in done.stderr


def test_json_report_records_each_sub_agent(tmp_path: Path) -> None:
    repo = planted_repo(tmp_path / "repo")
    done = _supervisor("Security audit", "--json", "--agents", "sec-audit", "--realtime", cwd=repo)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (agent,) = report["agents"]
    assert agent["status"] == "completed"
    assert agent["output_tokens"] > 0  # the embedded model explained the findings
    assert agent["first_token_s"] is not None
    assert {f["check"] for f in report["findings"]} == {"secrets", "dangerous-calls"}
