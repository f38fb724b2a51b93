"""The agent's model providers: implementations of the :class:`~ainos.app.agent._model.Model`
seam.

* :class:`LocalModel` — an on-device model through ``ai.ml``'s ``LlmService``, in this
  process (constrained tool calls, checked and repaired once).
* :class:`OpenAIModel` — any OpenAI-compatible endpoint, Chat Completions or Responses,
  native tool calls (the ``openai`` SDK, imported on first use).
* :class:`DaemonModel` — the ainos daemon's API, with the agent's priority class and name;
  :func:`ensure_daemon` finds the daemon, or starts one.
* :class:`FakeScriptedModel` — a fake that replies from a script, for tests and benchmarks.

Each module imports its heavy dependencies (the LLM layer, the SDK) only when used.
"""

from ainos.app.agent.providers._daemon import API_TOKEN_ENV, DaemonModel, ensure_daemon
from ainos.app.agent.providers._local import LocalModel, read_constrained
from ainos.app.agent.providers._openai import (
    OPENAI_BASE_URL,
    OpenAIModel,
    WireApi,
    responses_input,
)
from ainos.app.agent.providers._scripted import FakeScriptedModel, ScriptStep
from ainos.app.agent.providers._toolcalls import (
    INVALID_TOOL_CALL,
    Attempt,
    RawCall,
    complete_with_repair,
    read_calls,
    schema_problems,
)
from ainos.app.agent.providers._traits import SMALL_PARAMETERS, is_small_model

__all__ = [
    "API_TOKEN_ENV",
    "INVALID_TOOL_CALL",
    "OPENAI_BASE_URL",
    "SMALL_PARAMETERS",
    "Attempt",
    "DaemonModel",
    "FakeScriptedModel",
    "LocalModel",
    "OpenAIModel",
    "RawCall",
    "ScriptStep",
    "WireApi",
    "complete_with_repair",
    "ensure_daemon",
    "is_small_model",
    "read_calls",
    "read_constrained",
    "responses_input",
    "schema_problems",
]
