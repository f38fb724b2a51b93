"""Agent definitions: every field checked, each fault one plain line naming file and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from ainos.app.supervisor._definition import (
    CHECK_NAMES,
    AgentDefinition,
    DefinitionError,
    FsAccess,
    load_definition,
    parse_definition,
)
from ainos.errors import AinosError, InvalidArgument

BUILT_INS = Path(__file__).parents[3] / "src/ainos/app/supervisor/agents"
MINIMAL: dict[str, Any] = {"name": "auditor", "goal": "Find secrets"}
_MISSING = object()


def definition_of(**changes: Any) -> dict[str, Any]:
    """MINIMAL with ``changes`` applied; a key ``a__b`` sets the nested field a.b."""
    data = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        place = data
        for part in parents:
            place = place.setdefault(part, {})
        if value is _MISSING:
            place.pop(last, None)
        else:
            place[last] = value
    return data


def fault_of(data: dict[str, Any], source: str = "agents/x.yaml") -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(yaml.safe_dump(data), source)
    return caught.value


def assert_plain(error: DefinitionError) -> None:
    """One line, in our words: none of pydantic's."""
    message = str(error)
    assert "\n" not in message
    for fault in error.faults:
        assert "\n" not in fault
        for pydantic_words in ("Input should", "type=", "pydantic", "Value error", "<list>"):
            assert pydantic_words not in fault


def test_minimal_definition_gets_the_defaults() -> None:
    definition = parse_definition("name: auditor\ngoal: Find secrets\n", "agents/a.yaml")
    assert definition.source == "agents/a.yaml"
    assert definition.model_dump(mode="json") == {
        "name": "auditor",
        "aliases": [],
        "goal": "Find secrets",
        "model": None,
        "instructions": "",
        "checks": [],
        "tools": {
            "mcp": [],
            "fs": {"read": True, "write": False},
            "net": {"allow": []},
            "shell": {"exec": []},
        },
        "policies": {
            "context": {"max_tokens": 16000, "retention": "job"},
            "secrets": {"redact": True},
        },
        "success_criteria": [],
        "artifacts": [],
    }
    assert definition.names() == ("auditor",)
    assert definition.tools.fs.write_paths() is None


def test_a_full_definition_is_read_and_normalised() -> None:
    text = """
name: security-auditor
aliases: [sec-audit, audit]
goal: "  Find hard-coded secrets  "
model: qwen2.5-0.5b
instructions: |
  Explain only the findings.
checks: [secrets, dangerous-calls]
tools:
  mcp: [Ainos.AnalyzeCodebase, embed, github, github/search_code]
  fs: {read: true, write: [./reports/, docs]}
  net: {allow: [pypi.org, "*.github.com", "https://Example.org/*", "http://h.io:8080"]}
  shell: {exec: [pytest, "python   -m pytest", git log]}
policies:
  context: {max_tokens: 1_000_000, retention: session}
  secrets: {redact: ['sk-[A-Za-z0-9]{20,}', 'api_key=(?P<secret>\\S+)']}
success_criteria: [Report every secret with its file and line]
artifacts: [reports/audit.md, docs/x/y.json]
"""
    definition = parse_definition(text, "built-in")
    assert definition.names() == ("security-auditor", "sec-audit", "audit")
    assert definition.goal == "Find hard-coded secrets"
    assert definition.instructions == "Explain only the findings."
    assert definition.model == "qwen2.5-0.5b"
    assert definition.tools.fs.write == ("reports", "docs")
    assert definition.tools.fs.write_paths() == ("reports", "docs")
    assert definition.tools.net.allow == ("pypi.org", "*.github.com", "example.org", "h.io")
    assert definition.tools.shell.exec == ("pytest", "python -m pytest", "git log")
    assert definition.policies.context.max_tokens == 1_000_000
    assert definition.policies.secrets.redact == (
        "sk-[A-Za-z0-9]{20,}",
        "api_key=(?P<secret>\\S+)",
    )
    assert definition.artifacts == ("reports/audit.md", "docs/x/y.json")


def test_write_paths() -> None:
    assert FsAccess(write=True).write_paths() == (".",)
    assert FsAccess(write=False).write_paths() is None
    assert FsAccess(write=()).write_paths() is None
    assert FsAccess(write=("tests",)).write_paths() == ("tests",)


def test_the_model_is_frozen_and_source_is_not_dumped() -> None:
    definition = parse_definition(yaml.safe_dump(MINIMAL), "agents/x.yaml")
    with pytest.raises(pydantic.ValidationError):
        definition.name = "other"
    assert "source" not in definition.model_dump()
    again = parse_definition(yaml.safe_dump(definition.model_dump(mode="json")), "copy.yaml")
    assert again.model_dump() == definition.model_dump()


