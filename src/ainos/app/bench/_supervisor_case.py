"""One case of ``ainos bench supervisor``, run in a process of its own::

    python -m ainos.app.bench._supervisor_case {parallel|sequential|exec} --repo PATH --agents A,B

prints one JSON object on stdout (:func:`run_case`'s) and, on stderr, a line
``ainos-bench-progress DONE TOTAL`` each time a sub-agent or a process finishes.

- ``parallel`` / ``sequential``: ``run_supervisor`` with that strategy and the agents named,
  as ``ainos supervisor --agents … --strategy …`` runs it: the model the configuration names
  (by default the embedded one, in this process: no daemon answers in the bench's
  ``AINOS_HOME``), the conversation store, :data:`REQUEST`.
- ``exec``: one ``ainos exec --skip-git-repo-check -C REPO --json PROMPT`` per agent, all
  started at once (each prompt what that agent does, as a user would type it:
  :data:`EXEC_PROMPTS`), waited for; each process's wall time, CPU time and peak RSS are read
  as it is reaped (``os.wait4``), its JSONL events from a file.

Only the standard library is imported at the top: the ``exec`` case's own process stays a
thin launcher.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ainos.app.bench._process import PROGRESS_PREFIX, report_progress

__all__ = [
    "CASES",
    "EXEC_PROMPTS",
    "PROGRESS_PREFIX",
    "REQUEST",
    "exec_case",
    "main",
    "run_case",
    "supervisor_case",
]

CASES = ("parallel", "sequential", "exec")
# What the supervisor cases are asked (every sub-agent gets it, with its own goal).
REQUEST = "Comprehensive code review"
# What each agent does, as a user would type it to `ainos exec`.
EXEC_PROMPTS: Mapping[str, str] = {
    "code-reviewer": "Review this codebase for code quality",
    "security-auditor": "Audit this codebase for hard-coded secrets and dangerous calls",
    "test-writer": "Which public functions of this codebase have no tests?",
    "researcher": "Research how this codebase is organised",
}

_ERROR_CHARS = 300
_TOOL_ITEMS = ("mcp_tool_call", "command_execution", "file_change")


class _Progress:
    """Counts finished sub-agents (from any thread) and says so on stderr."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self._total = total
        self._done = 0
        self._stream = stream
        self._lock = threading.Lock()

    def step(self) -> None:
        with self._lock:
            self._done = min(self._total, self._done + 1)
            report_progress(self._stream, self._done, self._total)


