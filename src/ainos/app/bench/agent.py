"""The coding agent: "Analyze this codebase" end to end, and what its loop costs per tool call.

Side by side in one run, on a fixture repository generated here (the same files every run,
git-initialised, in a temporary directory, with ``AINOS_HOME`` pointed at another, so the
bench leaves no state behind):

1. **Analyze this codebase**: the real agent (``start_session`` with its actions and the
   conversation store, as ``ainos exec`` composes it) on the embedded model, in-process,
   ``runs`` times. Per run: the turn's wall time, the time inside the model's ``complete``
   calls (a timing proxy around the model), the time in tools (from each item's
   ``item.started`` to its ``item.completed``, stamped as the events arrive), tokens and
   tool calls; the model's load is timed once, apart.
2. **Loop overhead per tool call**: the same tool called ``calls`` times (a) through the
   agent loop, driven by :class:`FakeScriptedModel` whose script is ``calls`` tool-call
   replies then an answer — without a conversation store, and with the SQLite store, which
   writes every event — and (b) as the plain function the tool wraps
   (``_files.read_file`` / ``_files.grep``), the cases taking turns at every repetition.
   Per call: (a) - (b), with and without the fake model's own time (timed too), against
   the goal of at most :data:`GOAL_OVERHEAD_MS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ainos.app.agent import (
    AgentConfig,
    ConversationStore,
    Model,
    ModelChoice,
    ModelReply,
    ModelRequest,
    ModelTraits,
    ToolCall,
    _files,
    load_config,
    open_model,
    start_session,
)
from ainos.app.agent._model import TextSink
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.bench._cpu import cpu_model, machine_busy_seconds
from ainos.errors import AinosError
from ainos.protocol.agent import (
    AgentEvent,
    AgentMessageItem,
    ItemCompleted,
    ItemStarted,
    TurnCompleted,
    TurnFailed,
    Usage,
)

__all__ = [
    "ANALYZE_PROMPT",
    "GOAL_OVERHEAD_MS",
    "TOOLS",
    "AgentBenchResult",
    "AgentBenchSettings",
    "AnalysisResult",
    "AnalysisRun",
    "OverheadResult",
    "OverheadRow",
    "Spread",
    "bench_home",
    "build_fixture_repo",
    "run_agent_bench",
    "run_analysis",
    "run_overhead",
]

Progress = Callable[[str, float], None]

ANALYZE_PROMPT = "Analyze this codebase"
GOAL_OVERHEAD_MS = 5.0  # the loop's own cost per tool call, beyond the tool's
TOOLS = ("read_file", "grep")
# Plans no tool call of its own (no playbook): the script's calls are the turn's only ones.
_OVERHEAD_PROMPT = "Run the scripted steps."
_READ_PATH = "src/ledgerline/journal.py"
_GREP_PATTERN = r"\b(TODO|FIXME)\b"
_WARMUP_CALLS = 10


# -- the fixture repository -----------------------------------------------------------------

_PY_MODULES = (
    "accounts",
    "journal",
    "currency",
    "reports",
    "importers",
    "exporters",
    "rules",
    "budget",
    "storage",
    "reconcile",
    "tax",
    "cli",
)
_TS_MODULES = ("api", "store", "format", "charts", "forms", "router", "session", "table")
_SCRIPTS = ("bootstrap", "release", "lint")
_TODOS = (
    "TODO: handle accounts closed in the middle of a period",
    "FIXME: rounding differs from the bank's by a cent on large sums",
    "TODO: cache the exchange rates per day",
    "TODO(ana): split this once the importers settle",
)


def _python_module(index: int, name: str) -> str:
    """A module of a size and shape that depends on ``index`` only."""
    title = name.capitalize()
    lines = [
        f'"""{title}: part of ledgerline\'s bookkeeping core."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
        "from decimal import Decimal",
        "",
        "",
        "@dataclass",
        f"class {title}Entry:",
        "    account: str",
        "    amount: Decimal",
        '    memo: str = ""',
        "    tags: list[str] = field(default_factory=list)",
        "",
    ]
    for number in range(3 + index % 5):
        lines += [
            "",
            f"def {name}_step_{number}(entries: list[{title}Entry], limit: Decimal) -> Decimal:",
            f'    """Step {number} of the {name} pass: the total of the entries under limit."""',
            "    total = Decimal(0)",
            "    for entry in entries:",
            "        if entry.amount > limit:",
            "            continue",
            f"        if entry.memo and {number} % 2 == 0:",
            "            total += entry.amount * 2",
            "        elif entry.tags:",
            "            total -= entry.amount",
            "        else:",
            "            total += entry.amount",
            "    return total",
        ]
        if (index + number) % 4 == 0:
            lines.insert(len(lines) - 1, f"    # {_TODOS[(index + number) % len(_TODOS)]}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _python_test(name: str) -> str:
    title = name.capitalize()
    return (
        f'"""Tests of ledgerline.{name}."""\n\n'
        "from decimal import Decimal\n\n"
        f"from ledgerline.{name} import {title}Entry, {name}_step_0\n\n\n"
        f"def test_{name}_step_0_sums_entries_under_the_limit() -> None:\n"
        f"    entries = [{title}Entry('cash', Decimal(5)), {title}Entry('bank', Decimal(50))]\n"
        f"    assert {name}_step_0(entries, Decimal(10)) == Decimal(5)\n"
    )


def _typescript_module(index: int, name: str) -> str:
    lines = [
        f"// {name}.ts: the web client's {name} layer.",
        "",
        f"export interface {name.capitalize()}Row {{",
        "  id: string;",
        "  amount: number;",
        "  label?: string;",
        "}",
    ]
    for number in range(2 + index % 4):
        lines += [
            "",
            f"export function {name}Total{number}(rows: {name.capitalize()}Row[]): number {{",
            "  let total = 0;",
            "  for (const row of rows) {",
            f"    if (row.amount < 0 && {number} > 0) {{",
            "      continue;",
            "    }",
            "    total += row.label ? row.amount : row.amount / 2;",
            "  }",
            "  return total;",
            "}",
        ]
        if (index + number) % 3 == 0:
            lines.insert(len(lines) - 2, f"  // {_TODOS[(index * 3 + number) % len(_TODOS)]}")
    return "\n".join(lines) + "\n"


def _shell_script(name: str) -> str:
    return (
        "#!/usr/bin/env bash\n"
        f"# {name}: a helper of the ledgerline repository.\n"
        "set -euo pipefail\n"
        'cd "$(dirname "$0")/.."\n'
        f'echo "{name}: starting"\n'
        "if [ -d .venv ]; then\n    . .venv/bin/activate\nfi\n"
        + ("# TODO: run the web client's checks too\n" if name == "lint" else "")
        + f'echo "{name}: done"\n'
    )


_README = """\
# ledgerline

Ledgerline is a small double-entry bookkeeping library with a web client. It imports bank
statements, applies categorisation rules, reconciles accounts and prints monthly reports.

The Python package lives in `src/ledgerline`, its tests in `tests`; the TypeScript web
client in `web/src`; helper scripts in `scripts`.

## Usage

```
pip install -e .
ledgerline import statement.csv
ledgerline report --month 2024-05
```

## Status

Reconciliation works for one currency; multi-currency support is in progress.
"""

_PYPROJECT = """\
[project]
name = "ledgerline"
version = "0.4.0"
description = "Double-entry bookkeeping with a web client"
requires-python = ">=3.11"
dependencies = ["click>=8", "python-dateutil>=2.8"]

[project.scripts]
ledgerline = "ledgerline.cli:main"

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""

_PACKAGE_JSON = """\
{
  "name": "ledgerline-web",
  "version": "0.4.0",
  "private": true,
  "scripts": {"build": "tsc -p .", "test": "vitest run"},
  "dependencies": {"preact": "^10.19.0"},
  "devDependencies": {"typescript": "^5.4.0", "vitest": "^1.5.0"}
}
"""


def fixture_files() -> dict[str, str]:
    """The fixture repository's files (relative path -> text): the same every run."""
    files = {
        "README.md": _README,
        "pyproject.toml": _PYPROJECT,
        ".gitignore": "build/\n*.log\n.venv/\nnode_modules/\n",
        "web/package.json": _PACKAGE_JSON,
        "web/tsconfig.json": '{"compilerOptions": {"strict": true, "target": "es2022"}}\n',
        "docs/architecture.md": (
            "# Architecture\n\nEntries flow from importers through rules into the journal;\n"
            "reports read the journal. TODO: describe the storage format.\n"
        ),
        "src/ledgerline/__init__.py": '"""ledgerline: double-entry bookkeeping."""\n',
    }
    for index, name in enumerate(_PY_MODULES):
        files[f"src/ledgerline/{name}.py"] = _python_module(index, name)
    for name in _PY_MODULES[:6]:
        files[f"tests/test_{name}.py"] = _python_test(name)
    for index, name in enumerate(_TS_MODULES):
        files[f"web/src/{name}.ts"] = _typescript_module(index, name)
    for name in _SCRIPTS:
        files[f"scripts/{name}.sh"] = _shell_script(name)
    return files


def build_fixture_repo(root: Path) -> Path:
    """The fixture repository written under ``root`` and committed to a new git repository
    (a fixed author and date): the same tree, and the same commit, every run."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, text in fixture_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stamp = "2024-01-01T00:00:00+00:00"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "ledgerline",
        "GIT_AUTHOR_EMAIL": "ledgerline@example.invalid",
        "GIT_COMMITTER_NAME": "ledgerline",
        "GIT_COMMITTER_EMAIL": "ledgerline@example.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for command in (
        ["git", "-c", "init.defaultBranch=main", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "ledgerline 0.4.0"],
    ):
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, check=False)
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip()
            raise AinosError(f"cannot make the fixture repository ({' '.join(command)}): {why}")
    return root


@contextlib.contextmanager
def bench_home() -> Iterator[Path]:
    """A temporary directory, ``AINOS_HOME`` pointed at its ``home`` for the block (and set
    back after): the bench's state — conversations, the runtime's files — goes there."""
    previous = os.environ.get("AINOS_HOME")
    with tempfile.TemporaryDirectory(prefix="ainos-bench-agent-") as scratch:
        os.environ["AINOS_HOME"] = str(Path(scratch) / "home")
        try:
            yield Path(scratch)
        finally:
            if previous is None:
                os.environ.pop("AINOS_HOME", None)
            else:
                os.environ["AINOS_HOME"] = previous


# -- timing ---------------------------------------------------------------------------------


class _TimedModel:
    """A model whose ``complete`` calls are timed (the Model protocol, passed through)."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self.seconds = 0.0
        self.calls = 0

    @property
    def name(self) -> str:
        return self._model.name

    @property
    def traits(self) -> ModelTraits:
        return self._model.traits

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        started = time.perf_counter()
        try:
            return self._model.complete(request, on_text)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


@dataclass(frozen=True)
class Spread:
    """The median of some measurements, and their least and greatest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0)
        return cls(float(statistics.median(values)), float(min(values)), float(max(values)))


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _own_cpu_seconds() -> float:
    """This process's CPU time, its finished children's (ripgrep, git) included."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class _Noise:
    """CPU the rest of the machine used while something was measured: the noise in its
    figures (llama.cpp's threads slow down many times when they share cores with other
    work), as a share of all cores."""

    other_s: float = 0.0
    elapsed_s: float = 0.0

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        began, ours, machine = time.perf_counter(), _own_cpu_seconds(), machine_busy_seconds()
        try:
            yield
        finally:
            busy = machine_busy_seconds() - machine
            self.other_s += max(0.0, busy - (_own_cpu_seconds() - ours))
            self.elapsed_s += time.perf_counter() - began

    def __add__(self, other: _Noise) -> _Noise:
        return _Noise(self.other_s + other.other_s, self.elapsed_s + other.elapsed_s)

    @property
    def fraction(self) -> float:
        cores = psutil.cpu_count() or 1
        return min(1.0, self.other_s / (self.elapsed_s * cores)) if self.elapsed_s > 0 else 0.0


# -- 1. "Analyze this codebase" -------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisRun:
    """One turn of the real agent on the fixture."""

    setup_s: float  # start_session: tools, actions, a new stored thread
    wall_s: float  # the turn, from run_turn to its last event
    model_s: float  # inside the model's complete calls
    model_calls: int
    tool_s: float  # from each item.started to its item.completed
    tool_calls: int
    input_tokens: int
    output_tokens: int
    completed: bool  # ended in turn.completed (not turn.failed)
    answer_chars: int
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile, of all cores

    @property
    def model_share(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    @property
    def other_s(self) -> float:
        """Neither the model nor a tool: the loop, the playbook, the store."""
        return self.wall_s - self.model_s - self.tool_s


@dataclass(frozen=True)
class AnalysisResult:
    model: str
    prompt: str
    fixture_files: int
    load_s: float  # open_model: the runtime started and the model loaded, once
    runs: list[AnalysisRun]

    def spreads(self) -> dict[str, Spread]:
        runs = self.runs
        return {
            "setup_ms": Spread.of([1000 * r.setup_s for r in runs]),
            "wall_ms": Spread.of([1000 * r.wall_s for r in runs]),
            "model_ms": Spread.of([1000 * r.model_s for r in runs]),
            "tool_ms": Spread.of([1000 * r.tool_s for r in runs]),
            "other_ms": Spread.of([1000 * r.other_s for r in runs]),
            "model_share": Spread.of([r.model_share for r in runs]),
            "model_calls": Spread.of([r.model_calls for r in runs]),
            "tool_calls": Spread.of([r.tool_calls for r in runs]),
            "input_tokens": Spread.of([r.input_tokens for r in runs]),
            "output_tokens": Spread.of([r.output_tokens for r in runs]),
            "other_cpu_fraction": Spread.of([r.other_cpu_fraction for r in runs]),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "fixture_files": self.fixture_files,
            "load_ms": 1000 * self.load_s,
            "runs": [
                {**asdict(r), "model_share": r.model_share, "other_s": r.other_s} for r in self.runs
            ],
            "summary": {name: asdict(spread) for name, spread in self.spreads().items()},
        }


@dataclass
class _Watched:
    """What a turn's events showed, stamped as they arrived."""

    tool_s: float = 0.0
    tool_calls: int = 0
    usage: Usage | None = None
    answer: str = ""

    def see(self, events: Iterator[AgentEvent]) -> None:
        started_at: dict[str, float] = {}
        for event in events:
            now = time.perf_counter()
            if isinstance(event, ItemStarted):
                started_at[event.item.id] = now
            elif isinstance(event, ItemCompleted):
                since = started_at.pop(event.item.id, None)
                if since is not None:
                    self.tool_s += now - since
                    self.tool_calls += 1
                if isinstance(event.item, AgentMessageItem):
                    self.answer = event.item.text
            elif isinstance(event, TurnCompleted):
                self.usage = event.usage
            elif isinstance(event, TurnFailed):
                raise AinosError(f"the agent's turn failed: {event.error.message}")


def _analysis_turn(model: _TimedModel, config: AgentConfig, repo: Path) -> AnalysisRun:
    """One "Analyze this codebase" as ``ainos exec`` runs it: a new stored thread."""
    model.seconds, model.calls = 0.0, 0
    watched = _Watched()
    noise = _Noise()
    with ConversationStore() as store:
        began = time.perf_counter()
        run = start_session(model, config, repo, store=store)
        setup = time.perf_counter() - began
        with noise.measuring():
            began = time.perf_counter()
            watched.see(run.run_turn(ANALYZE_PROMPT))
            wall = time.perf_counter() - began
    usage = watched.usage or Usage()
    return AnalysisRun(
        setup_s=setup,
        wall_s=wall,
        model_s=model.seconds,
        model_calls=model.calls,
        tool_s=watched.tool_s,
        tool_calls=watched.tool_calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        completed=watched.usage is not None,
        answer_chars=len(watched.answer),
        other_cpu_fraction=noise.fraction,
    )


def run_analysis(
    *, runs: int, progress: Progress | None = None, scratch: Path | None = None
) -> AnalysisResult:
    """ "Analyze this codebase" ``runs`` times on the embedded model, in this process.

    With ``scratch`` (a directory whose ``home`` ``AINOS_HOME`` already names) the fixture
    goes there; otherwise a temporary one is made and removed."""
    if scratch is None:
        with bench_home() as made:
            return run_analysis(runs=runs, progress=progress, scratch=made)
    report = progress or (lambda _label, _fraction: None)
    repo = build_fixture_repo(scratch / "analysis-repo")
    config = load_config()  # AINOS_HOME is the bench's: the defaults, no user's config
    report("loading the model", 0.0)
    began = time.perf_counter()
    with open_model(config, ModelChoice()) as opened:
        model = _TimedModel(opened)
        _ = model.traits  # a local model reads its engine's window here
        load = time.perf_counter() - began
        report("loading the model", 1.0)
        measured: list[AnalysisRun] = []
        label = f"{ANALYZE_PROMPT.lower()}, {runs} runs"
        report(label, 0.0)
        for index in range(runs):
            measured.append(_analysis_turn(model, config, repo))
            report(label, (index + 1) / runs)
        name = model.name
    return AnalysisResult(
        model=name,
        prompt=ANALYZE_PROMPT,
        fixture_files=len(fixture_files()),
        load_s=load,
        runs=measured,
    )


# -- 2. the loop's overhead per tool call ---------------------------------------------------


def _arguments(tool: str, calls: int) -> list[dict[str, Any]]:
    """One call's arguments each, all different (the loop answers a repeated call from the
    turn's earlier result without running the tool), the tool's work the same: the file has
    fewer lines than any limit; the second alternative of the pattern never matches."""
    if tool == "read_file":
        return [{"path": _READ_PATH, "limit": 200 + i} for i in range(calls)]
    if tool == "grep":
        return [{"pattern": f"{_GREP_PATTERN}|zqx{i:07d}"} for i in range(calls)]
    raise AinosError(f"no overhead case for the tool {tool!r}")


def _direct(tool: str, repo: Path, arguments: Sequence[Mapping[str, Any]]) -> float:
    """(b): the plain function the tool wraps, called with each call's arguments."""
    if tool == "read_file":
        path = repo / _READ_PATH
        began = time.perf_counter()
        for args in arguments:
            _files.read_file(path, offset=1, limit=int(args["limit"]))
        return time.perf_counter() - began
    began = time.perf_counter()
    for args in arguments:
        _files.grep(str(args["pattern"]), repo)
    return time.perf_counter() - began


def _direct_pair(
    tool: str, repo: Path, arguments: Sequence[Mapping[str, Any]]
) -> tuple[float, float]:
    return _direct(tool, repo, arguments), 0.0


def _script(tool: str, arguments: Sequence[Mapping[str, Any]]) -> list[ModelReply]:
    replies = [
        ModelReply(
            tool_calls=(ToolCall(f"call_{i}", tool, dict(args)),), finish_reason="tool_calls"
        )
        for i, args in enumerate(arguments)
    ]
    return [*replies, ModelReply(text="done")]


def _through_loop(
    tool: str,
    repo: Path,
    config: AgentConfig,
    arguments: Sequence[Mapping[str, Any]],
    store: ConversationStore | None,
) -> tuple[float, float]:
    """(a): one turn whose model asks for each call in turn, then answers; (turn wall time,
    time inside the fake model)."""
    fake = FakeScriptedModel(_script(tool, arguments), name="bench-scripted")
    model = _TimedModel(fake)
    run = start_session(model, config, repo, store=store, with_actions=False)
    tool_items = 0
    completed = False
    began = time.perf_counter()
    for event in run.run_turn(_OVERHEAD_PROMPT):
        if isinstance(event, ItemStarted):
            tool_items += 1
        elif isinstance(event, TurnCompleted):
            completed = True
    wall = time.perf_counter() - began
    if not completed or tool_items != len(arguments) or fake.remaining:
        raise AinosError(
            f"the scripted turn did not run as planned: {tool_items} of {len(arguments)} "
            f"tool calls, {fake.remaining} replies left, completed: {completed}"
        )
    return wall, model.seconds


@dataclass(frozen=True)
class OverheadRow:
    """One tool through the loop (with or without the store) vs called directly; seconds
    per repetition for all ``calls`` calls."""

    tool: str
    store: bool
    calls: int
    loop_s: tuple[float, ...]  # (a): the turn
    fake_s: tuple[float, ...]  # of which inside the fake model
    direct_s: tuple[float, ...]  # (b): the plain function, as many calls
    other_cpu_fraction: float = 0.0  # the rest of the machine's CPU use meanwhile (noise)

    @property
    def repeats(self) -> int:
        return len(self.loop_s)

    @property
    def loop_ms(self) -> float:
        """(a) per call: the turn's time / calls (median of the repetitions)."""
        return 1000 * _median(self.loop_s) / self.calls

    @property
    def fake_ms(self) -> float:
        return 1000 * _median(self.fake_s) / self.calls

    @property
    def direct_ms(self) -> float:
        return 1000 * _median(self.direct_s) / self.calls

    @property
    def overhead_ms(self) -> float:
        """(a) - (b), the fake model's time included."""
        return self.loop_ms - self.direct_ms

    @property
    def net_overhead_ms(self) -> float:
        """(a) - fake - (b): the loop's own cost per call."""
        return self.loop_ms - self.fake_ms - self.direct_ms

    @property
    def ratio(self) -> float:
        """(a) / (b)."""
        return self.loop_ms / self.direct_ms if self.direct_ms else 0.0

    @property
    def net_ratio(self) -> float:
        """((a) - fake) / (b)."""
        return (self.loop_ms - self.fake_ms) / self.direct_ms if self.direct_ms else 0.0

    @property
    def met(self) -> bool:
        return self.net_overhead_ms <= GOAL_OVERHEAD_MS

    def to_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "repeats": self.repeats,
            "loop_ms_per_call": self.loop_ms,
            "fake_ms_per_call": self.fake_ms,
            "direct_ms_per_call": self.direct_ms,
            "overhead_ms_per_call": self.overhead_ms,
            "net_overhead_ms_per_call": self.net_overhead_ms,
            "ratio_to_direct": self.ratio,
            "net_ratio_to_direct": self.net_ratio,
            "goal_met": self.met,
        }


@dataclass(frozen=True)
class OverheadResult:
    calls: int
    repeats: int
    rows: list[OverheadRow] = field(default_factory=list)

    def row(self, tool: str, store: bool) -> OverheadRow:
        return next(r for r in self.rows if r.tool == tool and r.store == store)

    def to_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "repeats": self.repeats,
            "goal_overhead_ms_per_call": GOAL_OVERHEAD_MS,
            "rows": [row.to_dict() for row in self.rows],
        }


