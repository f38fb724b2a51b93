"""``ActionCatalog``: every action on the machine, and the ones that fit given inputs.

Definitions come from installed packages (providers in the ``ainos.actions`` entry-point
group, each naming its definition file) and from the user's ``<config>/actions/*.json``;
a user's definition replaces a package's of the same id. A broken file or action is
reported in ``problems`` and skipped; it never hides the others. The user's directory is
re-read whenever it changes (checked on every query, or polled by ``watch``), and the
change handlers are told.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ainos.ai.actions._definition import ActionDefinition, ActionOverload
from ainos.ai.actions._entities import ActionEntity
from ainos.ai.actions._kinds import ActionInvocationResult
from ainos.ai.actions._loader import DefinitionFile, DefinitionProblem, read_definition_file
from ainos.ai.actions._resolve import action_entry_points, definition_file_of
from ainos.errors import NotFound
from ainos.paths import config_dir

if TYPE_CHECKING:
    from ainos.ai.actions._context import ActionInvocationContext
    from ainos.ai.actions._runtime import ActionRuntime

__all__ = ["ActionCatalog", "ActionInstance", "ActionInstanceDisplayInfo", "user_actions_dir"]

ChangedHandler = Callable[["ActionCatalog"], None]
# Inputs are matched to a combination's slots by trying orders; beyond this many it is
# not a selection a person made, and the search would only cost time.
_MAX_MATCHED_INPUTS = 6


def user_actions_dir() -> Path:
    return config_dir() / "actions"


@dataclass(frozen=True)
class ActionInstanceDisplayInfo:
    description: str


@dataclass(frozen=True)
class ActionInstance:
    """An action ready to run on particular inputs (what a menu of suggestions shows)."""

    definition: ActionDefinition
    context: ActionInvocationContext
    display_info: ActionInstanceDisplayInfo
    overload: ActionOverload

    async def invoke_async(self) -> ActionInvocationResult:
        return await self.overload.invoke_async(self.context)


_Signature = tuple[tuple[str, int, int], ...]


class ActionCatalog:
    def __init__(
        self,
        runtime: ActionRuntime,
        *,
        directories: Sequence[Path] | None = None,
        include_packages: bool = True,
    ) -> None:
        self._runtime = runtime
        self._directories = tuple(directories) if directories is not None else None
        self._include_packages = include_packages
        self._package_files: tuple[DefinitionFile, ...] | None = None
        self._signature: _Signature | None = None
        self._actions: dict[str, ActionDefinition] = {}
        self._problems: tuple[DefinitionProblem, ...] = ()
        self._handlers: list[ChangedHandler] = []

    @property
    def directories(self) -> tuple[Path, ...]:
        return self._directories if self._directories is not None else (user_actions_dir(),)

    # -- loading -------------------------------------------------------------------------

    def _user_files(self) -> list[Path]:
        found: list[Path] = []
        for directory in self.directories:
            try:
                found.extend(sorted(p for p in directory.iterdir() if p.suffix == ".json"))
            except OSError:  # no such directory (yet), or not readable: nothing defined there
                continue
        return found

    def _signature_now(self, files: Sequence[Path]) -> _Signature:
        stamps: list[tuple[str, int, int]] = []
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                stamps.append((str(path), -1, -1))
            else:
                stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _load_packages(self) -> tuple[DefinitionFile, ...]:
        files: list[DefinitionFile] = []
        seen: set[Path] = set()
        for entry_point in action_entry_points():
            source = f"entry point {entry_point.name} ({entry_point.value})"
            try:
                obj = entry_point.load()
            except Exception as exc:
                problem = DefinitionProblem(
                    source, "$", f"does not load: {type(exc).__name__}: {exc}"
                )
                files.append(DefinitionFile(source, None, (), (problem,)))
                continue
            path = definition_file_of(obj)
            if path is None:
                problem = DefinitionProblem(source, "$", "the provider names no definition_file")
                files.append(DefinitionFile(source, None, (), (problem,)))
                continue
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            files.append(read_definition_file(path))
        return tuple(files)

    def _rebuild(self, user_files: Sequence[Path]) -> None:
        if self._package_files is None:
            self._package_files = self._load_packages() if self._include_packages else ()
        problems: list[DefinitionProblem] = []
        actions: dict[str, ActionDefinition] = {}
        for tier in (self._package_files, tuple(read_definition_file(p) for p in user_files)):
            defined_here: dict[str, str] = {}
            for loaded in tier:
                problems.extend(loaded.problems)
                for action in loaded.actions:
                    if action.id in defined_here:
                        problems.append(
                            DefinitionProblem(
                                loaded.source,
                                "$.actions",
                                f"action {action.id!r} is already defined in "
                                f"{defined_here[action.id]}",
                            )
                        )
                        continue
                    defined_here[action.id] = loaded.source
                    actions[action.id] = dataclasses.replace(action, host=self._runtime)
        self._actions = actions
        self._problems = tuple(problems)

    def refresh(self) -> bool:
        """Re-read the user's definitions if they changed; ``True`` (and handlers told) if so."""
        files = self._user_files()
        signature = self._signature_now(files)
        if signature == self._signature:
            return False
        first = self._signature is None
        self._rebuild(files)
        self._signature = signature
        if not first:
            for handler in list(self._handlers):
                handler(self)
        return not first

    def add_changed_handler(self, handler: ChangedHandler) -> Callable[[], None]:
        self._handlers.append(handler)

        def remove() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return remove

    async def watch(self, interval: float = 1.0) -> AsyncIterator[ActionCatalog]:
        """Yield the catalog each time its definition files change (polling every ``interval``)."""
        self.refresh()
        while True:
            await asyncio.sleep(interval)
            if self.refresh():
                yield self

    # -- queries -------------------------------------------------------------------------

    @property
    def problems(self) -> tuple[DefinitionProblem, ...]:
        self.refresh()
        return self._problems

    def get_all_actions(self) -> tuple[ActionDefinition, ...]:
        self.refresh()
        return tuple(sorted(self._actions.values(), key=lambda d: d.id))

    def find(self, action_id: str) -> ActionDefinition | None:
        self.refresh()
        return self._actions.get(action_id)

    def get(self, action_id: str) -> ActionDefinition:
        found = self.find(action_id)
        if found is None:
            close = difflib.get_close_matches(action_id, list(self._actions), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise NotFound(f"no action {action_id!r}{hint}; `ainos actions list` shows them")
        return found

    def get_actions_for_inputs(
        self, inputs: Sequence[ActionEntity] | Mapping[str, ActionEntity]
    ) -> list[ActionInstance]:
        """Actions that can run on these inputs, one instance per fitting overload.

        Unnamed entities are matched to a combination's inputs by kind, in any order; named
        ones must use the combination's names. Actions turned off are left out.
        """
        found: list[ActionInstance] = []
        for definition in self.get_all_actions():
            if not self._runtime.get_action_availability(definition.id):
                continue
            for overload in definition.get_overloads():
                named = self._fit(overload, inputs)
                if named is None:
                    continue
                context = self._runtime.create_invocation_context(definition.id)
                for name, entity in named.items():
                    context.set_input_entity(name, entity)
                display = ActionInstanceDisplayInfo(overload.describe(named))
                found.append(ActionInstance(definition, context, display, overload))
        return found

    @staticmethod
    def _fit(
        overload: ActionOverload, inputs: Sequence[ActionEntity] | Mapping[str, ActionEntity]
    ) -> dict[str, ActionEntity] | None:
        if isinstance(inputs, Mapping):
            return dict(inputs) if overload.matches(inputs) else None
        names = overload.combination.inputs
        if len(inputs) != len(names) or len(inputs) > _MAX_MATCHED_INPUTS:
            return None
        for order in itertools.permutations(inputs):
            named = dict(zip(names, order, strict=True))
            if overload.matches(named):
                return named
        return None
