"""The multi-agent supervisor: N sub-agents on the embedded model, in parallel through the
scheduler vs one after another vs N ``ainos exec`` processes started at once.

Three cases, each run in a process of its own (:mod:`ainos.app.bench._supervisor_case`), on a
fresh copy of the agent benchmark's fixture repository (:func:`build_fixture_repo`) with a
file planted beside it that holds a hard-coded key, a shell call and a TODO (so every
agent's checks find something), with ``AINOS_HOME`` a temporary directory (no daemon socket
there: the model runs in the case's own process):

1. ``parallel``: ``run_supervisor`` with the ``parallel`` strategy and the agents named —
   one engine with N+1 sequences, each sub-agent a client of its own to the scheduler in the
   batch class.
2. ``sequential``: the same, one sub-agent after another (an engine with one sequence).
3. ``exec``: one ``ainos exec --skip-git-repo-check -C REPO --json PROMPT`` per agent, all
   started at once, no daemon: what a user would do by hand; each loads its own model.

The cases take turns, ``repeats`` rounds, a different one first each round. Per case run:
the wall time of its process, from its start to its exit (model loads, imports and
start-ups included: what a user waits for); the work inside it (``run_supervisor``, or from
starting the N processes to the last exit); the CPU time of its whole process tree and the
peak RSS (for ``exec`` the sum of the processes' peaks: they run at once); per sub-agent its
time to the model's first token, from its own start and from the request's. Figures are
medians over the rounds, with the least and greatest.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ainos.app.bench._cpu import cpu_model, machine_busy_seconds
from ainos.app.bench._process import case_order, run_process
from ainos.app.bench._supervisor_case import CASES, EXEC_PROMPTS, REQUEST
from ainos.app.bench.agent import Spread, bench_home, build_fixture_repo
from ainos.errors import AinosError

__all__ = [
    "CASES",
    "CASE_WHAT",
    "EXEC_PROMPTS",
    "FULL_AGENTS",
    "PLANTED_FILES",
    "QUICK_AGENTS",
    "REQUEST",
    "AgentRun",
    "CaseRun",
    "CaseSummary",
    "Spread",
    "SupervisorBenchResult",
    "SupervisorBenchSettings",
    "build_workspace",
    "case_order",
    "measure_case",
    "run_supervisor_bench",
    "summarize",
]

Progress = Callable[[str, float], None]

FULL_AGENTS = ("code-reviewer", "security-auditor", "test-writer", "researcher")
QUICK_AGENTS = ("code-reviewer", "security-auditor")
CASE_WHAT: Mapping[str, str] = {
    "parallel": "run_supervisor, strategy parallel: one in-process engine, N+1 sequences",
    "sequential": "run_supervisor, strategy sequential: one sub-agent after another",
    "exec": "N `ainos exec --json` processes started at once, no daemon, a model each",
}
_RUNNER = "ainos.app.bench._supervisor_case"
# The verdict notes when a case's median output is under this share of another's.
_TOKENS_APART = 0.8

# Beside the fixture: what the security auditor is there to find, and one more TODO. The
# key is assembled here, so this file holds none.
_PLANTED_KEY = "lk_live_" + "4f9a7c2e81d04b6a" + "9e3f5c7d2b1a8e6f"
PLANTED_FILES: Mapping[str, str] = {
    "src/ledgerline/bank.py": (
        '"""The bank connector: fetches statements."""\n'
        "\n"
        "import subprocess\n"
        "\n"
        "# TODO: read the key from the environment\n"
        f"BANK_API_KEY = {_PLANTED_KEY!r}\n"
        "\n"
        "\n"
        "def fetch_statement(account: str) -> bytes:\n"
        '    """The statement of ``account``, as the bank\'s export gives it."""\n'
        "    return subprocess.check_output(\n"
        '        f"curl -s https://bank.example.invalid/{account}", shell=True\n'
        "    )\n"
    ),
}


