"""The one exception hierarchy of ainos.

Every error a user can cause or meet derives from :class:`AinosError`. The CLI turns any
of them into a single line on stderr and a non-zero exit code; anything else escaping is
a bug and is reported as such.
"""

from __future__ import annotations

__all__ = [
    "ActionDefinitionError",
    "ActionError",
    "AgentError",
    "AinosError",
    "ApprovalDenied",
    "ConfigError",
    "ContextLengthExceeded",
    "ConversationNotFound",
    "DeadlineExceeded",
    "DeviceError",
    "FdPassingError",
    "HandleNotOwned",
    "HostRegistrationError",
    "InvalidAllocationSize",
    "InvalidArgument",
    "InvalidHandle",
    "JobCancelled",
    "JobFailed",
    "McpManifestError",
    "McpRegistryError",
    "McpServerError",
    "McpServerNotFound",
    "MemoryPoolError",
    "ModelError",
    "ModelNotFound",
    "NotFound",
    "OutputClosed",
    "PatchError",
    "PermissionDenied",
    "PoolClosed",
    "PoolExhausted",
    "PoolQuotaExceeded",
    "QueueFull",
    "SandboxUnavailable",
    "SchedulerClosed",
    "SchedulerError",
    "TelemetryError",
    "UnsupportedModel",
]


class AinosError(Exception):
    """Base of every ainos error. ``str(error)`` is the one line a user sees."""

    exit_code: int = 1


class InvalidArgument(AinosError):
    """A value given by the user or a client is not acceptable."""

    exit_code = 2


class NotFound(AinosError):
    """A named thing (device, process, model, action …) does not exist."""


class PermissionDenied(AinosError):
    """The operating system refused an operation ainos asked for."""


class DeviceError(AinosError):
    """A compute device could not be queried or used."""


class TelemetryError(AinosError):
    """Statistics could not be sampled or exported."""


class SchedulerError(AinosError):
    """The scheduler could not accept, run or finish a job."""


class QueueFull(SchedulerError):
    """Admission control turned a job away: its class's queue is at its bound."""

    exit_code = 75  # EX_TEMPFAIL: trying again later may succeed


class DeadlineExceeded(SchedulerError):
    """A job's deadline passed before it finished; it was failed rather than run late."""


class JobCancelled(SchedulerError):
    """A job was cancelled (by its client, or because the scheduler shut down)."""


class JobFailed(SchedulerError):
    """A job's work raised an error; the original error is the ``__cause__``."""


class SchedulerClosed(SchedulerError):
    """The scheduler is shut down and takes no more jobs."""


class MemoryPoolError(AinosError):
    """The pinned memory pool refused or could not perform an operation."""


class PoolExhausted(MemoryPoolError):
    """No free block is large enough for an allocation right now."""

    exit_code = 75  # EX_TEMPFAIL: frees by other clients may make room


class PoolQuotaExceeded(MemoryPoolError):
    """An allocation would take a client past its share of the pool."""

    exit_code = 75  # EX_TEMPFAIL: frees of its own blocks make room


class InvalidAllocationSize(MemoryPoolError, InvalidArgument):
    """An allocation size is zero, negative, or larger than the arena can ever hold."""


class InvalidHandle(MemoryPoolError):
    """A handle is unknown to the pool: already freed, forged, or from another arena."""


class HandleNotOwned(InvalidHandle):
    """A client tried to free or use a handle that another client owns."""


class PoolClosed(MemoryPoolError):
    """The pool or arena mapping is closed."""


class FdPassingError(MemoryPoolError):
    """A file descriptor could not be sent or received over a Unix socket."""


class HostRegistrationError(DeviceError):
    """CUDA refused to register (or unregister) host memory as pinned."""


class OutputClosed(AinosError):
    """The reader of our standard output went away (a closed pipe)."""

    exit_code = 141  # 128 + SIGPIPE, what a shell expects of a writer to a closed pipe


class ActionError(AinosError):
    """An AI action could not be resolved, matched to its inputs, or run."""


class ActionDefinitionError(ActionError):
    """An action definition file is malformed: the message names the file, JSON path and fault."""

    exit_code = 2


class ModelError(AinosError):
    """A model could not be found, converted or loaded."""


class ModelNotFound(ModelError, NotFound):
    """A model, or the package that ships it, is not installed."""


class UnsupportedModel(ModelError):
    """A model's architecture or configuration is not one ainos can convert."""

    exit_code = 2


class ContextLengthExceeded(ModelError, InvalidArgument):
    """A request does not fit the model's context window (OpenAI: context_length_exceeded)."""

    def __init__(self, message: str, *, prompt_tokens: int | None, context_tokens: int | None):
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.context_tokens = context_tokens


class AgentError(AinosError):
    """The coding agent could not run a turn, a tool or a provider."""


class ConfigError(AgentError, InvalidArgument):
    """A configuration file or ``-c`` override is malformed: the message names where and why."""

    exit_code = 2


class PatchError(AgentError):
    """A patch does not parse or does not apply; the message names the file and the hunk.
    Nothing was changed on disk."""


class SandboxUnavailable(AgentError):
    """A command must run sandboxed and no sandbox mechanism works here; says why."""


class ApprovalDenied(AgentError):
    """A command or patch needed an approval that was refused (or could not be asked)."""


class ConversationNotFound(AgentError, NotFound):
    """No stored conversation has that id (or the prefix is ambiguous)."""


class McpRegistryError(AinosError):
    """The machine's MCP registry could not register, store, contain or run a server."""


class McpManifestError(McpRegistryError, InvalidArgument):
    """A manifest or configuration file to register from is malformed or of an unknown
    format: the message names the file and the fault."""

    exit_code = 2


class McpServerNotFound(McpRegistryError, NotFound):
    """No registered MCP server has that id."""


class McpServerError(McpRegistryError):
    """A registered MCP server could not be started or reached, or died: the message says
    how (its exit status and the last lines of its stderr)."""
