"""What a sub-agent hands back and what the supervisor reports: plain records, JSON-ready.

A finding is something a deterministic check measured (a hard-coded secret at a line, a
dangerous call, a public function no test mentions, a TODO); the model only explains and
orders them, so a report stays right when the model's prose is weak.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "SEVERITIES",
    "CriterionResult",
    "Finding",
    "MergedFinding",
    "Severity",
    "SubAgentResult",
    "SubAgentStatus",
    "SupervisorReport",
]

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")  # worst first
SubAgentStatus = Literal["completed", "failed", "stopped"]


@dataclass(frozen=True)
class Finding:
    """One measured fact about the code. ``line`` is 1-based, 0 for a whole file."""

    check: str  # the check that found it: secrets, dangerous-calls, untested, todo, …
    severity: Severity
    path: str  # relative to the workspace, with forward slashes
    line: int
    message: str  # one line, secrets already masked

    def key(self) -> tuple[str, str, int]:
        """Two agents report the same finding when the same check flags the same place."""
        return (self.check, self.path, self.line)

    def rank(self) -> tuple[int, str, int]:
        return (SEVERITIES.index(self.severity), self.path, self.line)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            check=str(data["check"]),
            severity=data["severity"],
            path=str(data["path"]),
            line=int(data["line"]),
            message=str(data["message"]),
        )


@dataclass(frozen=True)
class CriterionResult:
    """A success criterion of the agent's definition and whether the run addressed it."""

    text: str
    met: bool
    evidence: str = ""  # what in the result addressed it, or why not

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriterionResult:
        return cls(text=str(data["text"]), met=bool(data["met"]), evidence=str(data["evidence"]))


@dataclass
class SubAgentResult:
    """One sub-agent's run: its status, the model's explanation, what its checks found."""

    agent: str
    task: str
    status: SubAgentStatus
    summary: str = ""  # the answer of its turn (redacted)
    findings: tuple[Finding, ...] = ()
    checks: tuple[str, ...] = ()  # the checks that ran to completion (what it could find)
    criteria: tuple[CriterionResult, ...] = ()
    score: float = 0.0  # share of its success criteria addressed; 0 when it failed
    error: str | None = None
    thread_id: str | None = None
    started_at: float = 0.0  # wall clock (epoch seconds)
    finished_at: float = 0.0
    first_token_s: float | None = None  # from its start to the model's first token
    input_tokens: int = 0
    output_tokens: int = 0
    artifacts: tuple[str, ...] = ()  # files it wrote, relative to the workspace

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        data["seconds"] = round(self.seconds, 3)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubAgentResult:
        """The inverse of :meth:`to_dict` (``seconds`` is derived, so it is ignored)."""
        first_token = data.get("first_token_s")
        return cls(
            agent=str(data["agent"]),
            task=str(data["task"]),
            status=data["status"],
            summary=str(data.get("summary", "")),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            checks=tuple(str(c) for c in data.get("checks", ())),
            criteria=tuple(CriterionResult.from_dict(c) for c in data.get("criteria", ())),
            score=float(data.get("score", 0.0)),
            error=None if data.get("error") is None else str(data["error"]),
            thread_id=None if data.get("thread_id") is None else str(data["thread_id"]),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            first_token_s=None if first_token is None else float(first_token),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            artifacts=tuple(str(a) for a in data.get("artifacts", ())),
        )


@dataclass(frozen=True)
class MergedFinding:
    """A finding in the merged report, with the sub-agents that reported it."""

    finding: Finding
    agents: tuple[str, ...]
    votes: int = 1  # agents that reported it
    voters: int = 1  # agents that ran its check (could have reported it)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.finding.to_dict(),
            "agents": list(self.agents),
            "votes": self.votes,
            "voters": self.voters,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergedFinding:
        return cls(
            finding=Finding.from_dict(data),
            agents=tuple(str(a) for a in data["agents"]),
            votes=int(data["votes"]),
            voters=int(data["voters"]),
        )


@dataclass
class SupervisorReport:
    """The merged result of one supervisor run."""

    goal: str
    strategy: str  # sequential | parallel | hybrid
    merge: str  # concatenate | voting | highest_score
    results: list[SubAgentResult]
    findings: list[MergedFinding] = field(default_factory=list)
    disputed: list[MergedFinding] = field(default_factory=list)  # voting: below the quorum
    chosen: str | None = None  # highest_score: the agent whose result leads
    started_at: float = 0.0
    finished_at: float = 0.0
    planned_by: str | None = None  # agents | rules | model | default: who chose the agents

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "strategy": self.strategy,
            "merge": self.merge,
            "planned_by": self.planned_by,
            "chosen": self.chosen,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "agents": [r.to_dict() for r in self.results],
            "findings": [f.to_dict() for f in self.findings],
            "disputed": [f.to_dict() for f in self.disputed],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SupervisorReport:
        """The inverse of :meth:`to_dict` (``seconds`` is derived, so it is ignored)."""
        chosen = data.get("chosen")
        return cls(
            goal=str(data["goal"]),
            strategy=str(data["strategy"]),
            merge=str(data["merge"]),
            results=[SubAgentResult.from_dict(r) for r in data.get("agents", ())],
            findings=[MergedFinding.from_dict(f) for f in data.get("findings", ())],
            disputed=[MergedFinding.from_dict(f) for f in data.get("disputed", ())],
            chosen=None if chosen is None else str(chosen),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            planned_by=data.get("planned_by"),
        )
