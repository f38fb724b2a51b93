"""The agent catalog: four built-ins, the user's files over them, broken files reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ainos.app.supervisor._catalog import BUILT_IN, AgentCatalog, user_agents_dir
from ainos.app.supervisor._definition import DefinitionError
from ainos.errors import NotFound

BUILT_INS = ["code-reviewer", "researcher", "security-auditor", "test-writer"]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def user_dir(ainos_home: Path) -> Path:
    return ainos_home / "config" / "agents"


def test_the_user_dir_is_in_the_config_dir(ainos_home: Path) -> None:
    assert user_agents_dir() == ainos_home / "config" / "agents"
    assert AgentCatalog().user_dir == user_agents_dir()
    assert AgentCatalog(ainos_home / "elsewhere").user_dir == ainos_home / "elsewhere"


def test_the_four_built_ins() -> None:
    catalog = AgentCatalog()
    definitions = catalog.definitions()
    assert [d.name for d in definitions] == BUILT_INS
    assert all(d.source == BUILT_IN for d in definitions)
    assert catalog.problems() == []

    reviewer = catalog.get("code-reviewer")
    assert reviewer.checks == ("analysis", "todo", "complexity")
    assert reviewer.tools.mcp == ("Ainos.AnalyzeCodebase",)
    assert reviewer.tools.fs.read
    assert reviewer.tools.fs.write_paths() is None
    assert reviewer.tools.shell.exec == ("git log", "git diff", "git show")
    assert reviewer.policies.context.retention == "job"
    assert reviewer.policies.secrets.redact is True

    auditor = catalog.get("security-auditor")
    assert auditor.aliases == ("sec-audit",)
    assert auditor.checks == ("secrets", "dangerous-calls")
    assert auditor.tools.fs.write_paths() is None
    assert auditor.tools.shell.exec == ()
    assert auditor.policies.secrets.redact is True
    assert auditor.policies.context.retention == "job"
    assert "Report every hard-coded secret with its file and line" in auditor.success_criteria

    writer = catalog.get("test-writer")
    assert writer.aliases == ("test-gen",)
    assert writer.checks == ("untested", "analysis")
    assert writer.tools.mcp == ("Ainos.AnalyzeCodebase",)
    assert writer.tools.fs.write_paths() == ("tests",)
    assert writer.tools.shell.exec == ("pytest", "python -m pytest")
    assert writer.policies.context.retention == "job"

    researcher = catalog.get("researcher")
    assert researcher.checks == ("analysis", "search")
    assert researcher.tools.mcp == ("Ainos.AnalyzeCodebase",)
    assert researcher.tools.fs.write_paths() is None
    assert researcher.policies.context.retention == "session"

    for definition in definitions:
        assert definition.tools.net.allow == ()
        assert "2-3 sentences" in definition.instructions
        assert "only" in definition.instructions
        assert definition.success_criteria


def test_aliases_resolve_and_resolve_keeps_order_once() -> None:
    catalog = AgentCatalog()
    assert catalog.get("sec-audit").name == "security-auditor"
    assert catalog.get("test-gen").name == "test-writer"
    assert catalog.get(" Sec-Audit ").name == "security-auditor"
    chosen = catalog.resolve(["test-gen", "sec-audit", "security-auditor", "test-writer"])
    assert [d.name for d in chosen] == ["test-writer", "security-auditor"]
    assert catalog.resolve([]) == []


def test_an_unknown_name() -> None:
    with pytest.raises(NotFound) as caught:
        AgentCatalog().get("nope")
    assert str(caught.value) == (
        "no agent named 'nope'; the agents are: "
        "code-reviewer, researcher, security-auditor, test-writer"
    )
    with pytest.raises(NotFound):
        AgentCatalog().resolve(["researcher", "nope"])


def test_user_files_add_agents(user_dir: Path) -> None:
    path = write(user_dir, "linter.yml", "name: linter\naliases: [lint]\ngoal: Lint it\n")
    write(user_dir, ".hidden.yaml", "not: a definition\n")
    write(user_dir, "notes.txt", "not a definition\n")
    catalog = AgentCatalog()
    assert [d.name for d in catalog.definitions()] == sorted([*BUILT_INS, "linter"])
    assert catalog.get("lint").source == str(path)
    assert catalog.problems() == []


def test_a_user_file_overrides_a_built_in(user_dir: Path) -> None:
    path = write(user_dir, "mine.yaml", "name: security-auditor\ngoal: My own audit\n")
    catalog = AgentCatalog()
    auditor = catalog.get("security-auditor")
    assert (auditor.goal, auditor.source) == ("My own audit", str(path))
    assert [d.name for d in catalog.definitions()] == BUILT_INS
    # The built-in's alias went with it; the override did not claim it.
    with pytest.raises(NotFound):
        catalog.get("sec-audit")
    assert catalog.problems() == []


def test_an_override_may_keep_the_built_ins_aliases(user_dir: Path) -> None:
    write(user_dir, "a.yaml", "name: security-auditor\naliases: [sec-audit]\ngoal: Mine\n")
    catalog = AgentCatalog()
    assert catalog.get("sec-audit").goal == "Mine"
    assert catalog.problems() == []


def test_a_broken_user_file_is_reported_not_fatal(user_dir: Path) -> None:
    broken = write(user_dir, "broken.yaml", "name: broken\ngoal: [unclosed\n")
    typo = write(user_dir, "typo.yaml", "name: typo\ngaol: x\n")
    write(user_dir, "fine.yaml", "name: fine\ngoal: Works\n")
    catalog = AgentCatalog()
    assert [d.name for d in catalog.definitions()] == sorted([*BUILT_INS, "fine"])
    problems = catalog.problems()
    assert [p.source for p in problems] == [str(broken), str(typo)]
    assert str(problems[0]).startswith(f"{broken}: line 3, column 1: not valid YAML")
    assert problems[1].faults == ("gaol: unknown field (did you mean goal?)", "goal: is required")
    # Asking for a broken file's agent (by its name or its file's) says what is wrong.
    with pytest.raises(DefinitionError) as caught:
        catalog.get("typo")
    assert caught.value.source == str(typo)
    with pytest.raises(DefinitionError) as caught:
        catalog.get("broken")
    assert caught.value.source == str(broken)


def test_names_claimed_twice(user_dir: Path) -> None:
    first = write(user_dir, "a.yaml", "name: linter\naliases: [lint]\ngoal: First\n")
    second = write(user_dir, "b.yaml", "name: checker\naliases: [lint]\ngoal: Second\n")
    third = write(user_dir, "c.yaml", "name: linter\ngoal: Third\n")
    fourth = write(user_dir, "d.yaml", "name: mine\naliases: [sec-audit]\ngoal: Fourth\n")
    fifth = write(user_dir, "e.yaml", "name: sec-audit\ngoal: Fifth\n")
    catalog = AgentCatalog()
    assert catalog.get("lint").source == str(first)
    assert catalog.get("linter").goal == "First"
    faults = {p.source: str(p) for p in catalog.problems()}
    assert faults == {
        str(second): f"{second}: aliases[0]: 'lint' is already an alias of the agent linter "
        f"({first})",
        str(third): f"{third}: name: 'linter' is already the name of the agent linter ({first})",
        str(fourth): f"{fourth}: aliases[0]: 'sec-audit' is already an alias of the agent "
        "security-auditor (built-in)",
        str(fifth): f"{fifth}: name: 'sec-audit' is already an alias of the agent "
        "security-auditor (built-in)",
    }
    assert "checker" not in [d.name for d in catalog.definitions()]
    with pytest.raises(DefinitionError, match="already an alias"):
        catalog.get("checker")


def test_the_user_dir_is_read_again_when_it_changes(user_dir: Path) -> None:
    catalog = AgentCatalog()
    assert [d.name for d in catalog.definitions()] == BUILT_INS
    path = write(user_dir, "new.yaml", "name: newer\ngoal: One\n")
    assert catalog.get("newer").goal == "One"
    path.write_text("name: newer\ngoal: Two, changed\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse clock
    assert catalog.get("newer").goal == "Two, changed"
    path.unlink()
    with pytest.raises(NotFound):
        catalog.get("newer")


def test_a_user_dir_that_is_a_file_holds_no_agents(tmp_path: Path) -> None:
    not_a_dir = write(tmp_path, "agents", "")
    catalog = AgentCatalog(not_a_dir)
    assert [d.name for d in catalog.definitions()] == BUILT_INS
    assert catalog.problems() == []