# Each bad value, the field it must be reported at, and words of the fault.
BAD_VALUES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": _MISSING}, "name", "is required"),
    ({"name": "Security"}, "name", "expected a name of lowercase letters"),
    ({"name": "9lives"}, "name", "got '9lives'"),
    ({"name": "a" * 64}, "name", "at most 63 characters"),
    ({"name": 3}, "name", "got 3"),
    ({"aliases": "sec"}, "aliases", "expected a list of names, got 'sec'"),
    ({"aliases": ["ok", "Not OK"]}, "aliases[1]", "got 'Not OK'"),
    ({"goal": _MISSING}, "goal", "is required"),
    ({"goal": ""}, "goal", "must not be empty"),
    ({"goal": "   "}, "goal", "must not be empty"),
    ({"goal": "one\ntwo"}, "goal", "expected one line of text, got several lines"),
    ({"goal": ["x"]}, "goal", "expected one line of text, got a list"),
    ({"model": 3}, "model", "expected a model name, or null"),
    ({"model": ""}, "model", "expected a model name"),
    ({"instructions": ["x"]}, "instructions", "expected a text, got a list"),
    ({"checks": "secrets"}, "checks", "expected a list of check names, got 'secrets'"),
    ({"checks": ["secret"]}, "checks[0]", "got 'secret' (did you mean secrets?)"),
    ({"checks": ["todo", None]}, "checks[1]", "expected one of analysis, todo, secrets"),
    ({"tools": 3}, "tools", "expected a mapping of mcp, fs, net, shell, got 3"),
    ({"tools": None}, "tools", "got null"),
    ({"tools__mcp": "Ainos.X"}, "tools.mcp", "expected a list of MCP tools"),
    ({"tools__mcp": [""]}, "tools.mcp[0]", "expected an MCP tool"),
    ({"tools__mcp": ["a b"]}, "tools.mcp[0]", "got 'a b'"),
    ({"tools__mcp": ["server/tool/extra"]}, "tools.mcp[0]", "server/tool"),
    ({"tools__fs": ["read"]}, "tools.fs", "expected a mapping of read, write, got a list"),
    ({"tools__fs__read": "yes"}, "tools.fs.read", "expected true or false, got 'yes'"),
    ({"tools__fs__read": 1}, "tools.fs.read", "expected true or false, got 1"),
    (
        {"tools__fs__write": 3},
        "tools.fs.write",
        "expected true, false or a list of paths relative to the workspace, got 3",
    ),
    ({"tools__fs__write": "tests"}, "tools.fs.write", "got 'tests'"),
    ({"tools__fs__write": ["/etc"]}, "tools.fs.write[0]", "(absolute)"),
    ({"tools__fs__write": ["~/x"]}, "tools.fs.write[0]", "(absolute)"),
    ({"tools__fs__write": ["a/../../x"]}, "tools.fs.write[0]", "leaves the workspace"),
    ({"tools__fs__write": ["ok", ""]}, "tools.fs.write[1]", "expected a path relative"),
    ({"tools__fs__write": [3]}, "tools.fs.write[0]", "got 3"),
    ({"tools__net": 1}, "tools.net", "expected a mapping of allow"),
    ({"tools__net__allow": "*"}, "tools.net.allow", "expected a list of hosts"),
    ({"tools__net__allow": ["a b"]}, "tools.net.allow[0]", "expected a host"),
    ({"tools__net__allow": ["pypi.org:443"]}, "tools.net.allow[0]", "expected a host"),
    ({"tools__net__allow": ["*.*"]}, "tools.net.allow[0]", "expected a host"),
    ({"tools__net__allow": ["ftp://x.org/*"]}, "tools.net.allow[0]", "http(s)://host/*"),
    ({"tools__net__allow": ["https://x.org/api/*"]}, "tools.net.allow[0]", "per host"),
    ({"tools__net__allow": [7]}, "tools.net.allow[0]", "got 7"),
    ({"tools__shell__exec": "pytest"}, "tools.shell.exec", "expected a list of commands"),
    ({"tools__shell__exec": [""]}, "tools.shell.exec[0]", "a program name or a command prefix"),
    ({"tools__shell__exec": ["git log; rm -rf /"]}, "tools.shell.exec[0]", "shell operators"),
    ({"tools__shell__exec": ["git 'log"]}, "tools.shell.exec[0]", 'got "git \'log"'),
    ({"tools__shell__exec": [["git"]]}, "tools.shell.exec[0]", "got a list"),
    ({"policies": "strict"}, "policies", "expected a mapping of context, secrets"),
    ({"policies__context": []}, "policies.context", "expected a mapping of max_tokens"),
    ({"policies__context__max_tokens": 999}, "policies.context.max_tokens", "from 1000 to"),
    ({"policies__context__max_tokens": 1_000_001}, "policies.context.max_tokens", "got 1000001"),
    ({"policies__context__max_tokens": "16000"}, "policies.context.max_tokens", "got '16000'"),
    ({"policies__context__max_tokens": True}, "policies.context.max_tokens", "got true"),
    ({"policies__context__max_tokens": 2000.5}, "policies.context.max_tokens", "whole number"),
    ({"policies__context__retention": "forever"}, "policies.context.retention", "job or session"),
    ({"policies__context__retention": None}, "policies.context.retention", "got null"),
    ({"policies__secrets": True}, "policies.secrets", "expected a mapping of redact, got true"),
    (
        {"policies__secrets__redact": "yes"},
        "policies.secrets.redact",
        "expected true, false or a list of regular expressions, got 'yes'",
    ),
    ({"policies__secrets__redact": ["("]}, "policies.secrets.redact[0]", "not a valid regular"),
    ({"policies__secrets__redact": [""]}, "policies.secrets.redact[0]", "regular expression"),
    ({"success_criteria": "x"}, "success_criteria", "expected a list of texts"),
    ({"success_criteria": ["a", "b", ""]}, "success_criteria[2]", "expected a non-empty text"),
    ({"success_criteria": [3]}, "success_criteria[0]", "got 3"),
    ({"artifacts": "out.md"}, "artifacts", "expected a list of paths"),
    ({"artifacts": ["/tmp/out.md"]}, "artifacts[0]", "(absolute)"),
    ({"artifacts": ["../out.md"]}, "artifacts[0]", "leaves the workspace"),
]


