"""Running one agent turn for a client: in a worker thread, its events sent as
``codex/event`` notifications and MCP progress as they happen, stopped when the client
cancels the call or stops the thread.

Approvals reach the client one of two ways. A connection that takes server-to-client
requests (every protocol version before 2026-07-28) gets ``elicitation/create`` on the
call's channel, and the call goes on when it is answered. A 2026-07-28 connection has no
such requests: the call returns the question as an ``InputRequiredResult``, the worker
waits, and the client's retry of the call carries the answer and follows the turn on.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from ainos.app.agent import ApprovalDecision
from ainos.app.mcp_server._approver import ElicitationApprover
from ainos.app.mcp_server._codex_events import session_configured, to_event_msgs
from ainos.app.mcp_server._loop import LoopHandle
from ainos.app.mcp_server._peer import Peer
from ainos.app.mcp_server._threads import LiveThread
from ainos.app.mcp_server._tools import ToolFailure
from ainos.errors import AgentError, InvalidArgument
from ainos.protocol.agent import (
    AgentMessageItem,
    ItemCompleted,
    TurnCompleted,
    TurnFailed,
)

__all__ = ["Question", "Turn", "TurnOutcome", "follow", "start_turn"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOutcome:
    thread_id: str
    answer: str
    failure: str | None = None  # why the turn did not complete
    interrupted: bool = False


@dataclass
class Question:
    """An approval the worker waits on until a retried call answers it (or it times out)."""

    key: str
    thread_id: str
    params: dict[str, Any]  # the elicitation's params: message, requestedSchema, Codex's fields
    _answered: threading.Event = field(default_factory=threading.Event)
    _decision: ApprovalDecision = ApprovalDecision.DENIED

    def answer(self, decision: ApprovalDecision) -> None:
        if not self._answered.is_set():
            self._decision = decision
            self._answered.set()

    def wait(self, timeout: float) -> ApprovalDecision:
        if not self._answered.wait(timeout):
            log.info("approval %s denied: no answer within %.0f s", self.key, timeout)
            self.answer(ApprovalDecision.DENIED)
        return self._decision


Stop = TurnOutcome | Question | Exception


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
    """The turn's notifications, sent from the worker thread on the server's loop to the
    call that follows the turn now (``peer`` changes when a retried call takes over). A
    client that went away loses them, and the turn goes on."""

    def __init__(self, peer: Peer, meta: dict[str, Any], loop: LoopHandle) -> None:
        self.peer = peer
        self.loop = loop
        self.meta = meta
        self.thread_id = ""
        self.steps = 0

    def send(self, msg: dict[str, Any], event_id: str | None = None) -> None:
        try:
            self.loop.run(self._send, self.peer, msg, event_id)
        except Exception as exc:  # the client is gone; the turn itself carries on
            log.debug("codex/event not delivered: %s", exc)

    async def _send(self, peer: Peer, msg: dict[str, Any], event_id: str | None) -> None:
        request_id = peer.request_id
        params = {
            "_meta": {**self.meta, "requestId": request_id, "threadId": self.thread_id},
            "id": event_id
            if event_id is not None
            else str(request_id if request_id is not None else self.thread_id),
            "msg": msg,
        }
        await peer.notify("codex/event", params)
        line = _progress_line(msg)
        if line is not None:
            self.steps += 1
            await peer.progress(self.steps, None, line)


class Turn:
    """One turn: the worker that runs it, and the stops a waiting call sees — the next
    question to relay, or the end (an outcome, or the error that ended it)."""

    def __init__(self, peer: Peer, approval_timeout: float, meta: dict[str, Any]) -> None:
        self.loop = LoopHandle()  # made on the loop, by start_turn
        self.sender = _Sender(peer, meta, self.loop)
        self.timeout = approval_timeout
        # Unbounded: the worker never blocks on a call that is not (or no longer) waiting.
        self._stops_in, self._stops = anyio.create_memory_object_stream[Stop](math.inf)
        self.live: LiveThread | None = None
        self.question: Question | None = None
        self._abandoned = threading.Event()
        self.started = False  # whether the worker began (else nothing closes the stops)

    # -- the worker's side ---------------------------------------------------------------

    def _post(self, stop: Stop) -> None:
        self.loop.soon(self._deliver, stop)

    def _deliver(self, stop: Stop) -> None:  # on the loop
        try:
            self._stops_in.send_nowait(stop)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            log.debug("nobody follows the turn (%r); its stop is dropped", exc)

    def relay(self, params: dict[str, Any]) -> ApprovalDecision:
        """Ask through the waiting call (it returns the question; the retry answers)."""
        assert self.live is not None
        question = Question(str(params["codex_event_id"]), self.live.id, params)
        self.question = question
        try:
            self._post(question)
            return question.wait(self.timeout)
        finally:
            self.question = None

    def run(self, open_thread: Callable[[], LiveThread], prompt: str, announce: bool) -> None:
        """The worker's body: every way it ends reaches the waiting call as a stop."""
        self.started = True
        try:
            outcome: Stop = self._run(open_thread, prompt, announce)
        except Exception as exc:
            outcome = exc
        except BaseException as exc:  # never out of a worker: it would end the server
            log.warning("turn ended by %r", exc)
            outcome = AgentError("the turn was interrupted")
        self._post(outcome)
        self.loop.soon(self._stops_in.close)
        if self._abandoned.is_set():  # nobody follows the turn any more
            self.loop.soon(self._stops.close)

    def _run(self, open_thread: Callable[[], LiveThread], prompt: str, announce: bool) -> Stop:
        live = open_thread()
        if not live.busy.acquire(blocking=False):
            raise InvalidArgument(
                f"thread {live.id} is running a turn; wait for it, or stop it with codex-stop"
            )
        self.live = live
        self.sender.thread_id = live.id
        context = live.run.session.context
        try:
            context.cancel.clear()
            live.turn = self
            if self._abandoned.is_set():  # the caller left before the thread was open
                context.cancel.set()
            live.approver.target = ElicitationApprover(
                self.sender, live.id, self.timeout, relay=self.relay
            )
            if announce:
                history = len(live.run.session.history)
                self.sender.send(session_configured(live.id, live.config.model, history))
            return self._events(live, prompt)
        finally:
            live.approver.target = None
            live.turn = None
            live.busy.release()
            if live.closed:
                live.run.close()

    def _events(self, live: LiveThread, prompt: str) -> TurnOutcome:
        answer = ""
        failure: str | None = None
        interrupted = False
        try:
            for event in live.run.run_turn(prompt):
                if isinstance(event, ItemCompleted) and isinstance(event.item, AgentMessageItem):
                    answer = event.item.text
                if isinstance(event, TurnFailed):
                    interrupted = event.error.message == "interrupted"
                    failure = event.error.message
                if isinstance(event, TurnCompleted):
                    failure = None
                for msg in to_event_msgs(event, str(live.cwd), answer or None):
                    self.sender.send(msg)
        except KeyboardInterrupt:
            # The agent ends a stopped turn as Ctrl-C would: by raising KeyboardInterrupt
            # (its TurnFailed is recorded, not yielded). Here it is the stop asked for.
            if not live.run.session.context.cancel.is_set():
                raise
            stopped = TurnFailed.of("interrupted")
            for msg in to_event_msgs(stopped, str(live.cwd), answer or None):
                self.sender.send(msg)
            return TurnOutcome(live.id, answer, "interrupted", interrupted=True)
        return TurnOutcome(live.id, answer, failure, interrupted)

    # -- the calls' side -----------------------------------------------------------------

    def release(self) -> None:
        """Stop waiting on the client: an open question is answered "abort"."""
        question = self.question
        if question is not None:
            question.answer(ApprovalDecision.ABORT)

    def abandon(self) -> None:
        """The call following the turn went away: stop the turn at its next step."""
        self._abandoned.set()
        self.release()
        if self.live is not None:
            self.live.stop()

    def close(self) -> None:
        self._stops_in.close()
        self._stops.close()

    async def next_stop(self) -> Stop:
        stop = await self._stops.receive()
        if not isinstance(stop, Question):  # the last one
            self._stops.close()
        return stop


