"""The multi-agent supervisor: one request fanned out to sub-agents that run side by side.

Sub-agents are defined in YAML (:mod:`._definition`; built-ins in ``agents/``, the user's in
the config dir's ``agents/``). Each runs as a coding-agent session narrowed to what its
definition grants (:mod:`._policy`), its model kept from secrets (:mod:`._redact`), its
deterministic checks (:mod:`.checks`) run before its model explains them; the supervisor
plans the sub-tasks (:mod:`._plan`), runs them (:mod:`._supervisor`) and merges their
results (:mod:`._merge`) into one report (:mod:`._render`).
"""

# Names are imported on first use: the CLI imports this package for commands that use
# only a part of it.
from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.app.supervisor._catalog import AgentCatalog
    from ainos.app.supervisor._definition import (
        AgentDefinition,
        DefinitionError,
        load_definition,
        parse_definition,
    )
    from ainos.app.supervisor._merge import MERGE_STRATEGIES, merge_results
    from ainos.app.supervisor._plan import Plan, plan_tasks
    from ainos.app.supervisor._policy import AgentPolicy
    from ainos.app.supervisor._records import (
        CriterionResult,
        Finding,
        MergedFinding,
        SubAgentResult,
        SupervisorReport,
    )
    from ainos.app.supervisor._redact import RedactingModel, Redactor
    from ainos.app.supervisor._render import render_json, render_markdown, render_text_summary
    from ainos.app.supervisor._runner import SubAgentEnv, SubTask, client_name, run_subagent
    from ainos.app.supervisor._supervisor import (
        STRATEGIES,
        SupervisorOptions,
        SupervisorRun,
        run_supervisor,
        run_tasks,
    )

_EXPORTS = {
    "AgentCatalog": "_catalog",
    "AgentDefinition": "_definition",
    "AgentPolicy": "_policy",
    "CriterionResult": "_records",
    "DefinitionError": "_definition",
    "Finding": "_records",
    "MERGE_STRATEGIES": "_merge",
    "MergedFinding": "_records",
    "Plan": "_plan",
    "RedactingModel": "_redact",
    "Redactor": "_redact",
    "STRATEGIES": "_supervisor",
    "SubAgentEnv": "_runner",
    "SubAgentResult": "_records",
    "SubTask": "_runner",
    "SupervisorOptions": "_supervisor",
    "SupervisorReport": "_records",
    "SupervisorRun": "_supervisor",
    "client_name": "_runner",
    "load_definition": "_definition",
    "merge_results": "_merge",
    "parse_definition": "_definition",
    "plan_tasks": "_plan",
    "render_json": "_render",
    "render_markdown": "_render",
    "render_text_summary": "_render",
    "run_subagent": "_runner",
    "run_supervisor": "_supervisor",
    "run_tasks": "_supervisor",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "MERGE_STRATEGIES",
    "STRATEGIES",
    "AgentCatalog",
    "AgentDefinition",
    "AgentPolicy",
    "CriterionResult",
    "DefinitionError",
    "Finding",
    "MergedFinding",
    "Plan",
    "RedactingModel",
    "Redactor",
    "SubAgentEnv",
    "SubAgentResult",
    "SubTask",
    "SupervisorOptions",
    "SupervisorReport",
    "SupervisorRun",
    "client_name",
    "load_definition",
    "merge_results",
    "parse_definition",
    "plan_tasks",
    "render_json",
    "render_markdown",
    "render_text_summary",
    "run_subagent",
    "run_supervisor",
    "run_tasks",
]
