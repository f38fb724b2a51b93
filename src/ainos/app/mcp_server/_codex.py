"""The coding agent over MCP, as ``codex mcp-server`` offered it: the ``codex`` and
``codex-reply`` tools (a client switches by changing one command), ``codex-stop`` and
``codex-close`` (asked for, never given), and the plan's ``newConversation`` /
``sendUserMessage`` requests on the same threads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp_types as types
from pydantic import BaseModel, ConfigDict, Field

from ainos.app.agent import ApprovalDecision
from ainos.app.mcp_server._approver import decision_of
from ainos.app.mcp_server._peer import ConnectionPeer
from ainos.app.mcp_server._state import ServerState
from ainos.app.mcp_server._threads import LiveThread, ThreadSettings
from ainos.app.mcp_server._tools import (
    ToolCall,
    ToolEntry,
    ToolFailure,
    ToolResult,
    error_result,
)
from ainos.app.mcp_server._turns import Question, TurnOutcome, follow, start_turn

__all__ = ["codex_tools", "conversation_methods"]

log = logging.getLogger(__name__)

_APPROVAL_POLICIES = ["untrusted", "on-failure", "on-request", "never"]
_SANDBOXES = ["read-only", "workspace-write", "danger-full-access"]

_CODEX_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "description": "The user's request."},
        "model": {"type": "string", "description": "A model of the configured provider."},
        "profile": {"type": "string", "description": "A profile of the config file."},
        "cwd": {"type": "string", "description": "The working directory (default: the server's)."},
        "approval-policy": {"type": "string", "enum": _APPROVAL_POLICIES},
        "sandbox": {"type": "string", "enum": _SANDBOXES},
        "config": {
            "type": "object",
            "description": "Settings that override the config file, as a (nested) object.",
        },
        "base-instructions": {"type": "string", "description": "Replaces the base instructions."},
        "developer-instructions": {
            "type": "string",
            "description": "Added after the base instructions.",
        },
        "compact-prompt": {
            "type": "string",
            "description": "Accepted for compatibility; "
            "ainos trims old tool output itself when the context fills.",
        },
    },
    "required": ["prompt"],
    "additionalProperties": False,
}

_REPLY_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 1},
        "threadId": {"type": "string", "minLength": 1},
        "conversationId": {
            "type": "string",
            "minLength": 1,
            "description": "The old name of threadId.",
        },
    },
    "required": ["prompt"],
    "additionalProperties": False,
}

_THREAD_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"threadId": {"type": "string", "minLength": 1}},
    "required": ["threadId"],
    "additionalProperties": False,
}

_TURN_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "threadId": {"type": "string"},
        "content": {"type": "string", "description": "The agent's last message."},
    },
    "required": ["threadId", "content"],
}

_STOP_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"threadId": {"type": "string"}, "stopped": {"type": "boolean"}},
    "required": ["threadId", "stopped"],
}


def _result(outcome: TurnOutcome) -> types.CallToolResult:
    if outcome.failure is not None:
        reason = "the turn was stopped" if outcome.interrupted else outcome.failure
        content = f"{reason}\n\n{outcome.answer}".strip()
        return types.CallToolResult(
            content=[types.TextContent(text=content)],
            structured_content={"threadId": outcome.thread_id, "content": content},
            is_error=True,
        )
    return types.CallToolResult(
        content=[types.TextContent(text=outcome.answer)],
        structured_content={"threadId": outcome.thread_id, "content": outcome.answer},
    )


def _reply(stop: TurnOutcome | Question) -> ToolResult:
    """The call's result: the turn's end, or (2026-07-28) the question it waits on."""
    if isinstance(stop, TurnOutcome):
        return _result(stop)
    question = types.ElicitRequest(
        params=types.ElicitRequestFormParams(
            message=stop.params["message"], requested_schema=stop.params["requestedSchema"]
        )
    )
    return types.InputRequiredResult(
        input_requests={stop.key: question},
        request_state=json.dumps({"thread": stop.thread_id, "question": stop.key}),
    )


async def _answer(state: ServerState, call: ToolCall) -> ToolResult:
    """A retried call: the answer to the question its turn waits on, then the turn's next
    stop. (The state was sealed by the SDK on the way out and checked on the way in.)"""
    try:
        token = json.loads(call.request_state or "")
        thread_id, key = str(token["thread"]), str(token["question"])
    except (ValueError, KeyError, TypeError):
        raise ToolFailure(f"{call.name}: requestState is not one this server issued") from None
    live = state.conversations.live(thread_id)
    turn = live.turn if live is not None else None
    question = turn.question if turn is not None else None
    if turn is None or question is None or question.key != key:
        raise ToolFailure(
            f"{call.name}: approval {key} is no longer open (it timed out, or the turn ended)"
        )
    response = (call.input_responses or {}).get(key)
    reply = response.model_dump(by_alias=True, exclude_none=True) if response is not None else {}
    question.answer(decision_of(reply))
    return _reply(await follow(turn, call.peer))


def _settings(args: dict[str, Any]) -> ThreadSettings:
    cwd = args.get("cwd")
    return ThreadSettings(
        cwd=Path(cwd) if cwd else None,
        model=args.get("model"),
        profile=args.get("profile"),
        approval_policy=args.get("approval-policy") or args.get("approvalPolicy"),
        sandbox=args.get("sandbox"),
        config=args.get("config") or {},
        base_instructions=args.get("base-instructions") or args.get("baseInstructions"),
        developer_instructions=(
            args.get("developer-instructions") or args.get("developerInstructions")
        ),
    )


def codex_tools(state: ServerState) -> list[ToolEntry]:
    timeout = state.options.approval_timeout
    conversations = state.conversations

    async def run(
        call: ToolCall, open_thread: Callable[[], LiveThread], announce: bool
    ) -> ToolResult:
        turn = await start_turn(
            state.tasks,
            call.peer,
            open_thread,
            call.arguments["prompt"],
            approval_timeout=timeout,
            announce_session=announce,
        )
        return _reply(await follow(turn, call.peer))

    async def codex(call: ToolCall) -> ToolResult:
        if call.request_state is not None:
            return await _answer(state, call)
        settings = _settings(call.arguments)
        return await run(call, lambda: conversations.create(settings), True)

    async def codex_reply(call: ToolCall) -> ToolResult:
        if call.request_state is not None:
            return await _answer(state, call)
        thread_id = call.arguments.get("threadId") or call.arguments.get("conversationId")
        if not thread_id:
            raise ToolFailure("codex-reply: invalid argument threadId: required")
        return await run(call, lambda: conversations.get(thread_id), False)

    async def codex_stop(call: ToolCall) -> types.CallToolResult:
        thread_id = _resolve(state, call.arguments["threadId"])
        if thread_id is None:
            return error_result(f"no thread {call.arguments['threadId']!r}")
        live = conversations.live(thread_id)
        running = live is not None and live.busy.locked()
        if live is not None:
            live.stop()
        return _stopped(thread_id, running, "stopping its turn" if running else "no turn runs")

    async def codex_close(call: ToolCall) -> types.CallToolResult:
        thread_id = _resolve(state, call.arguments["threadId"])
        if thread_id is None:
            return error_result(f"no thread {call.arguments['threadId']!r}")
        live = conversations.live(thread_id)
        running = live is not None and live.busy.locked()
        conversations.close(thread_id)
        return _stopped(thread_id, running, "closed; its conversation stays stored")

    def tool(
        name: str,
        title: str,
        description: str,
        schema: dict[str, Any],
        output: dict[str, Any],
    ) -> types.Tool:
        return types.Tool(
            name=name,
            title=title,
            description=description,
            input_schema=schema,
            output_schema=output,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=True, open_world_hint=False
            ),
        )

    return [
        ToolEntry(
            tool(
                "codex",
                "Coding agent: new conversation",
                "Run the ainos coding agent on a prompt in a new conversation. It reads, "
                "searches and edits files and runs commands under the chosen sandbox and "
                "approval policy; approvals are asked by elicitation. Returns the thread id "
                "(for codex-reply) and the agent's answer.",
                _CODEX_INPUT,
                _TURN_OUTPUT,
            ),
            codex,
        ),
        ToolEntry(
            tool(
                "codex-reply",
                "Coding agent: continue",
                "Continue a conversation of the coding agent with a new prompt.",
                _REPLY_INPUT,
                _TURN_OUTPUT,
            ),
            codex_reply,
        ),
        ToolEntry(
            tool(
                "codex-stop",
                "Coding agent: stop the turn",
                "Stop the turn a conversation is running (it ends at its next step).",
                _THREAD_INPUT,
                _STOP_OUTPUT,
            ),
            codex_stop,
        ),
        ToolEntry(
            tool(
                "codex-close",
                "Coding agent: close a conversation",
                "Stop a conversation's turn and release it; its history stays stored and "
                "codex-reply can reopen it.",
                _THREAD_INPUT,
                _STOP_OUTPUT,
            ),
            codex_close,
        ),
    ]


def _resolve(state: ServerState, thread_id: str) -> str | None:
    """The id of the thread ``thread_id`` names — live, or stored (where a unique prefix
    names it too, as for codex-reply) — or None."""
    from ainos.errors import NotFound

    if state.conversations.live(thread_id) is not None:
        return thread_id
    try:
        return state.conversations.store.get(thread_id).id
    except NotFound:
        return None


def _stopped(thread_id: str, running: bool, text: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=f"thread {thread_id}: {text}")],
        structured_content={"threadId": thread_id, "stopped": running},
    )


# -- the plan's conversation requests -----------------------------------------------------


class NewConversationParams(types.RequestParams):
    """``newConversation``: the ``codex`` tool's settings, camelCase as Codex sent them."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    model: str | None = None
    profile: str | None = None
    cwd: str | None = None
    approval_policy: str | None = Field(default=None, alias="approvalPolicy")
    sandbox: str | None = None
    config: dict[str, Any] | None = None
    base_instructions: str | None = Field(default=None, alias="baseInstructions")
    developer_instructions: str | None = Field(default=None, alias="developerInstructions")