def build_workspace(root: Path) -> Path:
    """The agent benchmark's fixture repository with :data:`PLANTED_FILES`, all committed
    (the same commit every run)."""
    for relative, text in PLANTED_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return build_fixture_repo(root)  # it commits every file under root


# -- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRun:
    """One sub-agent of a supervisor run, or one ``ainos exec`` process."""

    agent: str
    status: str  # completed | failed | stopped
    seconds: float  # its own duration
    first_token_s: float | None = None  # from its start (supervisor cases only)
    first_token_since_request_s: float | None = None  # from the run's start
    input_tokens: int = 0
    output_tokens: int = 0
    findings: int | None = None  # supervisor cases: what its checks found
    tool_calls: int | None = None  # exec: the tool items its turn completed
    exit_code: int | None = None  # exec
    cpu_s: float | None = None  # exec: the process's (and its children's)
    peak_rss_bytes: int | None = None  # exec
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentRun:
        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        def whole(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        return cls(
            agent=str(data["agent"]),
            status=str(data["status"]),
            seconds=float(data["seconds"]),
            first_token_s=number("first_token_s"),
            first_token_since_request_s=number("first_token_since_request_s"),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            findings=whole("findings"),
            tool_calls=whole("tool_calls"),
            exit_code=whole("exit_code"),
            cpu_s=number("cpu_s"),
            peak_rss_bytes=whole("peak_rss_bytes"),
            error=None if data.get("error") is None else str(data["error"]),
        )


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclass(frozen=True)
class CaseRun:
    """One run of one case."""

    case: str
    repeat: int
    wall_s: float  # its process, from its start to its exit
    work_s: float  # run_supervisor / from starting the N processes to the last exit
    cpu_s: float  # its whole process tree, user + system
    peak_rss_bytes: int  # exec: the sum of the processes' peaks (they run at once)
    agents: tuple[AgentRun, ...]
    model: str | None = None
    other_cpu_fraction: float = 0.0  # the rest of the machine's CPU use meanwhile, of all cores

    def _first_tokens(self) -> list[float]:
        return [a.first_token_s for a in self.agents if a.first_token_s is not None]

    @property
    def first_token_max_s(self) -> float | None:
        """The slowest sub-agent's first token, from its own start."""
        found = self._first_tokens()
        return max(found) if found else None

    @property
    def first_token_median_s(self) -> float | None:
        return _median(self._first_tokens())

    @property
    def first_token_since_request_max_s(self) -> float | None:
        """The last first token, from the run's start: how long until every sub-agent had
        begun to answer."""
        found = [
            a.first_token_since_request_s
            for a in self.agents
            if a.first_token_since_request_s is not None
        ]
        return max(found) if found else None

    @property
    def completed(self) -> int:
        return sum(a.status == "completed" for a in self.agents)

    @property
    def output_tokens(self) -> int:
        return sum(a.output_tokens for a in self.agents)

    @property
    def tokens_per_s(self) -> float:
        """Output tokens of all its sub-agents / its work time: the model's output is
        sampled, so runs differ in how much they generate."""
        return self.output_tokens / self.work_s if self.work_s > 0 else 0.0

    @classmethod
    def from_document(
        cls,
        document: Mapping[str, Any],
        *,
        repeat: int,
        wall_s: float,
        cpu_s: float,
        other_cpu_fraction: float = 0.0,
    ) -> CaseRun:
        """A run from the case process's JSON and what its parent measured."""
        model = document.get("model")
        return cls(
            case=str(document["case"]),
            repeat=repeat,
            wall_s=wall_s,
            work_s=float(document["work_s"]),
            cpu_s=cpu_s,
            peak_rss_bytes=int(document["peak_rss_bytes"]),
            agents=tuple(AgentRun.from_dict(a) for a in document["agents"]),
            model=None if model is None else str(model),
            other_cpu_fraction=other_cpu_fraction,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "agents": [asdict(a) for a in self.agents],
            "first_token_max_s": self.first_token_max_s,
            "first_token_median_s": self.first_token_median_s,
            "first_token_since_request_max_s": self.first_token_since_request_max_s,
            "completed": self.completed,
            "output_tokens": self.output_tokens,
            "tokens_per_s": self.tokens_per_s,
        }


def _spread(values: Sequence[float | None]) -> Spread | None:
    found = [v for v in values if v is not None]
    return Spread.of(found) if found else None


@dataclass(frozen=True)
class CaseSummary:
    """A case over its runs: medians, least and greatest."""

    case: str
    runs: tuple[CaseRun, ...]
    parallel_wall_s: float | None  # the parallel case's median wall, for the ratio

    @property
    def wall_s(self) -> Spread:
        return Spread.of([r.wall_s for r in self.runs])

    @property
    def work_s(self) -> Spread:
        return Spread.of([r.work_s for r in self.runs])

    @property
    def cpu_s(self) -> Spread:
        return Spread.of([r.cpu_s for r in self.runs])

    @property
    def peak_rss_bytes(self) -> Spread:
        return Spread.of([float(r.peak_rss_bytes) for r in self.runs])

    @property
    def output_tokens(self) -> Spread:
        return Spread.of([float(r.output_tokens) for r in self.runs])

    @property
    def tokens_per_s(self) -> Spread:
        return Spread.of([r.tokens_per_s for r in self.runs])

    @property
    def first_token_max_s(self) -> Spread | None:
        """Over the runs, of each run's slowest sub-agent's first token."""
        return _spread([r.first_token_max_s for r in self.runs])

    @property
    def first_token_median_s(self) -> Spread | None:
        """Over the runs, of each run's median over its sub-agents."""
        return _spread([r.first_token_median_s for r in self.runs])

    @property
    def first_token_since_request_max_s(self) -> Spread | None:
        return _spread([r.first_token_since_request_max_s for r in self.runs])

    @property
    def ratio_to_parallel(self) -> float | None:
        """This case's median wall / the parallel case's (parallel: 1)."""
        if not self.parallel_wall_s:
            return None
        return self.wall_s.median / self.parallel_wall_s

    @property
    def completed(self) -> int:
        return sum(r.completed for r in self.runs)

    @property
    def attempted(self) -> int:
        return sum(len(r.agents) for r in self.runs)

    @property
    def other_cpu_fraction(self) -> float:
        return max((r.other_cpu_fraction for r in self.runs), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        def spread(value: Spread | None) -> dict[str, float] | None:
            return None if value is None else asdict(value)

        return {
            "case": self.case,
            "what": CASE_WHAT.get(self.case, ""),
            "repeats": len(self.runs),
            "wall_s": spread(self.wall_s),
            "ratio_to_parallel": self.ratio_to_parallel,
            "work_s": spread(self.work_s),
            "cpu_s": spread(self.cpu_s),
            "peak_rss_bytes": spread(self.peak_rss_bytes),
            "output_tokens": spread(self.output_tokens),
            "tokens_per_s": spread(self.tokens_per_s),
            "first_token_max_s": spread(self.first_token_max_s),
            "first_token_median_s": spread(self.first_token_median_s),
            "first_token_since_request_max_s": spread(self.first_token_since_request_max_s),
            "completed": self.completed,
            "attempted": self.attempted,
            "other_cpu_fraction_max": self.other_cpu_fraction,
            "runs": [r.to_dict() for r in self.runs],
        }


def summarize(runs: Sequence[CaseRun], cases: Sequence[str] = CASES) -> list[CaseSummary]:
    """Each case of ``cases`` that ran, in that order, its runs in the order they ran."""
    by_case = {case: tuple(r for r in runs if r.case == case) for case in cases}
    parallel = by_case.get("parallel")
    parallel_wall = Spread.of([r.wall_s for r in parallel]).median if parallel else None
    return [
        CaseSummary(case, measured, parallel_wall) for case, measured in by_case.items() if measured
    ]


@dataclass(frozen=True)
class SupervisorBenchSettings:
    agents: tuple[str, ...] = FULL_AGENTS
    repeats: int = 3
    cases: tuple[str, ...] = CASES
    timeout_s: float = 3600.0  # per case run

    @classmethod
    def quick(cls) -> SupervisorBenchSettings:
        return cls(agents=QUICK_AGENTS, repeats=2)

    def check(self) -> None:
        unknown = [a for a in self.agents if a not in EXEC_PROMPTS]
        if unknown or not self.agents:
            raise AinosError(
                f"agents must be some of {', '.join(EXEC_PROMPTS)}, got {', '.join(self.agents)}"
            )
        if self.repeats < 1 or not self.cases or set(self.cases) - set(CASES):
            raise AinosError(
                f"repeats must be 1 or more and cases some of {', '.join(CASES)}, got "
                f"{self.repeats} and {', '.join(self.cases)}"
            )


@dataclass(frozen=True)
class SupervisorBenchResult:
    settings: SupervisorBenchSettings
    cpu_count: int
    cpu_model: str
    runs: list[CaseRun] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        return next((r.model for r in self.runs if r.model), None)

    def summaries(self) -> list[CaseSummary]:
        return summarize(self.runs, self.settings.cases)

    def summary(self, case: str) -> CaseSummary:
        return next(s for s in self.summaries() if s.case == case)

    def winner(self) -> str | None:
        """The case with the least median wall time."""
        ranked = sorted(self.summaries(), key=lambda s: s.wall_s.median)
        return ranked[0].case if ranked else None

    def verdict(self) -> list[str]:
        """What the figures say, in plain sentences (derived, never assumed)."""
        ranked = sorted(self.summaries(), key=lambda s: s.wall_s.median)
        if not ranked:
            return ["no case ran"]
        first, rest = ranked[0], ranked[1:]
        lines = [
            f"{first.case} finished first: median wall {first.wall_s.median:.1f} s"
            + "".join(
                f"; {other.case} {other.wall_s.median:.1f} s "
                f"({other.wall_s.median / first.wall_s.median:.2f}x)"
                for other in rest
            )
        ]
        overlapping = [o.case for o in rest if o.wall_s.low <= first.wall_s.high]
        if overlapping:
            lines.append(
                f"the wall-time ranges of {first.case} and {', '.join(overlapping)} overlap: "
                "the order between them is not certain at this many repeats"
            )
        timed = [
            (s.case, s.first_token_max_s, s.first_token_since_request_max_s)
            for s in self.summaries()
            if s.first_token_max_s is not None and s.first_token_since_request_max_s is not None
        ]
        if timed:
            lines.append(
                "slowest first token from its sub-agent's start: "
                + ", ".join(f"{case} {own.median:.1f} s" for case, own, _ in timed)
                + "; the last sub-agent's first token from the request: "
                + ", ".join(f"{case} {last.median:.1f} s" for case, _, last in timed)
            )
        tokens = [s.output_tokens.median for s in ranked]
        if min(tokens) < _TOKENS_APART * max(tokens):
            lines.append(
                "the cases generated different amounts (median tokens out: "
                + ", ".join(f"{s.case} {s.output_tokens.median:.0f}" for s in ranked)
                + "): the model samples, so weigh tok/s beside the wall time"
            )
        lines += [
            f"{s.case}: {s.attempted - s.completed} of {s.attempted} sub-agent runs did not "
            "complete"
            for s in ranked
            if s.completed < s.attempted
        ]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "supervisor",
            "machine": {"cpu_count": self.cpu_count, "cpu_model": self.cpu_model},
            "settings": {
                "agents": list(self.settings.agents),
                "repeats": self.settings.repeats,
                "cases": list(self.settings.cases),
                "timeout_s": self.settings.timeout_s,
            },
            "model": self.model,
            "request": REQUEST,
            "exec_prompts": {a: EXEC_PROMPTS[a] for a in self.settings.agents},
            "order": [[run.repeat, run.case] for run in self.runs],
            "winner": self.winner(),
            "verdict": self.verdict(),
            "cases": [s.to_dict() for s in self.summaries()],
        }


# -- measuring one case ---------------------------------------------------------------------


def measure_case(
    case: str,
    repo: Path,
    agents: Sequence[str],
    *,
    repeat: int = 0,
    on_step: Callable[[int, int], None] | None = None,
    timeout_s: float = 3600.0,
) -> CaseRun:
    """One run of ``case`` in a process of its own: its wall time, its process tree's CPU
    time (the children it reaped included) and the rest of the machine's meanwhile."""
    command = [sys.executable, "-m", _RUNNER, case, "--repo", str(repo), "--agents"]
    command.append(",".join(agents))
    machine = machine_busy_seconds()
    try:
        exited = run_process(command, on_step or (lambda _done, _total: None), timeout_s)
    except AinosError as exc:
        raise AinosError(f"the {case} case {exc}") from None
    busy = machine_busy_seconds() - machine
    if exited.code != 0:
        tail = "; ".join(line for line in exited.stderr_tail[-5:] if line.strip())
        raise AinosError(f"the {case} case failed (exit {exited.code}): {tail or 'no output'}")
    try:
        document = json.loads(exited.stdout)
    except json.JSONDecodeError as exc:
        raise AinosError(f"the {case} case printed no JSON document: {exc}") from None
    cpu = exited.usage.ru_utime + exited.usage.ru_stime
    cores = psutil.cpu_count() or 1
    wall = exited.wall_s
    other = max(0.0, busy - cpu) / (wall * cores) if wall > 0 else 0.0
    return CaseRun.from_document(
        document, repeat=repeat, wall_s=wall, cpu_s=cpu, other_cpu_fraction=min(1.0, other)
    )


# -- the run --------------------------------------------------------------------------------


def _warm_model_file() -> None:
    """The model's file read once, so the first case does not pay for a cold page cache."""
    with contextlib.suppress(Exception):
        from ainos.ai.ml import ModelCatalog
        from ainos.app.agent import load_config

        path = ModelCatalog().entry(load_config().model).path
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            with file.open("rb") as reading:
                while reading.read(1 << 24):
                    pass


def _label(case: str, agents: int) -> str:
    return f"{case}, {agents} agents"


def run_supervisor_bench(
    *,
    quick: bool = False,
    settings: SupervisorBenchSettings | None = None,
    progress: Progress | None = None,
) -> SupervisorBenchResult:
    """The cases of ``settings`` (by default the full or ``quick`` set), interleaved, in a
    temporary ``AINOS_HOME``; a fresh workspace for every run (an agent may write to it)."""
    chosen = settings or (SupervisorBenchSettings.quick() if quick else SupervisorBenchSettings())
    chosen.check()
    report = progress or (lambda _label, _fraction: None)
    agents = len(chosen.agents)
    for case in chosen.cases:
        report(_label(case, agents), 0.0)
    runs: list[CaseRun] = []
    done = dict.fromkeys(chosen.cases, 0)
    with bench_home() as scratch:
        _warm_model_file()
        for repeat, case in case_order(chosen.cases, chosen.repeats):
            repo = build_workspace(scratch / f"{case}-{repeat}")
            label = _label(case, agents)
            finished = done[case]

            def step(count: int, total: int, label: str = label, finished: int = finished) -> None:
                report(label, (finished + count / max(1, total)) / chosen.repeats)

            runs.append(
                measure_case(
                    case,
                    repo,
                    chosen.agents,
                    repeat=repeat,
                    on_step=step,
                    timeout_s=chosen.timeout_s,
                )
            )
            done[case] += 1
            report(label, done[case] / chosen.repeats)
    return SupervisorBenchResult(
        settings=chosen, cpu_count=os.cpu_count() or 1, cpu_model=cpu_model(), runs=runs
    )
