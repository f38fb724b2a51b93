"""One sub-agent's run: its definition's checks first, then its model to explain them.

A sub-agent is a coding-agent session of its own (its own conversation, its own client of
the scheduler) whose tools are narrowed to what its definition grants (:mod:`._policy`),
whose model never sees what ``secrets.redact`` matches (:mod:`._redact`), and whose turn is
given a playbook: the calls of its ``checks``, run before the model so the findings are
measured, not guessed; the model explains and orders them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ainos._files import write_text_atomically
from ainos.app.agent import (
    AgentConfig,
    ConversationStore,
    Instructions,
    Model,
    ModelReply,
    ModelRequest,
    ToolCall,
    builtin_tools,
    start_session,
)
from ainos.app.agent._model import TextSink, new_call_id
from ainos.app.agent._playbook import ANALYZE_ACTION_TOOL, Playbook, facts_block
from ainos.app.agent.tools import Tool
from ainos.app.supervisor._criteria import assess, score
from ainos.app.supervisor._definition import AgentDefinition
from ainos.app.supervisor._policy import AgentPolicy
from ainos.app.supervisor._priority import fix_first
from ainos.app.supervisor._records import SEVERITIES, Finding, SubAgentResult
from ainos.app.supervisor._redact import ModelWrapper, RedactingModel, Redactor
from ainos.errors import AinosError
from ainos.protocol.agent import (
    AgentEvent,
    AgentMessageItem,
    ItemCompleted,
    ItemStatus,
    McpToolCallItem,
    TurnCompleted,
    TurnFailed,
)

__all__ = ["SubAgentEnv", "SubTask", "client_name", "run_subagent"]

_EXPLAIN = (
    "Using only the findings above, say which matter most and why, in two or three plain sentences."
)
_FACT_LINES = 15  # findings a small model is shown (worst first); the report lists them all
_CLIENT_PREFIX = "ainos-agent/"

# (agent name, event, wall-clock time): what a progress display or a timeline reads.
EventSink = Callable[[str, AgentEvent, float], None]


def client_name(agent: str) -> str:
    """The sub-agent's client name at the scheduler (fair sharing accounts by it)."""
    return _CLIENT_PREFIX + agent


@dataclass(frozen=True)
class SubTask:
    """A sub-agent's part of a request: its definition and what it is asked."""

    definition: AgentDefinition
    request: str

    @property
    def prompt(self) -> str:
        # The request, then the agent's goal as a plain sentence: a tiny model asked to take
        # a part ("as the security auditor …") answers about the part, not the findings.
        return f"{self.request.strip()}: {self.definition.goal.rstrip('.')}."


@dataclass
class SubAgentEnv:
    """What every sub-agent of a run shares: the workspace, the user's agent configuration,
    where models come from, the conversation store."""

    cwd: Path
    config: AgentConfig
    models: Callable[[str], Model]  # client name -> a model for that client
    store: ConversationStore | None = None
    actions: Any = None  # an ActionRuntime, made on first need
    extra_tools: Callable[[AgentDefinition], list[Tool]] | None = None  # MCP servers' tools
    on_event: EventSink | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def action_runtime(self) -> Any:
        with self._lock:
            if self.actions is None:
                from ainos.ai.actions import ActionRuntime

                self.actions = ActionRuntime(client_name="ainos-supervisor")
            return self.actions


class _FirstToken(ModelWrapper):
    """The model, noting when its first token came (or its first reply, for a model that
    does not stream)."""

    def __init__(self, inner: Model, started: float) -> None:
        super().__init__(inner)
        self._started = started
        self.first_token_s: float | None = None

    def _note(self) -> None:
        if self.first_token_s is None:
            self.first_token_s = time.monotonic() - self._started

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        def piece(text: str) -> None:
            self._note()
            if on_text is not None:
                on_text(text)

        reply = self._inner.complete(request, piece)
        self._note()
        return reply


def _check_tools_of(definition: AgentDefinition) -> dict[str, str]:
    from ainos.app.supervisor.checks import CHECK_TOOLS

    return {check: CHECK_TOOLS[check] for check in definition.checks}