class _InputItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "text"
    text: str | None = None
    data: dict[str, Any] | None = None

    def as_text(self) -> str:
        if self.text is not None:
            return self.text
        value = (self.data or {}).get("text")
        return value if isinstance(value, str) else ""


class SendUserMessageParams(types.RequestParams):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    conversation_id: str = Field(alias="conversationId", min_length=1)
    items: list[_InputItem] = Field(min_length=1)


def conversation_methods(state: ServerState) -> dict[str, tuple[type[types.RequestParams], Any]]:
    """``method -> (params model, handler)`` for ``Server.add_request_handler``."""
    conversations = state.conversations

    async def new_conversation(ctx: Any, params: NewConversationParams) -> dict[str, Any]:
        import anyio.to_thread

        settings = ThreadSettings(
            cwd=Path(params.cwd) if params.cwd else None,
            model=params.model,
            profile=params.profile,
            approval_policy=params.approval_policy,
            sandbox=params.sandbox,
            config=params.config or {},
            base_instructions=params.base_instructions,
            developer_instructions=params.developer_instructions,
        )
        live: LiveThread = await anyio.to_thread.run_sync(conversations.create, settings)
        return {"conversationId": live.id, "model": live.config.model, "rolloutPath": None}

    async def send_user_message(ctx: Any, params: SendUserMessageParams) -> dict[str, Any]:
        import anyio.to_thread

        prompt = "\n".join(item.as_text() for item in params.items).strip()
        if not prompt:
            from ainos.errors import InvalidArgument

            raise InvalidArgument("sendUserMessage: items carry no text")
        live = await anyio.to_thread.run_sync(conversations.get, params.conversation_id)
        if live.busy.locked():
            from ainos.errors import InvalidArgument

            raise InvalidArgument(f"conversation {live.id} is running a turn")
        peer = ConnectionPeer(ctx)

        turn = await start_turn(
            state.tasks,
            peer,
            lambda: live,
            prompt,
            approval_timeout=state.options.approval_timeout,
            announce_session=False,
            meta={"conversationId": live.id},
        )

        async def follow_to_the_end() -> None:
            # Nobody waits on this turn: a question it would relay (a 2026-07-28
            # connection, which takes no requests) is denied at once.
            while True:
                try:
                    stop = await follow(turn, peer)
                except Exception as exc:
                    log.info("sendUserMessage turn on %s failed: %s", live.id, exc)
                    return
                if isinstance(stop, TurnOutcome):
                    return
                stop.answer(ApprovalDecision.DENIED)

        state.tasks.start_soon(follow_to_the_end)
        return {}

    return {
        "newConversation": (NewConversationParams, new_conversation),
        "sendUserMessage": (SendUserMessageParams, send_user_message),
    }
