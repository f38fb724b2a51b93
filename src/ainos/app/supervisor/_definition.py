"""Agent definitions: the YAML files that describe a sub-agent, read and checked.

A definition names the agent, its goal, the deterministic checks it runs before its model
and what it may touch (files, hosts, commands, MCP tools). Every field is checked and an
unknown field is an error, so a typo never passes silently. Every fault is reported as
``field: fault`` (a dotted path with list indices, in plain words); :class:`DefinitionError`
keeps all of them and shows the first as its one line.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from ainos.app.supervisor.checks._names import CHECK_NAMES, CheckName
from ainos.errors import InvalidArgument

__all__ = [
    "CHECK_NAMES",
    "AgentDefinition",
    "AgentPolicies",
    "AgentTools",
    "CheckName",
    "ContextPolicy",
    "DefinitionError",
    "FsAccess",
    "NetAccess",
    "Retention",
    "SecretsPolicy",
    "ShellAccess",
    "load_definition",
    "parse_definition",
]

Retention = Literal["job", "session"]
MIN_CONTEXT_TOKENS = 1_000
MAX_CONTEXT_TOKENS = 1_000_000

_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
_MCP_TOOL = re.compile(r"[^\s/]+(/[^\s/]+)?")
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_SHELL_OPERATORS = frozenset(";&|<>`$(){}\n")
# Tags name the branch of a union in an error's location; they are left out of field paths.
_BOOL, _LIST = "<bool>", "<list>"
_TAGS = frozenset({_BOOL, _LIST})
_FAULT = "agent_definition"  # the type of the errors raised by this module's validators
_RULES = "agent_definition_rules"  # the cross-field rules: their faults are in ctx["faults"]


class DefinitionError(InvalidArgument):
    """An agent definition file is malformed. ``str()`` is one line naming the file and the
    first fault; ``faults`` has them all (``field: fault``), ``names`` the names and aliases
    the file claims as far as they could be read (to say why an agent is missing)."""

    def __init__(self, source: str, faults: Sequence[str], names: Sequence[str] = ()) -> None:
        self.source = source
        self.faults: tuple[str, ...] = tuple(faults) or ("invalid definition",)
        self.names: tuple[str, ...] = tuple(names)
        more = len(self.faults) - 1
        extra = f" (and {more} more fault{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{source}: {self.faults[0]}{extra}")


# -- naming values in messages ---------------------------------------------------------------


def _shown(value: object) -> str:
    """``value`` as a message names it: YAML's spelling of scalars, the kind of the rest."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _fault(message: str) -> PydanticCustomError:
    # The message goes in the context, so braces in a user's value are never a template.
    return PydanticCustomError(_FAULT, "{message}", {"message": message})


