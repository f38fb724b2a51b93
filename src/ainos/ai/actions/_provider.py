"""The provider interfaces: the code behind an action, and its optional feedback handler."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ainos.ai.actions._context import ActionFeedback, ActionInvocationContext

__all__ = ["ActionProvider", "FeedbackHandler"]


class ActionProvider(abc.ABC):
    """Runs an action: reads the context's inputs, sets its outputs (and result on failure).

    ``definition_file`` names a JSON file next to the provider's module; an entry-point
    provider is discovered through it.
    """

    definition_file: ClassVar[str | None] = None

    @abc.abstractmethod
    async def invoke(self, context: ActionInvocationContext) -> None: ...


class FeedbackHandler(abc.ABC):
    """Optionally implemented by a provider that learns from users' feedback."""

    @abc.abstractmethod
    async def process_feedback(
        self, context: ActionInvocationContext, feedback: ActionFeedback
    ) -> None: ...