def run_overhead(
    *,
    calls: int,
    repeats: int,
    tools: Sequence[str] = TOOLS,
    progress: Progress | None = None,
    scratch: Path | None = None,
) -> OverheadResult:
    """For each tool: ``calls`` calls through the loop without a store, with the SQLite
    store, and directly; ``repeats`` repetitions, the three cases taking turns (a different
    one first each time), after a short warm-up of each."""
    if scratch is None:
        with bench_home() as made:
            return run_overhead(
                calls=calls, repeats=repeats, tools=tools, progress=progress, scratch=made
            )
    if calls < 1 or repeats < 1:
        raise AinosError(f"calls and repeats must be 1 or more, got {calls} and {repeats}")
    report = progress or (lambda _label, _fraction: None)
    repo = build_fixture_repo(scratch / "overhead-repo")
    # Budgets that let the turn make every call; the default model: nothing is loaded.
    config = dataclasses.replace(
        load_config(), max_steps=calls + 2, max_tokens=10**9, max_seconds=24 * 3600.0
    )
    label = f"loop overhead, {calls} calls"
    report(label, 0.0)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    noise: dict[tuple[str, str], _Noise] = {}
    with ConversationStore() as store:
        for tool in tools:
            warmup = _arguments(tool, min(_WARMUP_CALLS, calls))
            _direct(tool, repo, warmup)
            _through_loop(tool, repo, config, warmup, None)
            _through_loop(tool, repo, config, warmup, store)
        done = 0
        for rep in range(repeats):
            for tool in tools:
                arguments = _arguments(tool, calls)
                runners: list[tuple[str, Callable[[], tuple[float, float]]]] = [
                    ("direct", functools.partial(_direct_pair, tool, repo, arguments)),
                    ("loop", functools.partial(_through_loop, tool, repo, config, arguments, None)),
                    (
                        "store",
                        functools.partial(_through_loop, tool, repo, config, arguments, store),
                    ),
                ]
                shift = rep % len(runners)
                for case, runner in [*runners[shift:], *runners[:shift]]:
                    with noise.setdefault((tool, case), _Noise()).measuring():
                        samples.setdefault((tool, case), []).append(runner())
                done += 1
                report(label, done / (repeats * len(tools)))
    rows = []
    for tool in tools:
        direct = tuple(wall for wall, _ in samples[(tool, "direct")])
        for case in ("loop", "store"):
            measured = samples[(tool, case)]
            rows.append(
                OverheadRow(
                    tool=tool,
                    store=case == "store",
                    calls=calls,
                    loop_s=tuple(wall for wall, _ in measured),
                    fake_s=tuple(fake for _, fake in measured),
                    direct_s=direct,
                    other_cpu_fraction=(noise[(tool, case)] + noise[(tool, "direct")]).fraction,
                )
            )
    return OverheadResult(calls=calls, repeats=repeats, rows=rows)


