"""Action definitions as loaded from JSON (Windows.AI.Actions.Hosting's records).

``ActionDefinition`` is pure data plus an optional ``host`` (the runtime that can run it);
the catalog hands out definitions bound to its runtime, so ``get_overloads()[0].invoke_async``
works as in Windows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from ainos.ai.actions._entities import ActionEntity, ArrayActionEntity
from ainos.ai.actions._expression import Expression, Template
from ainos.ai.actions._kinds import ActionEntityKind, ActionInvocationResult
from ainos.errors import ActionError

if TYPE_CHECKING:
    from ainos.ai.actions._context import ActionFeedback, ActionInvocationContext

__all__ = [
    "ActionDefinition",
    "ActionEntityRegistrationInfo",
    "ActionHost",
    "ActionInvocation",
    "ActionOverload",
    "InputCombination",
    "InvocationType",
    "entity_resolver",
]

_FILE_KINDS = frozenset({ActionEntityKind.FILE, ActionEntityKind.DOCUMENT, ActionEntityKind.PHOTO})


class InvocationType(StrEnum):
    """How an action is run. ``Uri`` and ``COM`` are Windows' own; the rest are ainos'."""

    URI = "Uri"
    COM = "COM"
    ENTRY_POINT = "EntryPoint"
    MODULE = "Module"
    COMMAND = "Command"


@dataclass(frozen=True)
class ActionEntityRegistrationInfo:
    """One declared input or output: its name and kind (``Text[]`` is an array of Text)."""

    name: str
    kind: ActionEntityKind
    element_kind: ActionEntityKind | None = None
    required: bool = True

    @property
    def kind_spec(self) -> str:
        if self.kind is ActionEntityKind.ARRAY and self.element_kind is not None:
            return f"{self.element_kind.wire_name}[]"
        return self.kind.wire_name

    def accepts(self, entity: ActionEntity) -> bool:
        """Whether ``entity`` can fill this slot. A File slot takes any file (Document, Photo)."""
        if self.kind is ActionEntityKind.ARRAY:
            return isinstance(entity, ArrayActionEntity) and (
                self.element_kind is None or entity.element_kind is self.element_kind
            )
        if self.kind is ActionEntityKind.FILE:
            return entity.kind in _FILE_KINDS
        return entity.kind is self.kind

    def to_dict(self, *, with_required: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind_spec}
        if with_required and not self.required:
            data["required"] = False
        return data


@dataclass(frozen=True)
class InputCombination:
    """A set of inputs an action accepts together, with its description and ``where`` clauses."""

    inputs: tuple[str, ...]
    description: Template | None = None
    where: tuple[Expression, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"inputs": list(self.inputs)}
        if self.description is not None:
            data["description"] = self.description.source
        if self.where:
            data["where"] = [clause.source for clause in self.where]
        return data


@dataclass(frozen=True)
class ActionInvocation:
    """The ``invocation`` object: which provider runs the action, and with what."""

    type: InvocationType
    uri: Template | None = None
    clsid: str | None = None
    entry_point: str | None = None
    module: str | None = None
    command: tuple[Template, ...] = ()
    input_data: Mapping[str, Template] | None = None
    timeout: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type.value}
        if self.uri is not None:
            data["uri"] = self.uri.source
        if self.clsid is not None:
            data["clsid"] = self.clsid
        if self.entry_point is not None:
            data["entryPoint"] = self.entry_point
        if self.module is not None:
            data["module"] = self.module
        if self.command:
            data["command"] = [part.source for part in self.command]
        if self.input_data is not None:
            data["inputData"] = {name: t.source for name, t in self.input_data.items()}
        if self.timeout is not None:
            data["timeout"] = self.timeout
        return data


class ActionHost(Protocol):
    """What a definition needs from the runtime that runs it."""

    async def invoke(
        self, context: ActionInvocationContext, overload: ActionOverload | None = None
    ) -> ActionInvocationResult: ...

    async def process_feedback(
        self, context: ActionInvocationContext, feedback: ActionFeedback
    ) -> None: ...

    def supports_feedback(self, action_id: str) -> bool: ...


@dataclass(frozen=True)
class ActionDefinition:
    id: str
    description: str
    inputs: tuple[ActionEntityRegistrationInfo, ...]
    input_combinations: tuple[InputCombination, ...]
    invocation: ActionInvocation
    outputs: tuple[ActionEntityRegistrationInfo, ...] = ()
    icon: str | None = None
    displays_ui: bool = False
    uses_generative_ai: bool = False
    schema_version: int = 3
    is_available: bool = True
    allowed_app_invokers: tuple[str, ...] = ("*",)
    content_age_rating: str | None = None
    source: str = ""
    host: ActionHost | None = field(default=None, compare=False, repr=False)

    def get_inputs(self) -> tuple[ActionEntityRegistrationInfo, ...]:
        return self.inputs

    def get_outputs(self) -> tuple[ActionEntityRegistrationInfo, ...]:
        return self.outputs

    def get_overloads(self) -> tuple[ActionOverload, ...]:
        return tuple(ActionOverload(self, combination) for combination in self.input_combinations)

    def input(self, name: str) -> ActionEntityRegistrationInfo | None:
        return next((info for info in self.inputs if info.name == name), None)

    def output(self, name: str) -> ActionEntityRegistrationInfo | None:
        return next((info for info in self.outputs if info.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The action in the definition-file format (one element of ``actions[]``)."""
        data: dict[str, Any] = {"id": self.id, "description": self.description}
        if self.icon is not None:
            data["icon"] = self.icon
        data |= {
            "displaysUI": self.displays_ui,
            "usesGenerativeAI": self.uses_generative_ai,
            "isAvailable": self.is_available,
            "allowedAppInvokers": list(self.allowed_app_invokers),
            "inputs": [info.to_dict() for info in self.inputs],
            "inputCombinations": [c.to_dict() for c in self.input_combinations],
            "outputs": [info.to_dict(with_required=False) for info in self.outputs],
        }
        if self.content_age_rating is not None:
            data["contentAgeRating"] = self.content_age_rating
        data["invocation"] = self.invocation.to_dict()
        return data


