"""The agent loop: a turn is the prompt → model → tool calls → results → … → an answer.

A :class:`Session` is one conversation (a thread). ``run_turn`` is a generator of typed
events (``ainos.protocol.agent``): the CLI, the JSONL printer, the conversation store and
the MCP server all read the same stream. Each turn ends in an answer, or a budget (steps,
tokens, wall time) ends it and says so; the model is a one-method seam
(:class:`~ainos.app.agent._model.Model`), so tests drive the loop with a scripted model.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ainos.app.agent._briefs import file_brief, search_brief
from ainos.app.agent._instructions import Instructions
from ainos.app.agent._model import Message, Model, ModelReply, ModelRequest, ToolCall
from ainos.app.agent._playbook import (
    Playbook,
    digest,
    facts_block,
    plan_playbook,
    readme_intro,
)
from ainos.app.agent._prose import tidy_explanation
from ainos.app.agent._schema_answer import schema_answer
from ainos.app.agent._store import INTERRUPTED_TOOL_RESULT
from ainos.app.agent.tools import ToolBox, ToolContext, ToolOutcome, cap_text
from ainos.errors import AinosError, ContextLengthExceeded
from ainos.protocol.agent import (
    AgentEvent,
    AgentItem,
    AgentMessageItem,
    ErrorItem,
    ItemCompleted,
    ItemStarted,
    McpToolCallItem,
    ReasoningItem,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
    UserMessage,
)

__all__ = ["Budgets", "EventSink", "Session"]

EventSink = Callable[[AgentEvent, int], None]  # (event, turn number): the store's append
_REPEATED = "already called with these arguments in this turn; use the earlier result"
_DROPPED = "[output dropped to fit the model's context window]"
_NOT_RUN = "not run: the turn was ended at an approval prompt"
_EXPLAINER = (
    "You explain software projects accurately and briefly, using only the facts given. "
    "Answer in two or three plain sentences."
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Budgets:
    max_steps: int = 12  # model calls in a turn
    max_tokens: int = 32_000  # input + output tokens of a turn's model calls
    max_seconds: float = 600.0
    max_output_tokens: int = 1024  # of one model reply
    # A small model's reply while it may call tools: a call takes ~100 tokens, and a tiny
    # model left 1024 tokens of constrained JSON can spend minutes writing one long string.
    small_reply_tokens: int = 256
    explain_tokens: int = 320  # of a small model's explanation of the playbook's results
    small_tool_steps: int = 4  # tool rounds a small model may choose before it must answer


@dataclass
class _Turn:
    number: int
    started: float
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    seen: set[str] = field(default_factory=set)
    structured: dict[str, dict[str, Any]] = field(default_factory=dict)  # by tool name
    outputs: dict[str, str] = field(default_factory=dict)  # by call id, whole

    def over_budget(self, budgets: Budgets) -> str | None:
        if self.steps >= budgets.max_steps:
            return f"the step budget ({budgets.max_steps} model calls) is spent"
        if self.usage.total >= budgets.max_tokens:
            return f"the token budget ({budgets.max_tokens} tokens) is spent"
        if time.monotonic() - self.started >= budgets.max_seconds:
            return f"the time budget ({budgets.max_seconds:g} s) is spent"
        return None


class Session:
    """One conversation with a model and its tools; ``history`` excludes the system message
    (rebuilt from ``instructions`` each call) and is what the store keeps."""

    def __init__(
        self,
        model: Model,
        tools: ToolBox,
        context: ToolContext,
        instructions: Instructions,
        *,
        budgets: Budgets | None = None,
        history: list[Message] | None = None,
        on_event: EventSink | None = None,
        on_message: Callable[[Message, int], None] | None = None,
        first_turn: int = 1,
        use_playbook: bool = True,
    ) -> None:
        self.model = model
        self.tools = tools
        self.context = context
        self.instructions = instructions
        self.budgets = budgets or Budgets()
        self.history: list[Message] = list(history or [])
        self._on_event = on_event
        self._on_message = on_message
        self._next_turn = first_turn
        self._items = 0
        self._use_playbook = use_playbook

    # -- recording --------------------------------------------------------------------

    def _event(self, event: AgentEvent, turn: _Turn) -> AgentEvent:
        if self._on_event is not None:
            self._on_event(event, turn.number)
        return event

    def _message(self, message: Message, turn: _Turn) -> None:
        self.history.append(message)
        if self._on_message is not None:
            self._on_message(message, turn.number)

    def _item_id(self) -> str:
        item_id = f"item_{self._items}"
        self._items += 1
        return item_id

    # -- a turn -----------------------------------------------------------------------

    def run_turn(
        self,
        prompt: str,
        *,
        output_schema: Mapping[str, Any] | None = None,
        playbook: Playbook | None = None,
    ) -> Iterator[AgentEvent]:
        """One turn on ``prompt``. ``playbook``: the deterministic calls to run first, in
        place of those the request would suggest (a sub-agent's checks)."""
        turn = _Turn(self._next_turn, time.monotonic())
        self._next_turn += 1
        self.context.abort = False  # an abort at an approval ends that turn, not the next
        try:  # a consumer that stops reading at any point before the answer interrupts it
            yield self._event(UserMessage(text=prompt), turn)
            yield self._event(TurnStarted(), turn)
            self._message({"role": "user", "content": prompt}, turn)
            answer = yield from self._work(prompt, turn, output_schema, playbook)
        except AinosError as exc:
            self._settle_calls(turn)
            message = " ".join(str(exc).split())
            # The prompt stays answered, so the next turn's history alternates as chat
            # templates expect (two user messages in a row confuse small models).
            self._message({"role": "assistant", "content": f"(this turn failed: {message})"}, turn)
            yield self._event(TurnFailed.of(message), turn)
            return
        except (KeyboardInterrupt, GeneratorExit):
            self._settle_calls(turn)
            self._event(TurnFailed.of("interrupted"), turn)
            raise
        self._message({"role": "assistant", "content": answer}, turn)
        yield self._event(
            ItemCompleted(item=AgentMessageItem(id=self._item_id(), text=answer)), turn
        )
        yield self._event(TurnCompleted(usage=turn.usage), turn)

    def _settle_calls(self, turn: _Turn) -> None:
        """A result for each call of the last assistant message a cut-short turn left
        unanswered: the next request must answer every call (chat APIs refuse it else)."""
        answered: set[str] = set()
        for message in reversed(self.history):
            if message.get("role") == "tool":
                answered.add(str(message.get("tool_call_id")))
                continue
            if message.get("role") == "assistant":
                for call in message.get("tool_calls") or ():
                    if call["id"] not in answered:
                        result = {"role": "tool", "tool_call_id": call["id"]}
                        self._message({**result, "content": INTERRUPTED_TOOL_RESULT}, turn)
            return

    def _work(
        self,
        prompt: str,
        turn: _Turn,
        output_schema: Mapping[str, Any] | None,
        given: Playbook | None,
    ) -> Generator[AgentEvent, None, str]:
        traits = self.model.traits
        if given is not None:
            playbook = given
        elif self._use_playbook:
            playbook = plan_playbook(prompt, self.context.cwd, self.tools.names())
        else:
            playbook = Playbook()
        if playbook:
            yield from self._run_calls(list(playbook.calls), "", turn)
        facts = _facts(playbook, turn, self.context.cwd)
        if traits.small and playbook:
            # A small model explains what the playbook found rather than choosing tools.
            if output_schema is None:
                return self._explain(prompt, playbook, facts, turn)
            reply = self._fill_schema(prompt, playbook, facts, turn, output_schema)
            return (yield from self._schema_document(reply, output_schema, turn))
        if output_schema is not None:
            facts = ""  # the answer is a JSON document: nothing may be appended to it
        tool_steps = self.budgets.small_tool_steps if traits.small else self.budgets.max_steps
        while True:
            if self.context.cancel.is_set():
                raise KeyboardInterrupt
            if self.context.abort:
                return _compose("The turn was ended at an approval prompt.", facts)
            spent = turn.over_budget(self.budgets)
            if spent is not None:
                message = f"stopped: {spent}"
                yield self._event(
                    ItemCompleted(item=ErrorItem(id=self._item_id(), message=message)), turn
                )
                return _compose(f"I stopped before finishing: {spent}.", facts)
            allow_tools = tool_steps > 0
            reply = self._ask(playbook, allow_tools, output_schema, turn)
            if reply.tool_calls and allow_tools:
                tool_steps -= 1
                fresh = yield from self._run_calls(list(reply.tool_calls), reply.text, turn)
                if not fresh:  # only repeats: the model is going round in circles
                    tool_steps = 0
                continue
            if output_schema is not None:
                return (yield from self._schema_document(reply, output_schema, turn))
            return _compose(reply.text.strip(), facts, reply.finish_reason)

    def _explain(self, prompt: str, playbook: Playbook, facts: str, turn: _Turn) -> str:
        """One short explanation of a digest of the playbook's results, kept honest."""
        reply = self._complete(self._digest_request(prompt, playbook, facts, turn, None), turn)
        grounding = "\n".join([prompt, facts, *turn.outputs.values()])
        return _compose(tidy_explanation(reply.text, grounding), facts)

    def _fill_schema(
        self,
        prompt: str,
        playbook: Playbook,
        facts: str,
        turn: _Turn,
        output_schema: Mapping[str, Any],
    ) -> ModelReply:
        """The JSON document matching ``output_schema`` filled from a digest of the
        playbook's results (constrained)."""
        return self._complete(
            self._digest_request(prompt, playbook, facts, turn, output_schema), turn
        )

    def _digest_request(
        self,
        prompt: str,
        playbook: Playbook,
        facts: str,
        turn: _Turn,
        output_schema: Mapping[str, Any] | None,
    ) -> ModelRequest:
        context = digest(playbook, turn.outputs, facts)
        return ModelRequest(
            messages=[
                {"role": "system", "content": _EXPLAINER},
                {"role": "user", "content": f"{prompt}\n\n{context}\n\n{playbook.explain}"},
            ],
            tool_choice="none",
            output_schema=output_schema,
            max_output_tokens=self.budgets.max_output_tokens
            if output_schema
            else self.budgets.explain_tokens,
        )

    def _schema_document(
        self, reply: ModelReply, output_schema: Mapping[str, Any], turn: _Turn
    ) -> Generator[AgentEvent, None, str]:
        """The turn's answer as a document matching ``output_schema``; a reply cut short is
        closed where it stopped, and said so (:func:`schema_answer`)."""
        answer = schema_answer(reply.text, reply.finish_reason, output_schema)
        if answer.closed_because is not None:
            message = (
                f"the model's JSON answer was cut short by {answer.closed_because}; "
                "it was closed where it stopped"
            )
            yield self._event(
                ItemCompleted(item=ErrorItem(id=self._item_id(), message=message)), turn
            )
        return answer.text

    def _reply_tokens(self, allow_tools: bool) -> int:
        if not self.model.traits.small:
            return self.budgets.max_output_tokens
        return self.budgets.small_reply_tokens if allow_tools else self.budgets.explain_tokens

    def _complete(self, request: ModelRequest, turn: _Turn) -> ModelReply:
        """One model call, counted against the turn's budgets."""
        turn.steps += 1
        reply = self.model.complete(request)
        turn.usage = turn.usage + reply.usage
        return reply

    def _ask(
        self,
        playbook: Playbook,
        allow_tools: bool,
        output_schema: Mapping[str, Any] | None,
        turn: _Turn,
    ) -> ModelReply:
        messages: list[Message] = [
            {"role": "system", "content": self.instructions.system_message()},
            *self.history,
        ]
        if self.model.traits.small:  # a small window: earlier turns' tool output goes first
            messages = _without_old_outputs(messages)
        if playbook:
            messages.append({"role": "user", "content": playbook.explain})
        request = ModelRequest(
            messages=messages,
            tools=self.tools.specs() if allow_tools else (),
            tool_choice="auto" if allow_tools else "none",
            output_schema=output_schema,
            max_output_tokens=self._reply_tokens(allow_tools),
        )
        try:
            return self._complete(request, turn)
        except ContextLengthExceeded:
            # Old tool output is what fills a window: drop it, keep the conversation. The
            # refused call did no work: its retry counts as the same step.
            turn.steps -= 1
            messages = _without_old_outputs(messages)
            return self._complete(dataclasses.replace(request, messages=messages), turn)

    def _run_calls(
        self, calls: list[ToolCall], text: str, turn: _Turn
    ) -> Generator[AgentEvent, None, int]:
        """Run the calls of one assistant message; returns how many were new."""
        if text.strip():
            item = ReasoningItem(id=self._item_id(), text=text.strip())
            yield self._event(ItemCompleted(item=item), turn)
        self._message(
            {"role": "assistant", "content": text, "tool_calls": [c.openai() for c in calls]},
            turn,
        )
        fresh = 0
        for call in calls:
            if self.context.abort:  # every call still gets a result: chat APIs require one
                self._tool_result(call, _NOT_RUN, turn)
                continue
            key = call.name + json.dumps(dict(call.arguments), sort_keys=True)
            if key in turn.seen:
                self._tool_result(call, _REPEATED, turn)
                continue
            turn.seen.add(key)
            fresh += 1
            outcome = yield from self._run_tool(call, turn)
            turn.outputs[call.call_id] = outcome.output
            self._tool_result(call, outcome.output, turn)
        return fresh

    def _run_tool(self, call: ToolCall, turn: _Turn) -> Generator[AgentEvent, None, ToolOutcome]:
        tool = self.tools.get(call.name)
        item_id = self._item_id()
        if tool is None:
            known = ", ".join(self.tools.names())
            message = f"no tool named {call.name!r}; the tools are: {known}"
            item: AgentItem = ErrorItem(id=item_id, message=message)
            yield self._event(ItemCompleted(item=item), turn)
            return ToolOutcome(message, item, ok=False)
        started = tool.start(call, item_id)
        yield self._event(ItemStarted(item=started), turn)
        outcome = tool.run(call, started, self.context)
        yield self._event(ItemCompleted(item=outcome.item), turn)
        if isinstance(outcome.item, McpToolCallItem) and outcome.item.result:
            structured = outcome.item.result.get("structured_content")
            if isinstance(structured, dict):
                turn.structured[call.name] = structured
        return outcome

    def _tool_result(self, call: ToolCall, output: str, turn: _Turn) -> None:
        output = cap_text(output, _result_cap(self.model.traits.context_tokens))
        self._message({"role": "tool", "tool_call_id": call.call_id, "content": output}, turn)


def _facts(playbook: Playbook, turn: _Turn, cwd: Path) -> str:
    """What the answer quotes whatever the model says: the measured figures and the
    project's own words for what it is; a named file's outline; a search's matches."""
    if playbook.facts is not None:
        return playbook.facts(turn.structured, turn.outputs)
    if playbook.intent == "files":
        briefs = [
            file_brief(cwd / str(call.arguments.get("path")), str(call.arguments.get("path")))
            for call in playbook.calls
            if call.name == "read_file"
        ]
        return "\n\n".join(b for b in briefs if b)
    if playbook.intent == "search":
        return "\n\n".join(
            search_brief(str(call.arguments.get("pattern")), turn.outputs.get(call.call_id, ""))
            for call in playbook.calls
            if call.name == "grep"
        )
    facts = facts_block(turn.structured)
    if not facts or playbook.intent != "analysis":
        return facts
    for call in playbook.calls:
        if call.name == "read_file":
            intro = readme_intro(turn.outputs.get(call.call_id, ""))
            if intro:
                first = " ".join(_SENTENCES.split(intro)[:2])
                facts += f"\n- Described in {call.arguments.get('path')} as: {first}"
    return facts


def _result_cap(context_tokens: int | None) -> int:
    """Characters of one tool result a model reads: a share of its window (~4 chars a token)."""
    if not context_tokens:
        return 12_000
    return max(1_500, min(12_000, context_tokens * 4 * 3 // 32))


def _without_old_outputs(messages: list[Message]) -> list[Message]:
    """Tool results before the last user prompt replaced by a marker."""
    last_user = max(
        (i for i, m in enumerate(messages) if m.get("role") == "user"), default=len(messages)
    )
    return [
        {**m, "content": _DROPPED} if m.get("role") == "tool" and i < last_user else m
        for i, m in enumerate(messages)
    ]


def _compose(text: str, facts: str, finish_reason: str = "stop") -> str:
    """The final answer: the model's words, then the measured figures it must not get wrong."""
    if finish_reason == "length" and text:
        text += " […]"
    if not facts:
        return text or "(the model gave no answer)"
    if not text:
        return facts
    return f"{text}\n\n{facts}"