# -- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentBenchSettings:
    analysis_runs: int = 5
    calls: int = 2000  # tool calls per turn of the overhead part
    repeats: int = 7  # of the overhead part
    analysis: bool = True  # run part 1 (it loads the embedded model)

    @classmethod
    def quick(cls) -> AgentBenchSettings:
        return cls(analysis_runs=2, calls=200, repeats=3)


@dataclass(frozen=True)
class AgentBenchResult:
    settings: AgentBenchSettings
    cpu_count: int
    cpu_model: str
    analysis: AnalysisResult | None
    overhead: OverheadResult

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "agent",
            "machine": {"cpu_count": self.cpu_count, "cpu_model": self.cpu_model},
            "settings": asdict(self.settings),
            "analysis": self.analysis.to_dict() if self.analysis is not None else None,
            "overhead": self.overhead.to_dict(),
        }


def run_agent_bench(
    *,
    quick: bool,
    progress: Progress | None = None,
    settings: AgentBenchSettings | None = None,
) -> AgentBenchResult:
    """Both parts with ``settings`` (by default the full or ``quick`` set), in one
    temporary ``AINOS_HOME``."""
    chosen = settings or (AgentBenchSettings.quick() if quick else AgentBenchSettings())
    with bench_home() as scratch:
        analysis = (
            run_analysis(runs=chosen.analysis_runs, progress=progress, scratch=scratch)
            if chosen.analysis
            else None
        )
        overhead = run_overhead(
            calls=chosen.calls, repeats=chosen.repeats, progress=progress, scratch=scratch
        )
    return AgentBenchResult(
        settings=chosen,
        cpu_count=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        analysis=analysis,
        overhead=overhead,
    )
