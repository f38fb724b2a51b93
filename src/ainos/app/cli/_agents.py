"""``ainos agents``: the sub-agent definitions (YAML) — list them, show one, validate files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import emit_json, stderr, stdout

if TYPE_CHECKING:
    from ainos.app.supervisor._definition import AgentDefinition, DefinitionError

agents_app = typer.Typer(
    name="agents",
    help="Sub-agent definitions (YAML): list, show, validate.",
    no_args_is_help=True,
)

_JSON_HELP = "Print JSON instead of text."


def _as_json(definition: AgentDefinition) -> dict[str, Any]:
    return {**definition.model_dump(mode="json"), "source": definition.source}


def _problem_json(problem: DefinitionError) -> dict[str, Any]:
    return {"file": problem.source, "error": str(problem), "faults": list(problem.faults)}


def _may_write(definition: AgentDefinition) -> str:
    paths = definition.tools.fs.write_paths()
    if paths is None:
        return "no"
    return "workspace" if "." in paths else ", ".join(paths)


def _source(source: str, user_dir: Path) -> str:
    """A user's file by its name (the caption names the directory)."""
    path = Path(source)
    return path.name if path.parent == user_dir else source


@agents_app.command("list")
def list_agents(
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """The agents: the built-in ones and yours.

    Yours are the *.yaml files in the config dir's agents/; one with a built-in agent's
    name replaces it. Broken files are skipped, each named on stderr (ainos agents
    validate FILE shows all its faults).
    """
    # Imported here: pydantic and YAML are for the commands that read definitions.
    from ainos.app.supervisor._catalog import AgentCatalog

    catalog = AgentCatalog()
    definitions = catalog.definitions()
    problems = catalog.problems()
    if as_json:
        emit_json(
            {
                "agents": [_as_json(d) for d in definitions],
                "problems": [_problem_json(p) for p in problems],
            }
        )
        return
    user_dir = catalog.user_dir
    table = Table(
        title="agents",
        title_justify="left",
        caption=escape(f"yours: {user_dir}/*.yaml"),
        caption_justify="left",
    )
    for column in ("name", "aliases", "source"):
        table.add_column(column, no_wrap=True)
    for column in ("checks", "may write", "may run", "goal"):
        table.add_column(column)
    for definition in definitions:
        table.add_row(
            escape(definition.name),
            escape(", ".join(definition.aliases) or "-"),
            escape(_source(definition.source, user_dir)),
            escape("\n".join(definition.checks) or "-"),
            escape(_may_write(definition)),
            escape("\n".join(definition.tools.shell.exec) or "-"),
            escape(definition.goal),
        )
    stdout.print(table)
    for problem in problems:
        stderr.print(escape(f"skipped {problem}"))


@agents_app.command("show")
def show(
    name: str = typer.Argument(..., metavar="NAME", help="The agent's name or one of its aliases."),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """One agent's definition as it takes effect (defaults filled in), as YAML."""
    from ainos.app.supervisor._catalog import AgentCatalog

    definition = AgentCatalog().get(name)
    if as_json:
        emit_json(_as_json(definition))
        return
    sys.stdout.write(f"# source: {definition.source}\n" + _yaml(definition.model_dump(mode="json")))


def _yaml(document: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None  # instructions read as a block
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(
        document, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


@agents_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(..., metavar="FILE...", help="Definition files (YAML)."),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Check definition files: "FILE: ok (NAME)", or one line per fault.

    The exit status is 1 when a file is bad.
    """
    from ainos.app.supervisor._definition import DefinitionError, load_definition

    reports: list[dict[str, Any]] = []
    for path in paths:
        try:
            definition = load_definition(path)
        except DefinitionError as error:
            reports.append({"file": str(path), "ok": False, "name": None, "faults": error.faults})
        else:
            reports.append({"file": str(path), "ok": True, "name": definition.name, "faults": ()})
    if as_json:
        emit_json([{**report, "faults": list(report["faults"])} for report in reports])
    else:
        lines = []
        for report in reports:
            if report["ok"]:
                lines.append(f"{report['file']}: ok ({report['name']})")
            lines += [f"{report['file']}: {fault}" for fault in report["faults"]]
        sys.stdout.write("".join(line + "\n" for line in lines))
    if not all(report["ok"] for report in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(agents_app, name="agents")
