"""``ActionRuntime``: the entry point of the actions API, and the host that runs providers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ainos.ai.actions._catalog import ActionCatalog
from ainos.ai.actions._context import ActionFeedback, ActionInvocationContext, ActionInvoker
from ainos.ai.actions._definition import ActionDefinition, ActionOverload
from ainos.ai.actions._entities import ActionEntity
from ainos.ai.actions._factory import ActionEntityFactory
from ainos.ai.actions._history import ActionHistory
from ainos.ai.actions._kinds import ActionFeedbackKind, ActionInvocationResult
from ainos.ai.actions._loader import SUPPORTED_SCHEMA_VERSIONS
from ainos.ai.actions._provider import ActionProvider, FeedbackHandler
from ainos.ai.actions._resolve import resolve_provider
from ainos.errors import ActionError, AinosError, InvalidArgument

__all__ = ["ActionRuntime"]


def _signature(overload: ActionOverload) -> str:
    inputs = ", ".join(f"{info.name}: {info.kind_spec}" for info in overload.get_inputs())
    where = " && ".join(clause.source for clause in overload.combination.where)
    return f"({inputs})" + (f" where {where}" if where else "")


class ActionRuntime:
    """Entity factory, catalog, availability, feedback and invocation, in one object.

    ``directories`` replaces the user's definition directory and ``include_packages=False``
    leaves out installed providers (both for embedding and tests); ``history`` is the log.
    """

    latest_supported_schema_version = max(SUPPORTED_SCHEMA_VERSIONS)

    def __init__(
        self,
        *,
        directories: Sequence[Path] | None = None,
        include_packages: bool = True,
        history: ActionHistory | None = None,
        client_name: str = "ainos",
    ) -> None:
        self.entity_factory = ActionEntityFactory()
        self.history = history if history is not None else ActionHistory()
        self.action_catalog = ActionCatalog(
            self, directories=directories, include_packages=include_packages
        )
        self.client_name = client_name
        self._providers: dict[tuple[str, str], ActionProvider] = {}
        self._availability: dict[str, bool] | None = None

    # -- Windows.AI.Actions.ActionRuntime ------------------------------------------------

    def create_invocation_context(self, action_id: str) -> ActionInvocationContext:
        definition = self.action_catalog.get(action_id)
        return ActionInvocationContext(
            action_id,
            self.entity_factory,
            definition,
            invoker=ActionInvoker.current(self.client_name),
        )

    def get_action_availability(self, action_id: str) -> bool:
        if self._availability is None:
            self._availability = self.history.availability()
        if action_id in self._availability:
            return self._availability[action_id]
        definition = self.action_catalog.find(action_id)
        return definition.is_available if definition is not None else False

    def set_action_availability(self, action_id: str, is_available: bool) -> None:
        self.action_catalog.get(action_id)
        self.history.set_availability(action_id, is_available)
        self._availability = None

    def create_action_feedback(self, kind: ActionFeedbackKind) -> ActionFeedback:
        return ActionFeedback(kind)

    def get_action_entity_by_id(self, entity_id: str) -> ActionEntity | None:
        return self.entity_factory.get(entity_id)

    # -- hosting -------------------------------------------------------------------------

    def provider_for(self, definition: ActionDefinition) -> ActionProvider:
        key = (definition.id, definition.source)
        provider = self._providers.get(key)
        if provider is None:
            provider = resolve_provider(definition)
            self._providers[key] = provider
        return provider

    def supports_feedback(self, action_id: str) -> bool:
        try:
            return isinstance(
                self.provider_for(self.action_catalog.get(action_id)), FeedbackHandler
            )
        except AinosError:
            return False

    def select_overload(
        self, definition: ActionDefinition, inputs: Mapping[str, ActionEntity]
    ) -> ActionOverload:
        """The first overload the named inputs fit, or ``InvalidArgument`` saying what fits."""
        for overload in definition.get_overloads():
            if overload.matches(inputs):
                return overload
        given = ", ".join(f"{name}: {e.kind.wire_name}" for name, e in inputs.items())
        expected = " or ".join(_signature(o) for o in definition.get_overloads())
        raise InvalidArgument(f"{definition.id} takes {expected}; got ({given})")

    async def invoke(
        self, context: ActionInvocationContext, overload: ActionOverload | None = None
    ) -> ActionInvocationResult:
        """Run the action on the context's inputs; every run is logged, whatever its outcome."""
        definition = context.definition or self.action_catalog.get(context.action_id)
        inputs = context.inputs
        if overload is None:
            overload = self.select_overload(definition, inputs)
        elif not overload.matches(inputs):
            raise InvalidArgument(f"{definition.id}: the inputs do not fit {_signature(overload)}")
        started = time.time()
        clock = time.perf_counter()
        try:
            await self._run(definition, context)
        except asyncio.CancelledError:
            context.fail(ActionInvocationResult.USER_CANCELED, "the invocation was cancelled")
            raise
        finally:
            context.invocation_id = self.history.record_invocation(
                action_id=definition.id,
                started_at=started,
                duration_ms=(time.perf_counter() - clock) * 1000,
                invoker_pid=context.invoker.pid,
                invoker_name=context.invoker.client_name,
                inputs=inputs,
                outputs=context.outputs,
                result=context.result,
                extended_error=context.extended_error,
            )
        return context.result

    async def _run(self, definition: ActionDefinition, context: ActionInvocationContext) -> None:
        if not self.get_action_availability(definition.id):
            context.fail(
                ActionInvocationResult.UNAVAILABLE,
                f"{definition.id} is turned off (`ainos actions enable {definition.id}`)",
            )
            return
        try:
            provider = self.provider_for(definition)
        except AinosError as exc:
            context.fail(ActionInvocationResult.UNAVAILABLE, str(exc))
            return
        try:
            await provider.invoke(context)
        except AinosError as exc:
            context.fail(ActionInvocationResult.UNSUPPORTED, str(exc))
        except Exception as exc:
            # A provider's bug must not take the host down; the log and the user get the reason.
            context.fail(ActionInvocationResult.UNSUPPORTED, f"{type(exc).__name__}: {exc}")

    async def invoke_action(
        self, action_id: str, inputs: Mapping[str, ActionEntity]
    ) -> ActionInvocationContext:
        """Create a context, set ``inputs``, invoke; the context carries the outcome."""
        context = self.create_invocation_context(action_id)
        for name, entity in inputs.items():
            context.set_input_entity(name, entity)
        await self.invoke(context)
        return context

    async def process_feedback(
        self, context: ActionInvocationContext, feedback: ActionFeedback
    ) -> None:
        """Log the feedback, then hand it to the provider if it takes feedback."""
        definition = context.definition or self.action_catalog.get(context.action_id)
        self.history.record_feedback(
            definition.id,
            feedback.kind,
            invocation_id=context.invocation_id,
            invoker_name=context.invoker.client_name,
        )
        try:
            provider = self.provider_for(definition)
        except AinosError:
            return
        if isinstance(provider, FeedbackHandler):
            try:
                await provider.process_feedback(context, feedback)
            except AinosError:
                raise
            except Exception as exc:
                raise ActionError(
                    f"{definition.id} could not take the feedback: {type(exc).__name__}: {exc}"
                ) from exc