def _peak_rss_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _short(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


# -- the supervisor -------------------------------------------------------------------------


def supervisor_case(
    strategy: str, repo: Path, agents: Sequence[str], progress: _Progress | None = None
) -> dict[str, Any]:
    """``run_supervisor`` on ``repo`` with ``strategy`` and ``agents``, in this process."""
    from ainos.app.agent import ConversationStore, load_config
    from ainos.app.supervisor import SupervisorOptions, SupervisorRun, run_supervisor
    from ainos.protocol.agent import AgentEvent, TurnCompleted, TurnFailed

    def on_event(_agent: str, event: AgentEvent, _at: float) -> None:
        if progress is not None and isinstance(event, TurnCompleted | TurnFailed):
            progress.step()

    config = load_config()  # AINOS_HOME is the bench's: the defaults
    options = SupervisorOptions(cwd=repo, agents=tuple(agents), strategy=strategy)
    began = time.perf_counter()
    with ConversationStore() as store:
        report = run_supervisor(
            REQUEST, options, config, store=store, watch=SupervisorRun(on_event=on_event)
        )
    work = time.perf_counter() - began
    rows = []
    for result in report.results:
        since_request = (
            None
            if result.first_token_s is None or not result.started_at
            else result.started_at - report.started_at + result.first_token_s
        )
        rows.append(
            {
                "agent": result.agent,
                "status": result.status,
                "seconds": result.seconds,
                "first_token_s": result.first_token_s,
                "first_token_since_request_s": since_request,
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
                "findings": len(result.findings),
                "error": _short(result.error),
            }
        )
    return {
        "case": strategy,
        "model": config.model,
        "planned_by": report.planned_by,
        "work_s": work,
        "peak_rss_bytes": _peak_rss_self(),
        "agents": rows,
    }


# -- N `ainos exec` processes ---------------------------------------------------------------


def exec_command(repo: Path, prompt: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ainos",
        "exec",
        "--skip-git-repo-check",
        "-C",
        str(repo),
        "--json",
        prompt,
    ]


def _read_events(path: Path) -> dict[str, Any]:
    """What one process's JSONL says: its usage, tool calls, answer and failure."""
    found: dict[str, Any] = {
        "completed": False,
        "input_tokens": 0,
        "output_tokens": 0,
        "tool_calls": 0,
        "answer_chars": 0,
        "error": None,
    }
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        raw_item = event.get("item")
        item: dict[str, Any] = raw_item if isinstance(raw_item, dict) else {}
        item_type = item.get("type")
        if kind == "turn.completed":
            usage = event.get("usage") or {}
            found["completed"] = True
            found["input_tokens"] = int(usage.get("input_tokens", 0))
            found["output_tokens"] = int(usage.get("output_tokens", 0))
        elif kind == "turn.failed":
            found["error"] = str((event.get("error") or {}).get("message", "turn failed"))
        elif kind == "error":
            found["error"] = str(event.get("message", "error"))
        elif kind == "item.completed" and item_type == "agent_message":
            found["answer_chars"] = len(str(item.get("text", "")))
        elif kind == "item.completed" and item_type in _TOOL_ITEMS:
            found["tool_calls"] += 1
    return found


def run_error(code: int, events: Mapping[str, Any], jsonl: Path, stderr: Path) -> str | None:
    """Why one ``ainos exec`` run failed (None when it did not): its own error event, else
    the last line it wrote to stderr, else — exit 0 without ``turn.completed`` — the last
    event it printed."""
    error: str | None = events["error"]
    if error is not None:
        return error
    if code != 0:
        return _tail(stderr) or f"exit code {code}"
    if not events["completed"]:
        return f"no turn.completed event; the last: {_tail(jsonl) or '(no events)'}"
    return None


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return text.splitlines()[-1] if text else ""


def exec_case(
    repo: Path, agents: Sequence[str], progress: _Progress | None = None
) -> dict[str, Any]:
    """One ``ainos exec`` per agent, started at once; from starting them to the last exit."""
    with tempfile.TemporaryDirectory(prefix="ainos-bench-exec-") as scratch:
        logs = Path(scratch)
        running: dict[int, tuple[str, float, subprocess.Popen[bytes]]] = {}
        ended: dict[int, tuple[float, int, float, int]] = {}
        began = time.perf_counter()
        try:
            for agent in agents:
                with (
                    (logs / f"{agent}.jsonl").open("wb") as out,
                    (logs / f"{agent}.stderr").open("wb") as err,
                ):
                    process = subprocess.Popen(
                        exec_command(repo, EXEC_PROMPTS[agent]),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                    )
                running[process.pid] = (agent, time.perf_counter(), process)
            while len(ended) < len(running):
                pid, status, usage = os.wait4(-1, 0)
                now = time.perf_counter()
                if pid not in running:
                    continue
                code = os.waitstatus_to_exitcode(status)
                running[pid][2].returncode = code  # reaped here: Popen must not wait again
                cpu = usage.ru_utime + usage.ru_stime
                ended[pid] = (now, code, cpu, usage.ru_maxrss * 1024)
                if progress is not None:
                    progress.step()
        finally:
            for pid, (_, _, process) in running.items():
                if pid not in ended and process.poll() is None:
                    process.kill()
                    process.wait()
        work = time.perf_counter() - began
        rows = []
        for pid, (agent, started, _) in running.items():
            finished, code, cpu, rss = ended[pid]
            events = _read_events(logs / f"{agent}.jsonl")
            error = run_error(code, events, logs / f"{agent}.jsonl", logs / f"{agent}.stderr")
            rows.append(
                {
                    "agent": agent,
                    "prompt": EXEC_PROMPTS[agent],
                    "status": "completed" if code == 0 and events["completed"] else "failed",
                    "seconds": finished - started,
                    "exit_code": code,
                    "cpu_s": cpu,
                    "peak_rss_bytes": rss,
                    "input_tokens": events["input_tokens"],
                    "output_tokens": events["output_tokens"],
                    "tool_calls": events["tool_calls"],
                    "answer_chars": events["answer_chars"],
                    "error": _short(error),
                }
            )
    return {
        "case": "exec",
        "model": None,
        "planned_by": None,
        "work_s": work,
        # They ran at once: the sum of their peaks (and this launcher's own).
        "peak_rss_bytes": _peak_rss_self() + sum(r["peak_rss_bytes"] for r in rows),
        "agents": rows,
    }


def run_case(
    case: str, repo: Path, agents: Sequence[str], progress: _Progress | None = None
) -> dict[str, Any]:
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}: expected one of {', '.join(CASES)}")
    unknown = [a for a in agents if a not in EXEC_PROMPTS]
    if unknown:
        raise ValueError(f"no prompt for the agents {', '.join(unknown)}")
    if case == "exec":
        return exec_case(repo, agents, progress)
    return supervisor_case(case, repo, agents, progress)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ainos.app.bench._supervisor_case")
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--repo", type=Path, required=True, help="the workspace")
    parser.add_argument("--agents", required=True, help="comma-separated agent names")
    args = parser.parse_args(argv)
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    if not agents:
        parser.error("--agents names no agent")
    document = run_case(args.case, args.repo, agents, _Progress(len(agents), sys.stderr))
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
