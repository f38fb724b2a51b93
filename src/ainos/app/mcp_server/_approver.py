"""Approvals asked of the MCP client: ``elicitation/create`` with Codex's fields, answered
with Codex's ``{decision}`` or the spec's ``{action, content}``.

The agent runs in a worker thread and asks synchronously; the question goes out on the
server's event loop, on the channel of the tool call that runs the turn. A question nobody
answers within the timeout is denied, so a client that does not render elicitations never
leaves a turn hanging.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mcp.shared.exceptions import MCPError

from ainos.app.agent import ApprovalDecision, ApprovalRequest
from ainos.app.mcp_server._codex_events import parsed_command
from ainos.app.mcp_server._loop import LoopGone, LoopHandle
from ainos.app.mcp_server._peer import Peer

__all__ = [
    "DECISION_SCHEMA",
    "Channel",
    "ElicitationApprover",
    "approval_params",
    "decision_of",
]

log = logging.getLogger(__name__)

# Offered to clients that render a form: one optional choice. Codex's own clients ignore
# it and answer {"decision": …}.
DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decision": {
            "type": "string",
            "title": "Decision",
            "enum": ["approved", "approved_for_session", "denied", "abort"],
            "description": "approved: this once; approved_for_session: for this thread; "
            "denied: not this; abort: not this, and stop the turn",
        }
    },
}

_DECISIONS = {d.value: d for d in ApprovalDecision}


def decision_of(reply: Mapping[str, Any]) -> ApprovalDecision:
    """A client's answer as a decision; anything unreadable is a denial."""
    decision = reply.get("decision")
    if isinstance(decision, str):
        return _DECISIONS.get(decision, ApprovalDecision.DENIED)
    action = reply.get("action")
    if action == "accept":
        content = reply.get("content")
        chosen = content.get("decision") if isinstance(content, Mapping) else None
        if isinstance(chosen, str) and chosen in _DECISIONS:
            return _DECISIONS[chosen]
        return ApprovalDecision.APPROVED
    if action == "cancel":
        return ApprovalDecision.ABORT
    return ApprovalDecision.DENIED


def _changes(request: ApprovalRequest) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for change in request.changes:
        entry: dict[str, Any] = {"type": change.kind}
        if change.kind == "update":
            entry.update(unified_diff=request.diff, move_path=None)
        changes[change.path] = entry
    return changes


def approval_params(
    request: ApprovalRequest,
    *,
    thread_id: str,
    tool_call_id: str | None,
    event_id: str,
) -> dict[str, Any]:
    """The ``elicitation/create`` params Codex's MCP server sent for this question."""
    common: dict[str, Any] = {
        "requestedSchema": DECISION_SCHEMA,
        "threadId": thread_id,
        "codex_mcp_tool_call_id": tool_call_id,
        "codex_event_id": event_id,
        "codex_call_id": request.call_id,
    }
    if request.kind == "exec":
        command = shlex.join(request.command)
        return {
            "message": f"Allow ainos to run `{command}` in `{request.cwd}`?",
            "codex_elicitation": "exec-approval",
            "codex_command": list(request.command),
            "codex_cwd": str(request.cwd),
            "codex_parsed_cmd": parsed_command(request.command),
            **({"codex_reason": request.reason} if request.reason else {}),
            **common,
        }
    if request.kind == "mcp":
        return {
            "message": f"Allow ainos to call {request.describe()}?",
            "codex_elicitation": "mcp-tool-approval",
            "codex_mcp_server": request.server,
            "codex_mcp_tool": request.tool,
            "codex_mcp_arguments": dict(request.arguments),
            **({"codex_reason": request.reason} if request.reason else {}),
            **common,
        }
    message = f"Allow ainos to apply these changes: {request.describe()}?"
    if request.reason:
        message = f"{request.reason}\n\n{message}"
    return {
        "message": message,
        "codex_elicitation": "patch-approval",
        "codex_reason": request.reason,
        "codex_grant_root": str(request.grant_root) if request.grant_root else None,
        "codex_changes": _changes(request),
        **common,
    }


class Channel(Protocol):
    """Where a turn's approvals go: the call following the turn now, and its events."""

    @property
    def peer(self) -> Peer: ...

    @property
    def loop(self) -> LoopHandle: ...

    def send(self, msg: dict[str, Any], event_id: str | None = None) -> None: ...


def _announcement(request: ApprovalRequest) -> dict[str, Any]:
    """The ``codex/event`` message that precedes the question, as Codex sent it."""
    if request.kind == "exec":
        return {
            "type": "exec_approval_request",
            "call_id": request.call_id,
            "command": list(request.command),
            "cwd": str(request.cwd),
            "reason": request.reason,
            "parsed_cmd": parsed_command(request.command),
        }
    if request.kind == "mcp":
        return {
            "type": "mcp_tool_call_approval_request",
            "call_id": request.call_id,
            "invocation": {
                "server": request.server,
                "tool": request.tool,
                "arguments": dict(request.arguments),
            },
            "reason": request.reason,
        }
    return {
        "type": "apply_patch_approval_request",
        "call_id": request.call_id,
        "changes": _changes(request),
        "reason": request.reason,
        "grant_root": str(request.grant_root) if request.grant_root else None,
    }


@dataclass
class ElicitationApprover:
    """Asks whoever follows the turn now: by ``elicitation/create`` on its call's channel,
    or, on a connection that takes no requests (2026-07-28), through ``relay`` — the call
    returns the question and the client's retry brings the answer."""

    channel: Channel
    thread_id: str
    timeout: float
    relay: Callable[[dict[str, Any]], ApprovalDecision]

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        event_id = f"approval-{request.call_id}"
        self.channel.send(_announcement(request), event_id)
        peer = self.channel.peer
        params = approval_params(
            request,
            thread_id=self.thread_id,
            # None on the connection's channel (a sendUserMessage turn): no tool call.
            tool_call_id=None if peer.request_id is None else str(peer.request_id),
            event_id=event_id,
        )
        if not peer.can_ask:
            return self.relay(params)
        try:
            reply = self.channel.loop.run(self._ask, peer, params)
        except (MCPError, LoopGone) as exc:
            log.info("approval for %s denied: %s", request.call_id, exc)
            return ApprovalDecision.DENIED
        return decision_of(reply)

    async def _ask(self, peer: Peer, params: dict[str, Any]) -> dict[str, Any]:
        return await peer.request("elicitation/create", params, timeout=self.timeout)
