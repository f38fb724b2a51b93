"""The coding agent: a loop of model turns and tool calls, its tools, sandbox, approvals and
conversations.

``start_session(model, config, cwd)`` gives a session whose ``run_turn(prompt)`` yields
typed events (``ainos.protocol.agent``) in the schema of ``codex exec --json``; the model is
any :class:`Model` (``providers``: the embedded model, the daemon, an OpenAI-compatible
endpoint, or a scripted fake in tests).
"""

# Names are imported on first use: the CLI and the ``Ainos.Codex`` entry point import this
# package, and most of their commands never touch the agent.
from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.app.agent._approval import (
        ApprovalDecision,
        ApprovalGate,
        ApprovalRequest,
        Approver,
        NoApprover,
        is_known_safe,
    )
    from ainos.app.agent._config import AgentConfig, ApprovalPolicy, ProviderConfig, load_config
    from ainos.app.agent._instructions import (
        Instructions,
        find_git_root,
        is_git_repository,
        project_docs,
    )
    from ainos.app.agent._loop import Budgets, Session
    from ainos.app.agent._model import (
        Message,
        Model,
        ModelReply,
        ModelRequest,
        ModelTraits,
        ToolCall,
        ToolSpec,
    )
    from ainos.app.agent._playbook import plan_playbook
    from ainos.app.agent._rules import ApprovalRule, ApprovalRules
    from ainos.app.agent._store import ConversationStore, ThreadInfo
    from ainos.app.agent._wiring import (
        AgentRun,
        ModelChoice,
        ModelSource,
        open_model,
        open_model_source,
        registered_servers,
        start_session,
    )
    from ainos.app.agent.tools import ToolBox, ToolContext, action_tools, builtin_tools

_EXPORTS = {
    "AgentConfig": "_config",
    "AgentRun": "_wiring",
    "ApprovalDecision": "_approval",
    "ApprovalGate": "_approval",
    "ApprovalPolicy": "_config",
    "ApprovalRequest": "_approval",
    "ApprovalRule": "_rules",
    "ApprovalRules": "_rules",
    "Approver": "_approval",
    "Budgets": "_loop",
    "ConversationStore": "_store",
    "Instructions": "_instructions",
    "Message": "_model",
    "Model": "_model",
    "ModelChoice": "_wiring",
    "ModelReply": "_model",
    "ModelSource": "_wiring",
    "ModelRequest": "_model",
    "ModelTraits": "_model",
    "NoApprover": "_approval",
    "ProviderConfig": "_config",
    "Session": "_loop",
    "ThreadInfo": "_store",
    "ToolBox": "tools",
    "ToolCall": "_model",
    "ToolContext": "tools",
    "ToolSpec": "_model",
    "action_tools": "tools",
    "builtin_tools": "tools",
    "find_git_root": "_instructions",
    "is_git_repository": "_instructions",
    "is_known_safe": "_approval",
    "load_config": "_config",
    "open_model": "_wiring",
    "open_model_source": "_wiring",
    "plan_playbook": "_playbook",
    "project_docs": "_instructions",
    "registered_servers": "_wiring",
    "start_session": "_wiring",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "AgentConfig",
    "AgentRun",
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRule",
    "ApprovalRules",
    "Approver",
    "Budgets",
    "ConversationStore",
    "Instructions",
    "Message",
    "Model",
    "ModelChoice",
    "ModelReply",
    "ModelRequest",
    "ModelSource",
    "ModelTraits",
    "NoApprover",
    "ProviderConfig",
    "Session",
    "ThreadInfo",
    "ToolBox",
    "ToolCall",
    "ToolContext",
    "ToolSpec",
    "action_tools",
    "builtin_tools",
    "find_git_root",
    "is_git_repository",
    "is_known_safe",
    "load_config",
    "open_model",
    "open_model_source",
    "plan_playbook",
    "project_docs",
    "registered_servers",
    "start_session",
]