@pytest.mark.parametrize(("changes", "field", "words"), BAD_VALUES)
def test_each_bad_value_is_named_by_its_field(
    changes: dict[str, Any], field: str, words: str
) -> None:
    error = fault_of(definition_of(**changes))
    assert_plain(error)
    assert str(error).startswith(f"agents/x.yaml: {field}: ")
    assert error.faults[0].startswith(f"{field}: ")
    assert words in error.faults[0]


def test_the_example_fault_of_the_plan() -> None:
    error = fault_of(definition_of(tools__fs__write=3), "agents/foo.yaml")
    assert str(error) == (
        "agents/foo.yaml: tools.fs.write: expected true, false or a list of paths relative to "
        "the workspace, got 3"
    )
    assert isinstance(error, InvalidArgument)
    assert isinstance(error, AinosError)


def test_every_fault_is_kept() -> None:
    data = definition_of(
        name="Bad", goal="", checks=["nope"], tools__fs__read="no", artifacts=["/x"]
    )
    error = fault_of(data)
    assert_plain(error)
    assert [fault.split(":")[0] for fault in error.faults] == [
        "name",
        "goal",
        "checks[0]",
        "tools.fs.read",
        "artifacts[0]",
    ]
    assert str(error).endswith("(and 4 more faults)")
    assert error.names == ("Bad",)


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"gaol": "x"}, "gaol: unknown field (did you mean goal?)"),
        ({"tools__fs__wirte": True}, "tools.fs.wirte: unknown field (did you mean write?)"),
        ({"policies__context__ttl": 3}, "policies.context.ttl: unknown field (the fields here"),
        ({"source": "built-in"}, "source: unknown field"),
    ],
)
def test_unknown_fields_are_errors(changes: dict[str, Any], fault: str) -> None:
    error = fault_of(definition_of(**changes))
    assert error.faults[0].startswith(fault), error.faults


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        (
            {"checks": ["secrets"], "tools__fs__read": False},
            "checks: the checks read the workspace's files, but tools.fs.read is false",
        ),
        (
            {"artifacts": ["reports/x.md"], "tools__fs__write": ["tests"]},
            "artifacts[0]: reports/x.md is outside tools.fs.write",
        ),
        ({"artifacts": ["reports/x.md"]}, "artifacts[0]: reports/x.md is outside tools.fs.write"),
        (
            {"artifacts": ["tests/ok.md", "testsuite/x.md"], "tools__fs__write": ["tests"]},
            "artifacts[1]: testsuite/x.md is outside tools.fs.write",
        ),
        ({"artifacts": ["."], "tools__fs__write": True}, "artifacts[0]: expected a file"),
        (
            {"aliases": ["auditor"]},
            "aliases[0]: 'auditor' is the agent's name; an alias must differ",
        ),
        ({"aliases": ["a", "b", "a"]}, "aliases[2]: 'a' is listed twice (also aliases[0])"),
        ({"checks": ["todo", "todo"]}, "checks[1]: 'todo' is listed twice"),
        ({"tools__mcp": ["x", "x"]}, "tools.mcp[1]: 'x' is listed twice"),
        ({"tools__fs__write": ["tests", "./tests/"]}, "tools.fs.write[1]: 'tests' is listed"),
        ({"tools__net__allow": ["a.org", "https://a.org/*"]}, "tools.net.allow[1]: 'a.org'"),
        ({"tools__shell__exec": ["git log", "git  log"]}, "tools.shell.exec[1]: 'git log'"),
        ({"policies__secrets__redact": ["x", "x"]}, "policies.secrets.redact[1]: 'x'"),
        ({"success_criteria": ["a", "a"]}, "success_criteria[1]: 'a' is listed twice"),
        ({"artifacts": ["a.md", "a.md"], "tools__fs__write": True}, "artifacts[1]: 'a.md'"),
    ],
)
def test_rules_across_fields(changes: dict[str, Any], fault: str) -> None:
    error = fault_of(definition_of(**changes))
    assert_plain(error)
    assert error.faults[0].startswith(fault), error.faults
    assert str(error) == f"agents/x.yaml: {error.faults[0]}"


