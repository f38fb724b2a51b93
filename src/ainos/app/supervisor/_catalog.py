"""``AgentCatalog``: the agent definitions of this machine, built-in and the user's.

The built-ins ship in the package (``agents/*.yaml``); the user's are ``*.yaml`` and
``*.yml`` files in the config dir's ``agents/``. A user's definition with a built-in's name
replaces it. A broken user file, or one claiming a name or alias another definition has, is
reported in ``problems`` and skipped; it never hides the others. Nothing is read until a
question is asked, and the user's directory is read again whenever its files change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from ainos.app.supervisor._definition import (
    AgentDefinition,
    DefinitionError,
    load_definition,
    parse_definition,
)
from ainos.errors import NotFound
from ainos.paths import config_dir

__all__ = ["BUILT_IN", "AgentCatalog", "user_agents_dir"]

BUILT_IN = "built-in"  # the ``source`` of the definitions that ship with ainos
_SUFFIXES = (".yaml", ".yml")

# What the user's directory held when it was read: (file name, mtime, size) of each file.
_Signature = tuple[tuple[str, int, int], ...]


def user_agents_dir() -> Path:
    return config_dir() / "agents"


def _built_ins() -> list[AgentDefinition]:
    folder = files("ainos") / "app" / "supervisor" / "agents"
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name
    )
    # A broken built-in is a bug of the package: its DefinitionError is not caught.
    return [parse_definition(entry.read_text(encoding="utf-8"), BUILT_IN) for entry in entries]


@dataclass
class _Loaded:
    by_name: dict[str, AgentDefinition] = field(default_factory=dict)  # name or alias → it
    problems: list[DefinitionError] = field(default_factory=list)

    def definitions(self) -> list[AgentDefinition]:
        unique = {d.name: d for d in self.by_name.values()}
        return sorted(unique.values(), key=lambda d: d.name)


class AgentCatalog:
    """The built-in agents and the user's (``user_dir``, default ``user_agents_dir()``)."""

    def __init__(self, user_dir: Path | None = None) -> None:
        self._user_dir = user_dir
        self._built_ins: list[AgentDefinition] | None = None
        self._signature: _Signature | None = None
        self._loaded = _Loaded()

    @property
    def user_dir(self) -> Path:
        return self._user_dir if self._user_dir is not None else user_agents_dir()

    def definitions(self) -> list[AgentDefinition]:
        """Every usable definition, sorted by name."""
        return self._state().definitions()

    def problems(self) -> list[DefinitionError]:
        """The user's files that could not be used, each with all its faults."""
        return list(self._state().problems)

    def get(self, name_or_alias: str) -> AgentDefinition:
        """The definition with this name or alias. Raises :class:`NotFound`, or the
        :class:`DefinitionError` of the broken file that claims the name."""
        state = self._state()
        key = name_or_alias.strip().lower()
        found = state.by_name.get(key)
        if found is not None:
            return found
        for problem in state.problems:
            if key in problem.names:
                raise problem
        known = ", ".join(d.name for d in state.definitions()) or "none"
        raise NotFound(f"no agent named {name_or_alias!r}; the agents are: {known}")

    def resolve(self, names: Sequence[str]) -> list[AgentDefinition]:
        """The definitions of ``names`` (names or aliases) in order, each once."""
        chosen: dict[str, AgentDefinition] = {}
        for name in names:
            definition = self.get(name)
            chosen.setdefault(definition.name, definition)
        return list(chosen.values())

    # -- reading --------------------------------------------------------------------------

    def _state(self) -> _Loaded:
        if self._built_ins is None:
            self._built_ins = _built_ins()
        paths, problems = self._user_files()
        signature = tuple(_stamp(path) for path in paths)
        if signature != self._signature or problems:
            self._loaded = _merge(self._built_ins, paths, problems)
            self._signature = None if problems else signature
        return self._loaded

    def _user_files(self) -> tuple[list[Path], list[DefinitionError]]:
        folder = self.user_dir
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(folder)
                if entry.name.endswith(_SUFFIXES) and not entry.name.startswith(".")
            )
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as exc:
            fault = f"cannot read the directory: {exc.strerror or exc}"
            return [], [DefinitionError(str(folder), [fault])]
        return [folder / name for name in names], []


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        status = path.stat()
    except OSError:
        return (path.name, -1, -1)
    return (path.name, status.st_mtime_ns, status.st_size)


def _merge(
    built_ins: list[AgentDefinition], paths: list[Path], problems: list[DefinitionError]
) -> _Loaded:
    loaded = _Loaded(problems=list(problems))
    for definition in built_ins:
        for name in definition.names():
            loaded.by_name[name] = definition
    for path in paths:
        try:
            definition = load_definition(path)
        except DefinitionError as error:
            # The file's own name counts as a name it claims: ``get`` then explains why
            # ``foo`` is missing when foo.yaml is broken.
            stem = path.name.rsplit(".", 1)[0]
            loaded.problems.append(
                DefinitionError(error.source, error.faults, (*error.names, stem))
            )
            continue
        clash = next(_clashes(definition, loaded.by_name), None)
        if clash is not None:
            loaded.problems.append(DefinitionError(definition.source, [clash], definition.names()))
            continue
        replaced = loaded.by_name.get(definition.name)
        if replaced is not None:  # a built-in of that name: all its names go with it
            for name in replaced.names():
                del loaded.by_name[name]
        for name in definition.names():
            loaded.by_name[name] = definition
    return loaded


def _clashes(definition: AgentDefinition, by_name: dict[str, AgentDefinition]) -> Iterator[str]:
    """What ``definition`` claims that another has; a built-in's name may be claimed (the
    user's definition replaces the built-in)."""
    fields = ["name", *(f"aliases[{i}]" for i in range(len(definition.aliases)))]
    for field_name, name in zip(fields, definition.names(), strict=True):
        owner = by_name.get(name)
        if owner is None:
            continue
        if owner.source == BUILT_IN and owner.name == definition.name:
            continue
        role = "the name" if owner.name == name else "an alias"
        yield f"{field_name}: {name!r} is already {role} of the agent {owner.name} ({owner.source})"
