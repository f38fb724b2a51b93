"""Reading and validating action definition files (Windows' schema, versions 2 and 3).

Validation never raises on bad input: it collects every problem with the file, the JSON path
and what is wrong, and keeps each action that is sound, so one broken action hides nothing
else. ``load_definition_file`` is the strict variant that raises on the first problem.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ainos.ai.actions._definition import (
    ActionDefinition,
    ActionEntityRegistrationInfo,
    ActionInvocation,
    InputCombination,
    InvocationType,
)
from ainos.ai.actions._entities import ENTITY_PROPERTIES
from ainos.ai.actions._expression import (
    Expression,
    ExpressionError,
    Template,
    parse_expression,
    parse_template,
)
from ainos.ai.actions._json import describe_json_type
from ainos.ai.actions._kinds import ActionEntityKind, parse_enum
from ainos.errors import ActionDefinitionError

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "DefinitionFile",
    "DefinitionProblem",
    "load_definition_file",
    "parse_definitions",
    "read_definition_file",
]

SUPPORTED_SCHEMA_VERSIONS = (2, 3)
DEFAULT_COMMAND_TIMEOUT = 30.0
_MAX_TIMEOUT = 24 * 3600.0
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KIND_SPEC = re.compile(r"([A-Za-z]+)(\[\])?")
_MODULE = re.compile(
    r"(?P<target>[^:]+):(?P<attr>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)"
)
_ROOT_KEYS = ("$schema", "version", "actions")
_ACTION_KEYS = (
    "id",
    "description",
    "icon",
    "displaysUI",
    "usesGenerativeAI",
    "isAvailable",
    "allowedAppInvokers",
    "inputs",
    "inputCombinations",
    "outputs",
    "contentAgeRating",
    "invocation",
)
_AGE_RATINGS = ("child", "minor", "adult")
_INVOCATION_KEYS: dict[InvocationType, tuple[str, ...]] = {
    InvocationType.URI: ("type", "uri", "inputData"),
    InvocationType.COM: ("type", "clsid"),
    InvocationType.ENTRY_POINT: ("type", "entryPoint"),
    InvocationType.MODULE: ("type", "module"),
    InvocationType.COMMAND: ("type", "command", "inputData", "timeout"),
}


@dataclass(frozen=True)
class DefinitionProblem:
    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}"


@dataclass(frozen=True)
class DefinitionFile:
    """What one file yields: its sound actions and every problem found."""

    source: str
    version: int | None
    actions: tuple[ActionDefinition, ...]
    problems: tuple[DefinitionProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            first = str(self.problems[0])
            more = len(self.problems) - 1
            raise ActionDefinitionError(first + (f" (and {more} more problems)" if more else ""))


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Walks one decoded file, collecting problems by JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[DefinitionProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(DefinitionProblem(self.source, path, message))

    # -- small typed getters: each returns None (after recording a problem) when wrong --

    def obj(self, value: object, path: str, keys: Sequence[str]) -> Mapping[str, object] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected an object, got {describe_json_type(value)}")
            return None
        for key in value:
            if key not in keys:
                self.fail(f"{path}.{key}", f"unknown property{_suggest(str(key), keys)}")
        return value

    def text(
        self, data: Mapping[str, object], key: str, path: str, *, required: bool
    ) -> str | None:
        if key not in data:
            if required:
                self.fail(f"{path}.{key}", "missing (a string is required)")
            return None
        value = data[key]
        if not isinstance(value, str):
            self.fail(f"{path}.{key}", f"expected a string, got {describe_json_type(value)}")
            return None
        return value

    def flag(self, data: Mapping[str, object], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", f"expected true or false, got {describe_json_type(value)}")
            return default
        return value

    def array(self, data: Mapping[str, object], key: str, path: str) -> Sequence[object] | None:
        value = data[key]
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", f"expected an array, got {describe_json_type(value)}")
            return None
        return value

    def strings(self, data: Mapping[str, object], key: str, path: str) -> tuple[str, ...] | None:
        items = self.array(data, key, path)
        if items is None:
            return None
        ok = True
        for index, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(
                    f"{path}.{key}[{index}]", f"expected a string, got {describe_json_type(item)}"
                )
                ok = False
        return tuple(str(item) for item in items) if ok else None

    def template(self, source: str, path: str) -> Template | None:
        try:
            return parse_template(source)
        except ExpressionError as exc:
            self.fail(path, f"bad template: {exc.reason} at offset {exc.position}")
            return None

    def expression(self, source: str, path: str) -> Expression | None:
        try:
            return parse_expression(source)
        except ExpressionError as exc:
            self.fail(path, f"bad where clause: {exc.reason} at offset {exc.position}")
            return None

    def references(
        self,
        refs: Iterable[tuple[str, ...]],
        path: str,
        allowed: Mapping[str, ActionEntityRegistrationInfo],
        scope: str,
    ) -> None:
        """Every ``${Name.Property}`` names an input in scope and a property its kind has."""
        for ref in refs:
            shown = "${" + ".".join(ref) + "}"
            info = allowed.get(ref[0])
            if info is None:
                names = ", ".join(allowed) or "none"
                self.fail(path, f"{shown} refers to {ref[0]!r}, not an input of {scope} ({names})")
                continue
            known = set(ENTITY_PROPERTIES[info.kind])
            if info.kind is ActionEntityKind.FILE:  # a File slot also takes photos
                known |= ENTITY_PROPERTIES[ActionEntityKind.PHOTO]
            prop = ref[1]
            if prop not in known:
                self.fail(
                    path,
                    f"{shown}: a {info.kind_spec} input has no property {prop!r}"
                    + _suggest(prop, sorted(known)),
                )
            elif len(ref) > 2 and not (
                info.kind is ActionEntityKind.CUSTOM_TEXT and prop == "Properties"
            ):
                self.fail(path, f"{shown}: {prop!r} has no sub-properties")

    # -- the document ------------------------------------------------------------------

    def document(self, data: object) -> tuple[int | None, list[ActionDefinition]]:
        root = self.obj(data, "$", _ROOT_KEYS)
        if root is None:
            return None, []
        version = self.version(root)
        if "actions" not in root:
            self.fail("$.actions", "missing (an array of actions is required)")
            return version, []
        items = self.array(root, "actions", "$")
        if items is None or version is None:
            return version, []
        actions: list[ActionDefinition] = []
        seen: dict[str, str] = {}
        for index, item in enumerate(items):
            path = f"$.actions[{index}]"
            before = len(self.problems)
            action = self.action(item, path, version)
            if action is None or len(self.problems) > before:
                continue
            if action.id in seen:
                self.fail(
                    f"{path}.id", f"duplicate action id {action.id!r} (also at {seen[action.id]})"
                )
                continue
            seen[action.id] = path
            actions.append(action)
        return version, actions

    def version(self, root: Mapping[str, object]) -> int | None:
        if "version" not in root:
            self.fail("$.version", "missing (the schema version, 2 or 3)")
            return None
        raw = root["version"]
        value: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().isdigit():
            value = int(raw.strip())
        if value not in SUPPORTED_SCHEMA_VERSIONS:
            supported = " and ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))
            self.fail("$.version", f"unsupported schema version {raw!r} (supported: {supported})")
            return None
        return value

    def action(self, item: object, path: str, version: int) -> ActionDefinition | None:
        data = self.obj(item, path, _ACTION_KEYS)
        if data is None:
            return None
        action_id = self.text(data, "id", path, required=True)
        if action_id is not None and not _ID.fullmatch(action_id):
            self.fail(f"{path}.id", f"{action_id!r} is not an action id (letters, digits, . _ -)")
        description = self.text(data, "description", path, required=True)
        icon = self.text(data, "icon", path, required=False)
        inputs = self.entities(data, "inputs", path, outputs=False)
        outputs = self.entities(data, "outputs", path, outputs=True)
        invokers: tuple[str, ...] = ("*",)
        if "allowedAppInvokers" in data:
            invokers = self.strings(data, "allowedAppInvokers", path) or invokers
        rating = self.text(data, "contentAgeRating", path, required=False)
        if rating is not None and rating.lower() not in _AGE_RATINGS:
            self.fail(f"{path}.contentAgeRating", f"{rating!r} is not one of Child, Minor, Adult")
        combinations = self.combinations(data, path, inputs) if inputs is not None else None
        invocation = self.invocation(data, path, inputs or (), action_id)
        flags = {
            key: self.flag(data, key, path, default)
            for key, default in (
                ("displaysUI", False),
                ("usesGenerativeAI", False),
                ("isAvailable", True),
            )
        }
        if None in (action_id, description, inputs, outputs, combinations, invocation):
            return None
        assert action_id is not None
        assert description is not None
        assert invocation is not None
        return ActionDefinition(
            id=action_id,
            description=description,
            inputs=inputs or (),
            input_combinations=combinations or (),
            invocation=invocation,
            outputs=outputs or (),
            icon=icon,
            displays_ui=flags["displaysUI"],
            uses_generative_ai=flags["usesGenerativeAI"],
            schema_version=version,
            is_available=flags["isAvailable"],
            allowed_app_invokers=invokers,
            content_age_rating=rating,
            source=self.source,
        )

    def entities(
        self, data: Mapping[str, object], key: str, path: str, *, outputs: bool
    ) -> tuple[ActionEntityRegistrationInfo, ...] | None:
        if key not in data:
            if not outputs:
                self.fail(f"{path}.{key}", "missing (an array of inputs, possibly empty)")
                return None
            return ()
        items = self.array(data, key, path)
        if items is None:
            return None
        keys = ("name", "kind") if outputs else ("name", "kind", "required")
        found: list[ActionEntityRegistrationInfo] = []
        ok = True
        for index, item in enumerate(items):
            at = f"{path}.{key}[{index}]"
            entry = self.obj(item, at, keys)
            if entry is None:
                ok = False
                continue
            name = self.text(entry, "name", at, required=True)
            if name is not None and not _NAME.fullmatch(name):
                self.fail(
                    f"{at}.name", f"{name!r} is not a name (letters, digits, _; not first a digit)"
                )
                name = None
            elif name is not None and any(info.name == name for info in found):
                self.fail(f"{at}.name", f"duplicate name {name!r}")
                name = None
            kind = self.kind_spec(entry, at)
            required = self.flag(entry, "required", at, True)
            if name is None or kind is None:
                ok = False
                continue
            found.append(ActionEntityRegistrationInfo(name, kind[0], kind[1], required))
        return tuple(found) if ok else None

    def kind_spec(
        self, entry: Mapping[str, object], path: str
    ) -> tuple[ActionEntityKind, ActionEntityKind | None] | None:
        spec = self.text(entry, "kind", path, required=True)
        if spec is None:
            return None
        names = [kind.wire_name for kind in ActionEntityKind if kind is not ActionEntityKind.NONE]
        match = _KIND_SPEC.fullmatch(spec)
        kind = parse_enum(ActionEntityKind, match.group(1)) if match else None
        if match is None or kind is None or kind is ActionEntityKind.NONE:
            self.fail(
                f"{path}.kind",
                f"unknown entity kind {spec!r}{_suggest(spec, names)}; "
                "use an ActionEntityKind name such as Text, File or Text[]",
            )
            return None
        if match.group(2):
            if kind is ActionEntityKind.ARRAY:
                self.fail(f"{path}.kind", "arrays of arrays are not supported")
                return None
            return ActionEntityKind.ARRAY, kind
        return kind, None

    def combinations(
        self,
        data: Mapping[str, object],
        path: str,
        inputs: tuple[ActionEntityRegistrationInfo, ...],
    ) -> tuple[InputCombination, ...] | None:
        required = tuple(info.name for info in inputs if info.required)
        if "inputCombinations" not in data:
            return (InputCombination(required),)
        items = self.array(data, "inputCombinations", path)
        if items is None:
            return None
        if not items:
            self.fail(f"{path}.inputCombinations", "needs at least one combination")
            return None
        declared = {info.name: info for info in inputs}
        found: list[InputCombination] = []
        for index, item in enumerate(items):
            at = f"{path}.inputCombinations[{index}]"
            combination = self.combination(item, at, declared, required)
            if combination is not None:
                found.append(combination)
        return tuple(found) if len(found) == len(items) else None

    def combination(
        self,
        item: object,
        path: str,
        declared: Mapping[str, ActionEntityRegistrationInfo],
        required: tuple[str, ...],
    ) -> InputCombination | None:
        data = self.obj(item, path, ("inputs", "description", "where"))
        if data is None:
            return None
        before = len(self.problems)
        if "inputs" not in data:
            self.fail(f"{path}.inputs", "missing (the names of the inputs given together)")
            return None
        names = self.strings(data, "inputs", path)
        if names is None:
            return None
        for index, name in enumerate(names):
            if name not in declared:
                known = ", ".join(declared) or "none"
                self.fail(f"{path}.inputs[{index}]", f"{name!r} is not a declared input ({known})")
            elif name in names[:index]:
                self.fail(f"{path}.inputs[{index}]", f"{name!r} is listed twice")
        for name in required:
            if name not in names:
                self.fail(f"{path}.inputs", f"leaves out the required input {name!r}")
        scope = {name: declared[name] for name in names if name in declared}
        description = None
        text = self.text(data, "description", path, required=False)
        if text is not None:
            description = self.template(text, f"{path}.description")
            if description is not None:
                self.references(
                    description.references(), f"{path}.description", scope, "this combination"
                )
        clauses: list[Expression] = []
        if "where" in data:
            for index, source in enumerate(self.strings(data, "where", path) or ()):
                at = f"{path}.where[{index}]"
                clause = self.expression(source, at)
                if clause is not None:
                    self.references(clause.references(), at, scope, "this combination")
                    clauses.append(clause)
        if len(self.problems) > before:
            return None
        return InputCombination(names, description, tuple(clauses))

    def invocation(
        self,
        data: Mapping[str, object],
        path: str,
        inputs: tuple[ActionEntityRegistrationInfo, ...],
        action_id: str | None,
    ) -> ActionInvocation | None:
        path = f"{path}.invocation"
        if "invocation" not in data:
            self.fail(path, "missing (how the action is run: type and uri, module, command …)")
            return None
        raw = data["invocation"]
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected an object, got {describe_json_type(raw)}")
            return None
        type_name = self.text(raw, "type", path, required=True)
        if type_name is None:
            return None
        kind = next((t for t in InvocationType if t.value.lower() == type_name.lower()), None)
        if kind is None:
            choices = ", ".join(t.value for t in InvocationType)
            self.fail(
                f"{path}.type", f"unknown invocation type {type_name!r} (expected one of {choices})"
            )
            return None
        before = len(self.problems)
        body = self.obj(raw, path, _INVOCATION_KEYS[kind])
        if body is None:
            return None
        scope = {info.name: info for info in inputs}
        result = ActionInvocation(kind)
        if kind is InvocationType.URI:
            uri = self.text(body, "uri", path, required=True)
            template = self.template(uri, f"{path}.uri") if uri is not None else None
            if template is not None:
                self.references(template.references(), f"{path}.uri", scope, "this action")
            result = ActionInvocation(
                kind, uri=template, input_data=self.input_data(body, path, scope)
            )
        elif kind is InvocationType.COM:
            result = ActionInvocation(kind, clsid=self.text(body, "clsid", path, required=True))
        elif kind is InvocationType.ENTRY_POINT:
            name = self.text(body, "entryPoint", path, required=False)
            result = ActionInvocation(kind, entry_point=name or action_id)
        elif kind is InvocationType.MODULE:
            module = self.text(body, "module", path, required=True)
            if module is not None and not _MODULE.fullmatch(module):
                self.fail(
                    f"{path}.module",
                    f"{module!r} is not 'package.module:Provider' or 'file.py:Provider'",
                )
            result = ActionInvocation(kind, module=module)
        else:
            result = ActionInvocation(
                kind,
                command=self.command(body, path, scope),
                input_data=self.input_data(body, path, scope),
                timeout=self.timeout(body, path),
            )
        return result if len(self.problems) == before else None

    def command(
        self,
        body: Mapping[str, object],
        path: str,
        scope: Mapping[str, ActionEntityRegistrationInfo],
    ) -> tuple[Template, ...]:
        if "command" not in body:
            self.fail(f"{path}.command", "missing (the program and its arguments)")
            return ()
        raw = body["command"]
        if isinstance(raw, str):
            try:
                parts: tuple[str, ...] | None = tuple(shlex.split(raw))
            except ValueError as exc:
                self.fail(f"{path}.command", f"cannot split into arguments: {exc}")
                return ()
        else:
            parts = self.strings(body, "command", path)
        if parts is None:
            return ()
        if not parts or not parts[0]:
            self.fail(f"{path}.command", "names no program")
            return ()
        templates: list[Template] = []
        for index, part in enumerate(parts):
            template = self.template(part, f"{path}.command[{index}]")
            if template is not None:
                self.references(
                    template.references(), f"{path}.command[{index}]", scope, "this action"
                )
                templates.append(template)
        return tuple(templates)

    def input_data(
        self,
        body: Mapping[str, object],
        path: str,
        scope: Mapping[str, ActionEntityRegistrationInfo],
    ) -> dict[str, Template] | None:
        if "inputData" not in body:
            return None
        raw = body["inputData"]
        if not isinstance(raw, Mapping):
            self.fail(f"{path}.inputData", f"expected an object, got {describe_json_type(raw)}")
            return None
        found: dict[str, Template] = {}
        for name, value in raw.items():
            at = f"{path}.inputData.{name}"
            if not isinstance(value, str):
                self.fail(at, f"expected a string, got {describe_json_type(value)}")
                continue
            template = self.template(value, at)
            if template is not None:
                self.references(template.references(), at, scope, "this action")
                found[str(name)] = template
        return found

    def timeout(self, body: Mapping[str, object], path: str) -> float:
        raw = body.get("timeout", DEFAULT_COMMAND_TIMEOUT)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not math.isfinite(raw)
            or not 0 < raw <= _MAX_TIMEOUT
        ):
            self.fail(
                f"{path}.timeout",
                f"expected seconds above 0 and at most {_MAX_TIMEOUT:g}, got {raw!r}",
            )
            return DEFAULT_COMMAND_TIMEOUT
        return float(raw)


def parse_definitions(text: str | bytes, source: str) -> DefinitionFile:
    """Validate one definition document; never raises on bad content."""
    checker = _Checker(source)
    try:
        raw = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        checker.fail("$", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return DefinitionFile(source, None, (), tuple(checker.problems))
    except json.JSONDecodeError as exc:
        checker.fail("$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return DefinitionFile(source, None, (), tuple(checker.problems))
    except (ValueError, RecursionError) as exc:
        checker.fail("$", f"invalid JSON: {exc}")
        return DefinitionFile(source, None, (), tuple(checker.problems))
    version, actions = checker.document(data)
    return DefinitionFile(source, version, tuple(actions), tuple(checker.problems))


def read_definition_file(path: Path) -> DefinitionFile:
    try:
        content = path.read_bytes()
    except OSError as exc:
        problem = DefinitionProblem(str(path), "$", f"cannot read: {exc.strerror or exc}")
        return DefinitionFile(str(path), None, (), (problem,))
    return parse_definitions(content, str(path))


def load_definition_file(path: Path) -> tuple[ActionDefinition, ...]:
    """The file's actions; any problem raises ``ActionDefinitionError`` naming the first."""
    loaded = read_definition_file(path)
    loaded.raise_for_problems()
    return loaded.actions
