"""The invocation context: what one run of an action receives and produces."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ainos.ai.actions._definition import ActionDefinition
from ainos.ai.actions._entities import ActionEntity, NamedActionEntity
from ainos.ai.actions._factory import ActionEntityFactory
from ainos.ai.actions._kinds import (
    ActionFeedbackKind,
    ActionInvocationHelpKind,
    ActionInvocationResult,
)
from ainos.errors import ActionError

__all__ = [
    "ActionFeedback",
    "ActionInvocationContext",
    "ActionInvocationHelpDetails",
    "ActionInvoker",
]

OutputHandler = Callable[[NamedActionEntity], None]


@dataclass(frozen=True)
class ActionFeedback:
    kind: ActionFeedbackKind

    @property
    def feedback_kind(self) -> ActionFeedbackKind:
        return self.kind


@dataclass
class ActionInvocationHelpDetails:
    """What a user can do about the outcome (Windows shows it next to the result)."""

    kind: ActionInvocationHelpKind = ActionInvocationHelpKind.NONE
    title: str = ""
    description: str = ""
    help_uri: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.wire_name,
            "title": self.title,
            "description": self.description,
            "helpUri": self.help_uri,
        }


@dataclass(frozen=True)
class ActionInvoker:
    """Who asked for the action: a process and the name of the client it runs."""

    pid: int
    client_name: str

    @classmethod
    def current(cls, client_name: str = "ainos") -> ActionInvoker:
        return cls(os.getpid(), client_name)


@dataclass
class ActionInvocationContext:
    """Named inputs in, named outputs and a result out.

    The provider sets outputs (checked against the definition's declared outputs), and may
    set ``result``, ``extended_error`` and ``help_details``; the runtime fills them in when
    the provider fails.
    """

    action_id: str
    entity_factory: ActionEntityFactory
    definition: ActionDefinition | None = None
    invoker: ActionInvoker = field(default_factory=ActionInvoker.current)
    result: ActionInvocationResult = ActionInvocationResult.SUCCESS
    extended_error: str | None = None
    help_details: ActionInvocationHelpDetails = field(default_factory=ActionInvocationHelpDetails)
    invocation_id: int | None = None
    _inputs: dict[str, ActionEntity] = field(default_factory=dict, repr=False)
    _outputs: dict[str, ActionEntity] = field(default_factory=dict, repr=False)
    _output_handlers: list[OutputHandler] = field(default_factory=list, repr=False)

    def set_input_entity(self, name: str, entity: ActionEntity) -> None:
        if self.definition is not None:
            info = self.definition.input(name)
            if info is None:
                declared = ", ".join(i.name for i in self.definition.inputs) or "none"
                raise ActionError(f"{self.action_id} has no input {name!r} (inputs: {declared})")
            if not info.accepts(entity):
                raise ActionError(
                    f"input {name!r} of {self.action_id} takes {info.kind_spec}, "
                    f"not {entity.kind.wire_name}"
                )
        self._inputs[name] = entity

    def get_input_entities(self) -> tuple[NamedActionEntity, ...]:
        return tuple(NamedActionEntity(n, e) for n, e in self._inputs.items())

    def get_input(self, name: str) -> ActionEntity | None:
        return self._inputs.get(name)

    @property
    def inputs(self) -> dict[str, ActionEntity]:
        return dict(self._inputs)

    def set_output_entity(self, name: str, entity: ActionEntity) -> None:
        if self.definition is not None:
            info = self.definition.output(name)
            if info is None:
                declared = ", ".join(o.name for o in self.definition.outputs) or "none"
                raise ActionError(
                    f"{self.action_id} declares no output {name!r} (outputs: {declared})"
                )
            if not info.accepts(entity):
                raise ActionError(
                    f"output {name!r} of {self.action_id} is {info.kind_spec}, "
                    f"not {entity.kind.wire_name}"
                )
        self._outputs[name] = entity
        for handler in list(self._output_handlers):
            handler(NamedActionEntity(name, entity))

    def get_output_entities(self) -> tuple[NamedActionEntity, ...]:
        return tuple(NamedActionEntity(n, e) for n, e in self._outputs.items())

    def get_output(self, name: str) -> ActionEntity | None:
        return self._outputs.get(name)

    @property
    def outputs(self) -> dict[str, ActionEntity]:
        return dict(self._outputs)

    def add_output_handler(self, handler: OutputHandler) -> None:
        """Be told of each output as it is set (streaming outputs can be followed at once)."""
        self._output_handlers.append(handler)

    def fail(
        self,
        result: ActionInvocationResult,
        reason: str,
        *,
        help_kind: ActionInvocationHelpKind = ActionInvocationHelpKind.ERROR,
    ) -> None:
        """Record an unsuccessful outcome with its reason (shown to the user)."""
        self.result = result
        self.extended_error = reason
        if self.help_details.kind is ActionInvocationHelpKind.NONE:
            self.help_details = ActionInvocationHelpDetails(help_kind, result.wire_name, reason)
