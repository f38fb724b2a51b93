"""How a definition's ``invocation`` finds its provider.

Three ways to provide an action besides Windows' own (``Uri``, ``COM``, reported as
unsupported here): a Python object registered in the ``ainos.actions`` entry-point group,
a Python module path (dotted, or a ``.py`` file beside the definition), or an external
command (see ``_external``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ainos.ai.actions._definition import ActionDefinition, InvocationType
from ainos.ai.actions._external import CommandProvider
from ainos.ai.actions._kinds import ActionInvocationResult
from ainos.ai.actions._provider import ActionProvider
from ainos.errors import ActionError

if TYPE_CHECKING:
    from ainos.ai.actions._context import ActionInvocationContext

__all__ = [
    "ENTRY_POINT_GROUP",
    "action_entry_points",
    "as_provider",
    "definition_file_of",
    "resolve_provider",
]

ENTRY_POINT_GROUP = "ainos.actions"


class _Unsupported(ActionProvider):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def invoke(self, context: ActionInvocationContext) -> None:
        context.fail(ActionInvocationResult.UNSUPPORTED, self.reason)


def as_provider(obj: object, what: str) -> ActionProvider:
    """An ``ActionProvider`` instance from a provider class or instance."""
    if isinstance(obj, type) and issubclass(obj, ActionProvider):
        try:
            obj = obj()
        except Exception as exc:
            raise ActionError(f"{what}: cannot create the provider: {exc}") from exc
    if isinstance(obj, type):
        raise ActionError(f"{what} is the class {obj.__name__}, not an ActionProvider subclass")
    if not isinstance(obj, ActionProvider):
        raise ActionError(f"{what} is a {type(obj).__name__}, not an ActionProvider")
    return obj


def action_entry_points() -> tuple[EntryPoint, ...]:
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def definition_file_of(obj: object) -> Path | None:
    """Where an entry-point provider keeps its definition file, if it says."""
    cls = obj if isinstance(obj, type) else type(obj)
    name = getattr(cls, "definition_file", None)
    module = sys.modules.get(cls.__module__)
    if not isinstance(name, str) or module is None or module.__file__ is None:
        return None
    return Path(module.__file__).parent / name


def _load_entry_point(name: str) -> object:
    found = [ep for ep in action_entry_points() if ep.name == name]
    if not found:
        raise ActionError(
            f"no installed package provides the entry point {name!r} ({ENTRY_POINT_GROUP})"
        )
    try:
        return found[0].load()
    except Exception as exc:
        raise ActionError(
            f"entry point {name!r} does not load: {type(exc).__name__}: {exc}"
        ) from exc


def _load_module(spec: str, base: Path | None) -> object:
    target, _, attribute = spec.rpartition(":")
    module: ModuleType
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            # A file's module name is derived from its path, so two files never collide.
            digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
            name = f"_ainos_action_{path.stem}_{digest}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None or not path.is_file():
                raise ActionError(f"module file {str(path)!r} does not exist")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        else:
            module = importlib.import_module(target)
    except ActionError:
        raise
    except Exception as exc:
        raise ActionError(
            f"module {target!r} does not import: {type(exc).__name__}: {exc}"
        ) from exc
    obj: object = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ActionError(f"module {target!r} has no {attribute!r}")
        obj = getattr(obj, part)
    return obj


def resolve_provider(definition: ActionDefinition) -> ActionProvider:
    """The provider a definition's ``invocation`` names. Raises ``ActionError`` if it cannot."""
    invocation = definition.invocation
    if invocation.type is InvocationType.ENTRY_POINT:
        name = invocation.entry_point or definition.id
        return as_provider(_load_entry_point(name), f"entry point {name!r}")
    if invocation.type is InvocationType.MODULE:
        assert invocation.module is not None
        source = Path(definition.source) if definition.source else None
        base = source.parent if source is not None and source.is_file() else None
        return as_provider(_load_module(invocation.module, base), invocation.module)
    if invocation.type is InvocationType.COMMAND:
        return CommandProvider(definition)
    return _Unsupported(
        f"{invocation.type.value} invocation needs the Windows app platform; "
        "on this system provide the action as an EntryPoint, Module or Command"
    )