async def start_turn(
    tasks: TaskGroup,
    peer: Peer,
    open_thread: Callable[[], LiveThread],
    prompt: str,
    *,
    approval_timeout: float,
    announce_session: bool,
    meta: dict[str, Any] | None = None,
) -> Turn:
    """Start ``prompt`` on the thread ``open_thread`` returns (called in the worker:
    creating a thread may load a model); ``follow`` it for its stops."""
    turn = Turn(peer, approval_timeout, dict(meta or {}))

    async def work() -> None:
        try:
            # abandon_on_cancel: at shutdown the server does not wait for a turn's next step.
            await anyio.to_thread.run_sync(
                turn.run, open_thread, prompt, announce_session, abandon_on_cancel=True
            )
        except anyio.get_cancelled_exc_class():
            turn.abandon()
            if not turn.started:
                turn.close()
            raise

    tasks.start_soon(work)
    return turn


async def follow(turn: Turn, peer: Peer) -> TurnOutcome | Question:
    """Wait, on ``peer``'s call, for the turn's next stop. Cancelling the call stops the
    turn at its next step."""
    turn.sender.peer = peer
    try:
        stop = await turn.next_stop()
    except anyio.get_cancelled_exc_class():
        turn.abandon()
        raise
    except (anyio.EndOfStream, anyio.ClosedResourceError):
        raise ToolFailure(
            "the turn has ended; its answer went to the call that followed it"
        ) from None
    if isinstance(stop, Exception):
        raise stop
    return stop