def _tools(definition: AgentDefinition, env: SubAgentEnv) -> list[Tool]:
    from ainos.app.agent.tools import action_tools
    from ainos.app.supervisor.checks import check_tools

    tools: list[Tool] = [*builtin_tools(), *check_tools()]
    wants_actions = "analysis" in definition.checks or any(
        "." in entry for entry in definition.tools.mcp
    )
    if wants_actions:
        tools += action_tools(env.action_runtime())
    if env.extra_tools is not None:
        tools += env.extra_tools(definition)
    return tools


def _playbook(task: SubTask, check_tools: Mapping[str, str], available: Sequence[str]) -> Playbook:
    calls = []
    for check, tool in check_tools.items():
        if tool not in available:
            continue
        arguments: dict[str, Any] = {"path": "."}
        if check == "analysis":
            arguments = {"Codebase": "."}
        elif check == "search":
            from ainos.app.supervisor.checks import goal_terms

            terms = goal_terms(task.request) or goal_terms(task.definition.goal)
            if not terms:
                continue
            arguments["terms"] = terms
        calls.append(ToolCall(new_call_id(), tool, arguments))
    explain = (task.definition.instructions or "").strip() or _EXPLAIN
    return Playbook(tuple(calls), intent="given", explain=explain, facts=_findings_facts)