def entity_resolver(named: Mapping[str, ActionEntity]) -> Callable[[tuple[str, ...]], object]:
    """A resolver for templates and ``where``: ``("File", "Extension")`` → the value or None."""

    def resolve(path: tuple[str, ...]) -> object:
        entity = named.get(path[0])
        if entity is None:
            return None
        value: object = entity.property_values()
        for part in path[1:]:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    return resolve


@dataclass(frozen=True)
class ActionOverload:
    """One input combination of an action, invocable on its own (Windows' ``ActionOverload``)."""

    definition: ActionDefinition
    combination: InputCombination

    @property
    def description_template(self) -> str:
        template = self.combination.description
        return template.source if template is not None else self.definition.description

    def get_inputs(self) -> tuple[ActionEntityRegistrationInfo, ...]:
        wanted = set(self.combination.inputs)
        return tuple(info for info in self.definition.inputs if info.name in wanted)

    def matches(self, named: Mapping[str, ActionEntity]) -> bool:
        """Exactly this combination's inputs, of the declared kinds, and every ``where`` true."""
        if set(named) != set(self.combination.inputs):
            return False
        for info in self.get_inputs():
            if not info.accepts(named[info.name]):
                return False
        resolve = entity_resolver(named)
        return all(clause.holds(resolve) for clause in self.combination.where)

    def describe(self, named: Mapping[str, ActionEntity]) -> str:
        template = self.combination.description
        if template is None:
            return self.definition.description
        return template.render(entity_resolver(named))

    def _host(self) -> ActionHost:
        host = self.definition.host
        if host is None:
            raise ActionError(f"action {self.definition.id} is not attached to a runtime")
        return host

    def get_supports_feedback(self) -> bool:
        return self._host().supports_feedback(self.definition.id)

    async def invoke_async(self, context: ActionInvocationContext) -> ActionInvocationResult:
        return await self._host().invoke(context, self)

    async def invoke_feedback_async(
        self, context: ActionInvocationContext, feedback: ActionFeedback
    ) -> None:
        await self._host().process_feedback(context, feedback)
