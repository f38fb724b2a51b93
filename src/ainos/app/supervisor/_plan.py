"""Which sub-agents a request needs: named by the caller, read from the request, or chosen
by the model.

Deterministic first: "Comprehensive code review" plainly needs the code reviewer, the
security auditor and the test writer; "any hard-coded secrets?" the security auditor. The
words of each agent's name and goal are matched too, so a user's own definitions are found
the same way. Only a request no rule or definition matches goes to the model, whose reply
is constrained to the agents' names (a tiny model cannot invent one) and checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ainos.app.agent import Model, ModelRequest
from ainos.app.supervisor._catalog import AgentCatalog
from ainos.app.supervisor._definition import AgentDefinition
from ainos.app.supervisor._runner import SubTask
from ainos.errors import InvalidArgument

__all__ = ["Plan", "plan_tasks"]

PlannedBy = Literal["agents", "rules", "model", "default"]

# Request words -> built-in agents. "comprehensive"/"full" reviews fan out to all three.
_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        re.compile(r"\b(comprehensive|full|complete|thorough|whole)\b.*\breview", re.I),
        ("code-reviewer", "security-auditor", "test-writer"),
    ),
    (
        re.compile(r"\b(code[- ]?review|review|quality|maintainab\w*|refactor\w*|smells?)\b", re.I),
        ("code-reviewer",),
    ),
    (
        re.compile(
            r"\b(secur\w*|secrets?|credentials?|vulnerab\w*|audit\w*|cve|injection|unsafe)\b",
            re.I,
        ),
        ("security-auditor",),
    ),
    (re.compile(r"\b(tests?|testing|coverage|untested)\b", re.I), ("test-writer",)),
    (
        re.compile(
            r"\b(research\w*|investigat\w*|where (is|are)|how does|find out|learn about)\b", re.I
        ),
        ("researcher",),
    ),
)
_WORD = re.compile(r"[a-z][a-z0-9]+")
_GENERIC = frozenset(
    {
        "agent", "agents", "code", "codebase", "project", "files", "file", "the", "and",
        "for", "with", "this", "that", "what",
    }
)  # fmt: skip
_MAX_AGENTS = 4
_PLANNER = (
    "You assign a request to the agents that should work on it. Reply with JSON naming one "
    "to four of the agents listed."
)


@dataclass(frozen=True)
class Plan:
    tasks: tuple[SubTask, ...]
    planned_by: PlannedBy


def _by_rules(request: str, catalog: AgentCatalog) -> list[AgentDefinition]:
    known = {d.name: d for d in catalog.definitions()}
    chosen: list[str] = []
    for pattern, names in _RULES:
        if pattern.search(request):
            chosen += [n for n in names if n in known and n not in chosen]
    words = set(_WORD.findall(request.lower())) - _GENERIC
    for definition in known.values():
        if definition.name in chosen:
            continue
        name_words = set(_WORD.findall(" ".join(definition.names()).replace("-", " ")))
        if words & (name_words - _GENERIC):
            chosen.append(definition.name)
    return [known[n] for n in chosen[:_MAX_AGENTS]]


def _by_model(request: str, catalog: AgentCatalog, model: Model) -> list[AgentDefinition]:
    definitions = catalog.definitions()
    names = [d.name for d in definitions]
    listing = "\n".join(f"- {d.name}: {d.goal}" for d in definitions)
    schema = {
        "type": "object",
        "properties": {
            "agents": {
                "type": "array",
                "items": {"type": "string", "enum": names},
                "minItems": 1,
                "maxItems": _MAX_AGENTS,
            }
        },
        "required": ["agents"],
        "additionalProperties": False,
    }
    reply = model.complete(
        ModelRequest(
            messages=[
                {"role": "system", "content": _PLANNER},
                {"role": "user", "content": f"Agents:\n{listing}\n\nRequest: {request}"},
            ],
            tool_choice="none",
            output_schema=schema,
            max_output_tokens=64,
            temperature=0.0,
        )
    )
    try:
        picked = json.loads(reply.text).get("agents") or []
    except (json.JSONDecodeError, AttributeError):
        return []
    chosen = [n for n in dict.fromkeys(str(p) for p in picked) if n in names]
    return [catalog.get(n) for n in chosen[:_MAX_AGENTS]]


def plan_tasks(
    request: str,
    catalog: AgentCatalog,
    *,
    agents: Sequence[str] = (),
    model: Model | None = None,
) -> Plan:
    """The sub-tasks of ``request``: ``agents`` when given, else by the rules, else by
    ``model``; when nothing fits, the code reviewer (or the first agent there is)."""
    if not request.strip():
        raise InvalidArgument("the request is empty")
    if agents:
        chosen = catalog.resolve(agents)
        planned_by: PlannedBy = "agents"
    else:
        chosen = _by_rules(request, catalog)
        planned_by = "rules"
        if not chosen and model is not None:
            chosen = _by_model(request, catalog, model)
            planned_by = "model"
        if not chosen:
            fallback = [d for d in catalog.definitions() if d.name == "code-reviewer"]
            chosen = fallback or catalog.definitions()[:1]
            planned_by = "default"
    if not chosen:
        raise InvalidArgument("no agent definitions: see `ainos agents list`")
    return Plan(tuple(SubTask(d, request) for d in chosen), planned_by)