def test_artifacts_inside_fs_write_are_fine() -> None:
    for write in (True, ["reports"], ["."], ["reports/x.md"]):
        data = definition_of(artifacts=["reports/x.md"], tools__fs__write=write)
        assert parse_definition(yaml.safe_dump(data), "x.yaml").artifacts == ("reports/x.md",)


def test_the_rules_hold_for_definitions_built_in_code() -> None:
    with pytest.raises(pydantic.ValidationError):
        AgentDefinition(name="a", goal="g", artifacts=("out.md",))
    assert AgentDefinition(name="a", goal="g").tools.fs.read is True


def test_yaml_syntax_error_names_line_and_column() -> None:
    text = "name: auditor\ngoal: Find secrets\nchecks: [secrets\ntools: {}\n"
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "agents/a.yaml")
    message = str(caught.value)
    assert message.startswith("agents/a.yaml: line 4, column 6: not valid YAML: ")
    assert "\n" not in message
    with pytest.raises(DefinitionError, match=r"^a\.yaml: line 2, column 8: not valid YAML"):
        parse_definition("name: a\ngoal: x: y\n", "a.yaml")


def test_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition("name: a\ngoal: one\ngoal: two\n", "a.yaml")
    assert str(caught.value) == "a.yaml: line 3, column 1: the key 'goal' is given twice"


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- name: a\n", "expected a mapping of fields (name, goal, ...), got a list"),
        ("just words\n", "expected a mapping of fields (name, goal, ...), got 'just words'"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
        ("name: a\n---\nname: b\n", "not valid YAML: expected a single document"),
    ],
)
def test_documents_that_are_no_definition(text: str, fault: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "a.yaml")
    assert fault in str(caught.value)
    assert str(caught.value).startswith("a.yaml: ")
    assert_plain(caught.value)


def test_load_definition_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("\ufeffname: auditor\ngoal: Find secrets\n", encoding="utf-8")
    assert load_definition(good).source == str(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: auditor\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match=f"^{bad}: goal: is required$"):
        load_definition(bad)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_definition(missing)
    assert str(caught.value) == f"{missing}: cannot read the file: No such file or directory"
    with pytest.raises(DefinitionError, match="cannot read the file: Is a directory"):
        load_definition(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: a\ngoal: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError) as caught:
        load_definition(latin)
    assert str(caught.value) == f"{latin}: not UTF-8 text (byte 0xe9 at offset 17)"


@pytest.mark.parametrize("path", sorted(BUILT_INS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_built_in_files_are_valid(path: Path) -> None:
    definition = load_definition(path)
    assert definition.name == path.stem
    assert definition.checks
    assert definition.success_criteria
    assert "2-3 sentences" in definition.instructions


def test_the_check_names_are_those_of_the_checks_package() -> None:
    checks = pytest.importorskip("ainos.app.supervisor.checks._names")
    assert checks.CHECK_NAMES == CHECK_NAMES
