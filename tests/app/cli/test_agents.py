"""``ainos agents``: list, show and validate agent definitions; each mistake one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from ainos.app.cli import _agents, main
from ainos.app.supervisor._catalog import AgentCatalog
from ainos.app.supervisor._definition import parse_definition
from ainos.errors import NotFound

BUILT_INS = ["code-reviewer", "researcher", "security-auditor", "test-writer"]


def cli(*args: str) -> Result:
    app = typer.Typer()
    _agents.register(app)

    @app.callback()
    def _root() -> None:
        """A test root with one group."""

    return CliRunner().invoke(app, ["agents", *args], env={"COLUMNS": "200"})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The real command line, with its error reporting."""
    code = main(["agents", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def user_dir(ainos_home: Path) -> Path:
    folder = ainos_home / "config" / "agents"
    folder.mkdir(parents=True)
    return folder


def test_list_shows_the_built_ins() -> None:
    result = cli("list")
    assert result.exit_code == 0, result.output
    for name in [*BUILT_INS, "sec-audit", "test-gen", "git log", "python -m pytest"]:
        assert name in result.stdout
    assert result.stderr == ""


def test_list_names_broken_files_on_stderr(user_dir: Path) -> None:
    (user_dir / "mine.yaml").write_text("name: mine\ngoal: My agent\n", encoding="utf-8")
    bad = user_dir / "bad.yaml"
    bad.write_text("name: bad\ngoal: [\n", encoding="utf-8")
    typo = user_dir / "typo.yml"
    typo.write_text("name: typo\ngoal: x\nchecks: [secret]\n", encoding="utf-8")
    result = cli("list")
    assert result.exit_code == 0, result.output
    assert "mine.yaml" in result.stdout
    assert "My agent" in result.stdout
    assert result.stderr.splitlines() == [
        f"skipped {bad}: line 3, column 1: not valid YAML: expected the node content, "
        "but found '<stream end>'",
        f"skipped {typo}: checks[0]: expected one of analysis, todo, secrets, dangerous-calls, "
        "untested, complexity, search, got 'secret' (did you mean secrets?)",
    ]


def test_list_json(user_dir: Path) -> None:
    bad = user_dir / "bad.yaml"
    bad.write_text("name: bad\n", encoding="utf-8")
    result = cli("list", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"agents", "problems"}
    assert [a["name"] for a in document["agents"]] == BUILT_INS
    auditor = document["agents"][2]
    assert auditor["source"] == "built-in"
    assert auditor["aliases"] == ["sec-audit"]
    assert auditor["tools"]["fs"] == {"read": True, "write": False}
    assert auditor["policies"]["context"] == {"max_tokens": 16000, "retention": "job"}
    assert document["problems"] == [
        {"file": str(bad), "error": f"{bad}: goal: is required", "faults": ["goal: is required"]}
    ]


def test_show_prints_the_effective_definition_as_yaml(user_dir: Path) -> None:
    result = cli("show", "sec-audit")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# source: built-in\nname: security-auditor\n")
    shown = yaml.safe_load(result.stdout)
    assert shown["checks"] == ["secrets", "dangerous-calls"]
    assert "source" not in shown
    # What show prints is itself a valid definition, of the same agent.
    again = parse_definition(result.stdout, "copy.yaml")
    assert again.model_dump() == AgentCatalog().get("security-auditor").model_dump()

    (user_dir / "mine.yaml").write_text(
        "name: mine\ngoal: Mine\ninstructions: |\n  line one\n  line two\n", encoding="utf-8"
    )
    result = cli("show", "mine")
    assert result.stdout.startswith(f"# source: {user_dir / 'mine.yaml'}\n")
    assert "instructions: |-\n  line one\n  line two\n" in result.stdout
    assert "max_tokens: 16000" in result.stdout  # the defaults are filled in


def test_show_json() -> None:
    result = cli("show", "test-gen", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["name"] == "test-writer"
    assert shown["source"] == "built-in"
    assert shown["tools"]["fs"]["write"] == ["tests"]
    assert shown["tools"]["shell"]["exec"] == ["pytest", "python -m pytest"]


def test_show_an_unknown_agent_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(cli("show", "nope").exception, NotFound)
    code, out, err = run(capsys, "show", "nope")
    assert (code, out) == (1, "")
    assert err == (
        "ainos: error: no agent named 'nope'; the agents are: "
        "code-reviewer, researcher, security-auditor, test-writer\n"
    )


def test_show_a_broken_agent_is_one_line(
    capsys: pytest.CaptureFixture[str], user_dir: Path
) -> None:
    bad = user_dir / "mine.yaml"
    bad.write_text("name: mine\ngoal: x\ntools: {fs: {write: 3}}\n", encoding="utf-8")
    code, out, err = run(capsys, "show", "mine")
    assert (code, out) == (2, "")
    assert err == (
        f"ainos: error: {bad}: tools.fs.write: expected true, false or a list of paths "
        "relative to the workspace, got 3\n"
    )


def test_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\ngoal: Fine\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ngoal: ''\nartifacts: [out.md]\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"

    result = cli("validate", str(good))
    assert (result.exit_code, result.stdout) == (0, f"{good}: ok (good)\n")

    result = cli("validate", str(good), str(bad), str(missing))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{good}: ok (good)",
        f"{bad}: name: expected a name of lowercase letters, digits and dashes starting with "
        "a letter (at most 63 characters), got 'Bad'",
        f"{bad}: goal: must not be empty",
        f"{missing}: cannot read the file: No such file or directory",
    ]

    result = cli("validate", "--json", str(good), str(bad))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"file": str(good), "ok": True, "name": "good", "faults": []},
        {
            "file": str(bad),
            "ok": False,
            "name": None,
            "faults": [
                "name: expected a name of lowercase letters, digits and dashes starting with "
                "a letter (at most 63 characters), got 'Bad'",
                "goal: must not be empty",
            ],
        },
    ]


def test_validate_reports_rules_across_fields(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\ngoal: g\nchecks: [todo]\ntools: {fs: {read: false, write: [tests]}}\n"
        "artifacts: [reports/x.md]\n",
        encoding="utf-8",
    )
    result = cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}: checks: the checks read the workspace's files, but tools.fs.read is false",
        f"{path}: artifacts[0]: reports/x.md is outside tools.fs.write",
    ]


def test_the_built_ins_validate(capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(__file__).parents[3] / "src/ainos/app/supervisor/agents"
    files = sorted(str(path) for path in folder.glob("*.yaml"))
    code, out, err = run(capsys, "validate", *files)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{f}: ok ({Path(f).stem})" for f in files]


def test_usage_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "validate")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("ainos: error:")