def _suggestion(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# -- the checks of single values (pydantic's coercions never run: each value is taken as is) --


def _checked(check: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(check)


def _name(value: object) -> str:
    if isinstance(value, str) and _NAME.fullmatch(value):
        return value
    raise _fault(
        "expected a name of lowercase letters, digits and dashes starting with a letter "
        f"(at most 63 characters), got {_shown(value)}"
    )


def _goal(value: object) -> str:
    if not isinstance(value, str):
        raise _fault(f"expected one line of text, got {_shown(value)}")
    text = value.strip()
    if not text:
        raise _fault("must not be empty")
    if "\n" in text or "\r" in text:
        raise _fault("expected one line of text, got several lines")
    return text


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fault(f"expected a non-empty text, got {_shown(value)}")
    return value.strip()


def _model(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fault(f"expected a model name, or null for the configured one, got {_shown(value)}")
    return value.strip()


def _instructions(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fault(f"expected a text, got {_shown(value)}")
    return value.strip("\n")


def _check_name(value: object) -> str:
    if isinstance(value, str) and value in CHECK_NAMES:
        return value
    hint = _suggestion(value, CHECK_NAMES) if isinstance(value, str) else ""
    raise _fault(f"expected one of {', '.join(CHECK_NAMES)}, got {_shown(value)}{hint}")


def _mcp_tool(value: object) -> str:
    if isinstance(value, str) and _MCP_TOOL.fullmatch(value):
        return value
    raise _fault(
        "expected an MCP tool: an ainos action or tool (Ainos.AnalyzeCodebase, embed), "
        f"a registered server's id, or server/tool, got {_shown(value)}"
    )


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _fault(f"expected true or false, got {_shown(value)}")


def _relative_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fault(f"expected a path relative to the workspace, got {_shown(value)}")
    if value.startswith(("/", "~", "\\")) or re.match(r"[A-Za-z]:", value):
        raise _fault(f"expected a path relative to the workspace, got {_shown(value)} (absolute)")
    path = PurePosixPath(value)
    if ".." in path.parts:
        raise _fault(f"{_shown(value)} leaves the workspace (no '..' in paths)")
    return str(path)


def _host(value: object) -> str:
    host = value.strip().lower() if isinstance(value, str) else ""
    if "://" in host:
        scheme, _, rest = host.partition("://")
        host, _, path = rest.partition("/")
        if scheme not in ("http", "https") or path not in ("", "*"):
            raise _fault(
                f"a URL pattern is http(s)://host/* (access is granted per host), "
                f"got {_shown(value)}"
            )
        host = host.rpartition("@")[2].split(":", 1)[0]
    labels = host.removeprefix("*.").split(".")
    if host == "*" or (host and all(_HOST_LABEL.fullmatch(label) for label in labels)):
        return host
    raise _fault(
        "expected a host (pypi.org, *.github.com, *) or a URL pattern (https://host/*), "
        f"got {_shown(value)}"
    )


def _command(value: object) -> str:
    words: list[str] = []
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError:
            words = []
    if not words:
        raise _fault(
            f"expected a program name or a command prefix (pytest, git log), got {_shown(value)}"
        )
    assert isinstance(value, str)
    if any(char in _SHELL_OPERATORS for char in value):
        raise _fault(
            f"expected a program name or a command prefix, got {_shown(value)} "
            "(shell operators are not allowed)"
        )
    return shlex.join(words)


def _regex(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fault(f"expected a regular expression, got {_shown(value)}")
    try:
        re.compile(value)
    except re.error as exc:
        raise _fault(f"{_shown(value)} is not a valid regular expression: {exc}") from None
    return value


def _max_tokens(value: object) -> int:
    in_range = isinstance(value, int) and MIN_CONTEXT_TOKENS <= value <= MAX_CONTEXT_TOKENS
    if in_range and not isinstance(value, bool):
        assert isinstance(value, int)
        return value
    raise _fault(
        f"expected a whole number of tokens from {MIN_CONTEXT_TOKENS} to {MAX_CONTEXT_TOKENS}, "
        f"got {_shown(value)}"
    )


def _retention(value: object) -> str:
    if value in ("job", "session"):
        return str(value)
    raise _fault(f"expected job or session, got {_shown(value)}")


def _a_list(what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, list | tuple):
            return value
        raise _fault(f"expected a list of {what}, got {_shown(value)}")

    return BeforeValidator(check)


def _bool_or_list(what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, bool | list | tuple):
            return value
        raise _fault(f"expected true, false or a list of {what}, got {_shown(value)}")

    return BeforeValidator(check)


def _kind(value: object) -> str:
    return _BOOL if isinstance(value, bool) else _LIST


Name = Annotated[str, _checked(_name)]
RelativePath = Annotated[str, _checked(_relative_path)]
Text = Annotated[str, _checked(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FsAccess(_Strict):
    """Files: ``read`` the workspace; ``write`` nowhere, all of it, or the listed paths."""

    read: Annotated[bool, _checked(_boolean)] = True
    write: Annotated[
        Annotated[bool, Tag(_BOOL)] | Annotated[tuple[RelativePath, ...], Tag(_LIST)],
        Discriminator(_kind),
        _bool_or_list("paths relative to the workspace"),
    ] = False

    def write_paths(self) -> tuple[str, ...] | None:
        """Where it may write, relative to the workspace: None for nowhere, ``(".",)`` for
        the whole workspace."""
        if self.write is True:
            return (".",)
        if not self.write:
            return None
        return self.write


class NetAccess(_Strict):
    """Hosts it may reach (``*`` for any); none by default."""

    allow: Annotated[
        tuple[Annotated[str, _checked(_host)], ...], _a_list("hosts or URL patterns")
    ] = ()


class ShellAccess(_Strict):
    """Commands it may run: program names or command prefixes; none by default."""

    exec: Annotated[
        tuple[Annotated[str, _checked(_command)], ...], _a_list("commands or command prefixes")
    ] = ()


class AgentTools(_Strict):
    """What the agent may use beyond its checks: MCP tools, files, hosts, commands."""

    mcp: Annotated[
        tuple[Annotated[str, _checked(_mcp_tool)], ...], _a_list("MCP tools or servers")
    ] = ()
    fs: FsAccess = FsAccess()
    net: NetAccess = NetAccess()
    shell: ShellAccess = ShellAccess()


class ContextPolicy(_Strict):
    """The agent's conversation: its token budget, and whether it outlives the job."""

    max_tokens: Annotated[int, _checked(_max_tokens)] = 16_000
    retention: Annotated[Retention, _checked(_retention)] = "job"


class SecretsPolicy(_Strict):
    """What is redacted before its model sees text: the built-in secret patterns (true),
    nothing (false) or the listed regular expressions."""

    redact: Annotated[
        Annotated[bool, Tag(_BOOL)]
        | Annotated[tuple[Annotated[str, _checked(_regex)], ...], Tag(_LIST)],
        Discriminator(_kind),
        _bool_or_list("regular expressions"),
    ] = True


class AgentPolicies(_Strict):
    """How its conversation and the secrets it meets are handled."""

    context: ContextPolicy = ContextPolicy()
    secrets: SecretsPolicy = SecretsPolicy()


class AgentDefinition(_Strict):
    """One sub-agent. ``source`` is ``built-in`` or the file it was read from; it is not a
    field of the file (and not in ``model_dump``)."""

    name: Name
    aliases: Annotated[tuple[Name, ...], _a_list("names")] = ()
    goal: Annotated[str, _checked(_goal)]
    model: Annotated[str | None, _checked(_model)] = None
    instructions: Annotated[str, _checked(_instructions)] = ""
    checks: Annotated[
        tuple[Annotated[CheckName, _checked(_check_name)], ...], _a_list("check names")
    ] = ()
    tools: AgentTools = AgentTools()
    policies: AgentPolicies = AgentPolicies()
    success_criteria: Annotated[tuple[Text, ...], _a_list("texts")] = ()
    artifacts: Annotated[tuple[RelativePath, ...], _a_list("paths relative to the workspace")] = ()
    source: str = Field(default="", exclude=True)

    def names(self) -> tuple[str, ...]:
        """Its name, then its aliases."""
        return (self.name, *self.aliases)

    @model_validator(mode="after")
    def _rules(self) -> AgentDefinition:
        faults = _rule_faults(self)
        if faults:
            raise PydanticCustomError(
                _RULES, "{message}", {"message": "; ".join(faults), "faults": tuple(faults)}
            )
        return self


# -- rules across fields ---------------------------------------------------------------------


def _rule_faults(definition: AgentDefinition) -> list[str]:
    faults: list[str] = []
    tools = definition.tools
    lists: list[tuple[str, Sequence[str]]] = [
        ("aliases", definition.aliases),
        ("checks", definition.checks),
        ("tools.mcp", tools.mcp),
        ("tools.fs.write", tools.fs.write if isinstance(tools.fs.write, tuple) else ()),
        ("tools.net.allow", tools.net.allow),
        ("tools.shell.exec", tools.shell.exec),
        ("policies.secrets.redact", _entries(definition.policies.secrets.redact)),
        ("success_criteria", definition.success_criteria),
        ("artifacts", definition.artifacts),
    ]
    for field, entries in lists:
        first: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if entry in first:
                faults.append(
                    f"{field}[{index}]: {_shown(entry)} is listed twice "
                    f"(also {field}[{first[entry]}])"
                )
            first.setdefault(entry, index)
    for index, alias in enumerate(definition.aliases):
        if alias == definition.name:
            faults.append(f"aliases[{index}]: {alias!r} is the agent's name; an alias must differ")
    if definition.checks and not tools.fs.read:
        faults.append("checks: the checks read the workspace's files, but tools.fs.read is false")
    writable = tools.fs.write_paths()
    for index, artifact in enumerate(definition.artifacts):
        if artifact == ".":
            faults.append(f"artifacts[{index}]: expected a file, got the workspace itself")
        elif writable is None or not any(_inside(artifact, root) for root in writable):
            faults.append(f"artifacts[{index}]: {artifact} is outside tools.fs.write")
    return faults


def _entries(value: bool | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _inside(path: str, root: str) -> bool:
    return root == "." or PurePosixPath(path).is_relative_to(PurePosixPath(root))


# -- pydantic's errors in plain words --------------------------------------------------------

_SECTIONS: dict[tuple[str, ...], type[BaseModel]] = {
    (): AgentDefinition,
    ("tools",): AgentTools,
    ("tools", "fs"): FsAccess,
    ("tools", "net"): NetAccess,
    ("tools", "shell"): ShellAccess,
    ("policies",): AgentPolicies,
    ("policies", "context"): ContextPolicy,
    ("policies", "secrets"): SecretsPolicy,
}


def _fields_of(section: tuple[str, ...]) -> list[str]:
    model = _SECTIONS.get(section)
    if model is None:
        return []
    return [name for name, info in model.model_fields.items() if not info.exclude]


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _TAGS:
            text += f".{part}" if text else part
    return text


def _faults(error: ValidationError) -> list[str]:
    # Unknown fields first: a misspelt field is why a required one is "missing".
    details = sorted(error.errors(), key=lambda detail: detail["type"] != "extra_forbidden")
    faults: list[str] = []
    for detail in details:
        if detail["type"] == _RULES:
            faults.extend(detail.get("ctx", {}).get("faults", ()))
            continue
        where = _path(detail["loc"])
        faults.append(f"{where}: {_fault_text(detail)}" if where else _fault_text(detail))
    return faults


def _fault_text(detail: ErrorDetails) -> str:
    kind = detail["type"]
    loc = tuple(str(part) for part in detail["loc"] if not isinstance(part, int))
    if kind == _FAULT:
        return str(detail.get("ctx", {}).get("message", detail["msg"]))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        known = _fields_of(loc[:-1])
        hint = _suggestion(loc[-1], known)
        return f"unknown field{hint or ' (the fields here are: ' + ', '.join(known) + ')'}"
    if kind == "model_type":
        known = _fields_of(loc)
        return f"expected a mapping of {', '.join(known)}, got {_shown(detail['input'])}"
    if kind == "invalid_key":
        return f"expected field names, got the key {_shown(detail['input'])}"
    return str(detail["msg"])  # not expected: every field has a check of its own


# -- reading ---------------------------------------------------------------------------------


class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the second would
    silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        seen: set[object] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise _DuplicateKey(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_fault(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if context and str(problem).startswith("but "):  # "expected one document but found …"
        problem = f"{context} {problem}"
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    text = " ".join(str(problem).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return (
        f"{where}{text}" if isinstance(error, _DuplicateKey) else f"{where}not valid YAML: {text}"
    )


def _claimed(data: dict[Any, Any]) -> list[str]:
    """The names a mapping claims (its name, its aliases), for the ones that are strings."""
    names = [data["name"]] if isinstance(data.get("name"), str) else []
    aliases = data.get("aliases")
    if isinstance(aliases, list):
        names += [alias for alias in aliases if isinstance(alias, str)]
    return names


def parse_definition(text: str, source: str) -> AgentDefinition:
    """The definition in YAML ``text``; ``source`` names it in errors and is its ``source``.

    Raises :class:`DefinitionError` with every fault found."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [_yaml_fault(exc)]) from None
    if data is None:
        raise DefinitionError(source, ["the file is empty (expected at least name and goal)"])
    if not isinstance(data, dict):
        raise DefinitionError(
            source, [f"expected a mapping of fields (name, goal, ...), got {_shown(data)}"]
        )
    names = _claimed(data)
    faults: list[str] = []
    if "source" in data:  # the field the loader fills in, not one of the file
        faults.append(f"source: unknown field (the fields here are: {', '.join(_fields_of(()))})")
        data = {key: value for key, value in data.items() if key != "source"}
    try:
        definition = AgentDefinition.model_validate(data)
    except ValidationError as exc:
        faults += _faults(exc)
    if faults:
        raise DefinitionError(source, faults, names)
    return definition.model_copy(update={"source": source})


def load_definition(path: Path) -> AgentDefinition:
    """The definition in the file at ``path`` (its ``source``: the path as given)."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(source, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            source, [f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"]
        ) from None
    return parse_definition(text, source)
