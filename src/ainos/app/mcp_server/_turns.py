"""Running one agent turn for a client: in a worker thread, its events sent as
``codex/event`` notifications and MCP progress as they happen, its approvals asked by
elicitation, stopped when the client cancels the call or stops the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from ainos.app.mcp_server._approver import ElicitationApprover
from ainos.app.mcp_server._codex_events import session_configured, to_event_msgs
from ainos.app.mcp_server._peer import Peer
from ainos.app.mcp_server._threads import LiveThread
from ainos.errors import InvalidArgument
from ainos.protocol.agent import (
    AgentMessageItem,
    ItemCompleted,
    TurnCompleted,
    TurnFailed,
)

__all__ = ["TurnOutcome", "run_turn"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOutcome:
    thread_id: str
    answer: str
    failure: str | None = None  # why the turn did not complete
    interrupted: bool = False


def _progress_line(msg: dict[str, Any]) -> str | None:
    kind = str(msg["type"])
    if kind == "exec_command_begin":
        return "running " + " ".join(map(str, msg["command"]))[:200]
    if kind == "patch_apply_begin":
        return "patching " + ", ".join(map(str, msg["changes"]))[:200]
    if kind == "mcp_tool_call_begin":
        return f"calling {msg['invocation']['server']}.{msg['invocation']['tool']}"
    if kind == "agent_message":
        return "answer ready"
    if kind in ("task_started", "task_complete", "error", "turn_aborted"):
        return kind.replace("_", " ")
    return None


class _Sender:
    """The turn's notifications, sent from the worker thread on the server's loop. A client
    that went away (a cancelled call's closed stream) loses them, and the turn goes on."""

    def __init__(self, peer: Peer, thread_id: str, meta: dict[str, Any]) -> None:
        self.peer = peer
        self.thread_id = thread_id
        self.meta = meta
        self.steps = 0

    def send(self, msg: dict[str, Any], event_id: str | None = None) -> None:
        try:
            anyio.from_thread.run(self._send, msg, event_id)
        except Exception as exc:  # the client is gone; the turn itself carries on
            log.debug("codex/event not delivered: %s", exc)

    async def _send(self, msg: dict[str, Any], event_id: str | None) -> None:
        request_id = self.peer.request_id
        params = {
            "_meta": {**self.meta, "requestId": request_id, "threadId": self.thread_id},
            "id": event_id
            if event_id is not None
            else str(request_id if request_id is not None else self.thread_id),
            "msg": msg,
        }
        await self.peer.notify("codex/event", params)
        line = _progress_line(msg)
        if line is not None:
            self.steps += 1
            await self.peer.progress(self.steps, None, line)


async def run_turn(
    peer: Peer,
    open_thread: Callable[[], LiveThread],
    prompt: str,
    *,
    approval_timeout: float,
    announce_session: bool,
    meta: dict[str, Any] | None = None,
) -> TurnOutcome:
    """Run ``prompt`` on the thread ``open_thread`` returns (called in the worker: creating
    a thread may load a model). Cancelling the caller stops the turn at its next step."""
    started: list[LiveThread] = []

    def work() -> TurnOutcome:
        live = open_thread()
        started.append(live)
        if not live.busy.acquire(blocking=False):
            raise InvalidArgument(
                f"thread {live.id} is running a turn; wait for it, or stop it with codex-stop"
            )
        sender = _Sender(peer, live.id, dict(meta or {}))
        try:
            live.run.session.context.cancel.clear()
            live.approver.target = ElicitationApprover(
                peer, live.id, approval_timeout, announce=sender.send
            )
            if announce_session:
                history = len(live.run.session.history)
                sender.send(session_configured(live.id, live.config.model, history))
            answer = ""
            failure: str | None = None
            interrupted = False
            try:
                for event in live.run.run_turn(prompt):
                    if isinstance(event, ItemCompleted) and isinstance(
                        event.item, AgentMessageItem
                    ):
                        answer = event.item.text
                    if isinstance(event, TurnFailed):
                        interrupted = event.error.message == "interrupted"
                        failure = event.error.message
                    if isinstance(event, TurnCompleted):
                        failure = None
                    for msg in to_event_msgs(event, str(live.cwd), answer or None):
                        sender.send(msg)
            except KeyboardInterrupt:
                # The agent ends a stopped turn as Ctrl-C would: by raising KeyboardInterrupt
                # (its TurnFailed is recorded, not yielded). Out of this worker it would take
                # the whole server down; here it is the stop the client asked for.
                if not live.run.session.context.cancel.is_set():
                    raise
                stopped = TurnFailed.of("interrupted")
                for msg in to_event_msgs(stopped, str(live.cwd), answer or None):
                    sender.send(msg)
                return TurnOutcome(live.id, answer, "interrupted", interrupted=True)
            return TurnOutcome(live.id, answer, failure, interrupted)
        finally:
            live.approver.target = None
            live.busy.release()

    try:
        # abandon_on_cancel: a cancelled call returns at once; the worker sees the stop
        # flag at its next step and ends the turn as interrupted.
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        for live in started:
            live.stop()
        raise