def findings_of(structured: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """The findings in the structured results of check tools, worst first."""
    found = [
        Finding.from_dict(entry)
        for result in structured.values()
        for entry in result.get("findings") or ()
        if isinstance(entry, dict)
    ]
    return sorted(found, key=Finding.rank)


def _findings_block(structured: Mapping[str, Mapping[str, Any]]) -> str:
    """The checks' findings, worst first, as the answer quotes them."""
    findings = findings_of(structured)
    checks = [str(r["check"]) for r in structured.values() if r.get("check")]
    if not findings:
        return f"The checks ({', '.join(checks)}) found nothing." if checks else ""
    counts = ", ".join(
        f"{n} {s}" for s in SEVERITIES if (n := sum(f.severity == s for f in findings))
    )
    lines = [f"Findings of the checks ({len(findings)}: {counts}):"]
    lines += [
        f"- [{f.severity}] {f.path}{f':{f.line}' if f.line else ''} {f.message}"
        for f in findings[:_FACT_LINES]
    ]
    if len(findings) > _FACT_LINES:
        lines.append(f"- … and {len(findings) - _FACT_LINES} more")
    return "\n".join(lines)


def _findings_facts(structured: Mapping[str, Mapping[str, Any]], outputs: Mapping[str, str]) -> str:
    """What the answer quotes: what to fix first, the checks' findings, the analysis'
    figures."""
    analysis = facts_block({k: v for k, v in structured.items() if k == ANALYZE_ACTION_TOOL})
    priority = fix_first(findings_of(structured))
    parts = (priority, _findings_block(structured), analysis)
    return "\n\n".join(part for part in parts if part)


def run_subagent(task: SubTask, env: SubAgentEnv) -> SubAgentResult:
    """Run ``task``; never raises for a failure of its own (the result says it failed)."""
    definition = task.definition
    started_wall, started = time.time(), time.monotonic()
    result = SubAgentResult(
        agent=definition.name, task=task.request, status="failed", started_at=started_wall
    )
    redactor = Redactor.of(definition.policies.secrets.redact)
    try:
        _run(task, env, result, redactor, started)
    except AinosError as exc:
        result.status = "failed"
        result.error = " ".join(str(exc).split())
    except Exception as exc:  # a sub-agent's bug must not take the others down
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
    result.finished_at = time.time()
    if redactor:
        result.summary = redactor.text(result.summary)
        result.error = redactor.text(result.error) if result.error else None
        result.findings = tuple(
            Finding(f.check, f.severity, f.path, f.line, redactor.text(f.message))
            for f in result.findings
        )
    text = "\n".join([result.summary, *(f.message for f in result.findings)])
    result.criteria = assess(definition.success_criteria, text, result.findings, result.checks)
    result.score = score(result.criteria, result.status)
    return result


def _run(
    task: SubTask,
    env: SubAgentEnv,
    result: SubAgentResult,
    redactor: Redactor,
    started: float,
) -> None:
    definition = task.definition
    policy = AgentPolicy(definition, env.cwd.resolve())
    config = policy.config(env.config)
    check_tools = _check_tools_of(definition)
    toolbox = policy.toolbox(_tools(definition, env), check_tools=frozenset(check_tools.values()))
    model = env.models(client_name(definition.name))
    if redactor:
        model = RedactingModel(model, redactor)
    timed = _FirstToken(model, started)
    base = Instructions.for_workspace(env.cwd)
    instructions = Instructions(base.base, (definition.instructions or "").strip(), base.project)
    run = start_session(
        timed,
        config,
        env.cwd,
        store=env.store,
        tools=toolbox,
        sandbox=policy.sandbox(),
        instructions=instructions,
    )
    run.session.context.cancel = env.cancel
    result.thread_id = run.thread.id
    playbook = _playbook(task, check_tools, toolbox.names())
    by_tool = {tool: check for check, tool in check_tools.items()}
    structured: dict[str, dict[str, Any]] = {}
    try:
        with run:
            for event in run.run_turn(task.prompt, playbook=playbook):
                if env.on_event is not None:
                    env.on_event(definition.name, event, time.time())
                _take(event, result, by_tool, structured)
    finally:
        result.first_token_s = timed.first_token_s
        if definition.policies.context.retention == "job":  # nothing of it is kept
            if env.store is not None:
                with contextlib.suppress(AinosError):
                    env.store.delete(run.thread.id)
            result.thread_id = None
    result.findings = tuple(findings_of(structured))
    # The report lists the findings itself: the summary keeps the model's words and figures.
    block = _findings_block(structured)
    if block and block in result.summary:
        result.summary = "\n\n".join(
            part.strip() for part in result.summary.split(block) if part.strip()
        )
    if result.status == "completed":
        result.artifacts = _write_artifacts(definition, policy, result, redactor)


def _take(
    event: AgentEvent,
    result: SubAgentResult,
    by_tool: Mapping[str, str],
    structured: dict[str, dict[str, Any]],
) -> None:
    """Fold one event of the sub-agent's turn into its result."""
    if isinstance(event, ItemCompleted):
        item = event.item
        if isinstance(item, AgentMessageItem):
            result.summary = item.text
        elif (
            isinstance(item, McpToolCallItem)
            and item.tool in by_tool
            and item.status is ItemStatus.COMPLETED
            and item.result
        ):
            result.checks = (*result.checks, by_tool[item.tool])
            content = item.result.get("structured_content")
            if isinstance(content, dict):
                structured[item.tool] = content
    elif isinstance(event, TurnCompleted):
        result.status = "completed"
        result.input_tokens = event.usage.input_tokens
        result.output_tokens = event.usage.output_tokens
    elif isinstance(event, TurnFailed):
        result.status = "failed"
        result.error = event.error.message


def _write_artifacts(
    definition: AgentDefinition, policy: AgentPolicy, result: SubAgentResult, redactor: Redactor
) -> tuple[str, ...]:
    """The sub-agent's result written to each of its ``artifacts`` (JSON for ``.json``,
    Markdown otherwise), each replaced whole: never a half-written file."""
    from ainos.app.supervisor._merge import merge_results
    from ainos.app.supervisor._render import render_json, render_markdown

    roots = policy.write_roots() or ()
    written = []
    for artifact in definition.artifacts:
        path = (policy.workspace / PurePosixPath(artifact)).resolve()
        if not any(path.is_relative_to(root) for root in roots):
            raise AinosError(f"artifact {artifact} is outside tools.fs.write")
        report = merge_results(
            result.task,
            "sequential",
            "concatenate",
            [result],
            started_at=result.started_at,
            finished_at=time.time(),
        )
        text = render_json(report) if path.suffix == ".json" else render_markdown(report)
        write_text_atomically(path, redactor.text(text), parents=True)
        written.append(artifact)
    return tuple(written)
