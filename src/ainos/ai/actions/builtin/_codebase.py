"""Analyse a codebase: languages, lines, largest and most complex files, TODOs, manifests."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._kinds import ActionEntityTextFormat
from ainos.ai.actions._provider import ActionProvider
from ainos.ai.actions.builtin._common import (
    TreeWalk,
    Unreadable,
    WalkLimits,
    counted,
    file_path,
    is_binary,
    read_regular_file,
)
from ainos.errors import ActionError

__all__ = ["AnalyzeCodebaseProvider", "CodebaseReport", "analyze_codebase", "summary_rows"]

MAX_FILES = 50_000
MAX_FILE_BYTES = 4 * 1024 * 1024
_TOP = 10
_TODO_LIST = 25

_LANGUAGES: dict[str, str] = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".mjs": "JavaScript",
    ".cjs": "JavaScript", ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript",
    ".go": "Go", ".rs": "Rust", ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++",
    ".cxx": "C++", ".hpp": "C++", ".hh": "C++", ".cs": "C#", ".java": "Java",
    ".kt": "Kotlin", ".kts": "Kotlin", ".swift": "Swift", ".rb": "Ruby", ".php": "PHP",
    ".scala": "Scala", ".lua": "Lua", ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell",
    ".ps1": "PowerShell", ".sql": "SQL", ".r": "R", ".jl": "Julia", ".hs": "Haskell",
    ".ex": "Elixir", ".exs": "Elixir", ".erl": "Erlang", ".clj": "Clojure", ".dart": "Dart",
    ".m": "Objective-C", ".zig": "Zig", ".nim": "Nim", ".ml": "OCaml", ".fs": "F#",
    ".vue": "Vue", ".svelte": "Svelte", ".html": "HTML", ".css": "CSS", ".scss": "SCSS",
    ".md": "Markdown", ".rst": "reStructuredText", ".toml": "TOML", ".yaml": "YAML",
    ".yml": "YAML", ".json": "JSON", ".xml": "XML", ".proto": "Protocol Buffers",
    ".cu": "CUDA", ".cmake": "CMake", ".tf": "Terraform",
}  # fmt: skip
_NAMED_FILES = {"Makefile": "Makefile", "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake"}
_HASH_COMMENT = {
    "Python", "Ruby", "Shell", "PowerShell", "R", "Julia", "Elixir", "TOML", "YAML",
    "Makefile", "Dockerfile", "CMake", "Terraform",
}  # fmt: skip
_DASH_COMMENT = {"SQL", "Haskell", "Lua"}
_PROSE = {"Markdown", "reStructuredText", "JSON", "XML", "HTML", "CSS", "SCSS"}
_BRANCHES = re.compile(r"\b(?:if|elif|for|foreach|while|case|catch|except|when|guard)\b|&&|\|\|")
# A marker counts inside a comment only (some comment opener earlier on the line).
_TODO = re.compile(r"(?:#|//|/\*|\*|--|<!--|;).*?\b(TODO|FIXME|XXX|HACK)\b[:(\s]?\s*(.*)")


@dataclass
class LanguageStats:
    files: int = 0
    lines: int = 0
    code: int = 0
    comments: int = 0
    blank: int = 0


@dataclass(frozen=True)
class FileStats:
    path: str
    language: str
    lines: int
    size: int
    complexity: int


@dataclass(frozen=True)
class Manifest:
    path: str
    kind: str
    dependencies: tuple[str, ...]


@dataclass
class CodebaseReport:
    root: str
    walk: TreeWalk
    languages: dict[str, LanguageStats] = field(default_factory=dict)
    files: list[FileStats] = field(default_factory=list)
    todos: list[tuple[str, int, str, str]] = field(default_factory=list)
    todo_counts: Counter[str] = field(default_factory=Counter)
    manifests: list[Manifest] = field(default_factory=list)

    @property
    def total_lines(self) -> int:
        return sum(s.lines for s in self.languages.values())

    def largest(self) -> list[FileStats]:
        return sorted(self.files, key=lambda f: (-f.lines, f.path))[:_TOP]

    def most_complex(self) -> list[FileStats]:
        ranked = sorted(self.files, key=lambda f: (-f.complexity, f.path))
        return [f for f in ranked if f.complexity > 0][:_TOP]


def _language(path: Path) -> str | None:
    return _NAMED_FILES.get(path.name) or _LANGUAGES.get(path.suffix.lower())


def _is_comment(line: str, language: str) -> bool:
    if language in _HASH_COMMENT:
        return line.startswith("#")
    if language in _DASH_COMMENT:
        return line.startswith("--")
    if language in _PROSE:
        return False
    return line.startswith(("//", "/*", "*", "*/"))


def _python_complexity(source: str) -> int | None:
    """Decision points, McCabe-style: branches, loops, handlers, boolean operands."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    points = 0
    for node in ast.walk(tree):
        if isinstance(
            node,
            ast.If
            | ast.For
            | ast.AsyncFor
            | ast.While
            | ast.IfExp
            | ast.ExceptHandler
            | ast.match_case,
        ):
            points += 1
        elif isinstance(node, ast.BoolOp):
            points += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            points += 1 + len(node.ifs)
    return points


def _requirements(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._\-]*", line)
        if match and not line.startswith("-"):
            names.append(match.group(0))
    return names


def _pyproject(text: str) -> list[str]:
    data = tomllib.loads(text)
    project = data.get("project", {})
    specs = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        specs.extend(group)
    names = _requirements("\n".join(s for s in specs if isinstance(s, str)))
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    return names + [n for n in poetry if n != "python"]


def _keys(*sections: str, parse: Callable[[str], dict[str, object]]) -> Callable[[str], list[str]]:
    def read(text: str) -> list[str]:
        data = parse(text)
        names: list[str] = []
        for section in sections:
            value = data.get(section)
            if isinstance(value, dict):
                names.extend(str(k) for k in value)
        return names

    return read


def _go_mod(text: str) -> list[str]:
    found = re.findall(
        r"^\s*(?:require\s+)?([\w.\-]+\.[\w.\-]+/[\w./\-]+)\s+v[\w.\-+]+", text, re.M
    )
    return list(dict.fromkeys(found))


def _gemfile(text: str) -> list[str]:
    return re.findall(r"^\s*gem\s+['\"]([^'\"]+)['\"]", text, re.M)


_MANIFESTS: dict[str, tuple[str, Callable[[str], list[str]] | None]] = {
    "pyproject.toml": ("Python (pyproject)", _pyproject),
    "requirements.txt": ("Python (pip)", _requirements),
    "setup.py": ("Python (setuptools)", None),
    "setup.cfg": ("Python (setuptools)", None),
    "Pipfile": ("Python (pipenv)", _keys("packages", "dev-packages", parse=tomllib.loads)),
    "package.json": (
        "JavaScript (npm)",
        _keys("dependencies", "devDependencies", "peerDependencies", parse=json.loads),
    ),
    "Cargo.toml": (
        "Rust (cargo)",
        _keys("dependencies", "dev-dependencies", "build-dependencies", parse=tomllib.loads),
    ),
    "go.mod": ("Go (modules)", _go_mod),
    "Gemfile": ("Ruby (bundler)", _gemfile),
    "composer.json": ("PHP (composer)", _keys("require", "require-dev", parse=json.loads)),
    "pom.xml": ("Java (maven)", None),
    "build.gradle": ("JVM (gradle)", None),
    "build.gradle.kts": ("JVM (gradle)", None),
    "environment.yml": ("Python (conda)", None),
}  # fmt: skip


def _manifest(path: Path, relative: str, text: str) -> Manifest | None:
    name = path.name
    if name not in _MANIFESTS and not re.fullmatch(r"requirements[\w.\-]*\.txt", name):
        return None
    kind, parse = _MANIFESTS.get(name, _MANIFESTS["requirements.txt"])
    names: list[str] = []
    if parse is not None:
        try:
            names = parse(text)
        except (ValueError, tomllib.TOMLDecodeError, AttributeError, TypeError):
            names = []  # a manifest that does not parse is still worth listing
    return Manifest(relative, kind, tuple(dict.fromkeys(names)))


def analyze_codebase(root: Path, limits: WalkLimits | None = None) -> CodebaseReport:
    root = root.expanduser()
    report = CodebaseReport(str(root), TreeWalk(root, limits or WalkLimits(max_files=MAX_FILES)))
    base = root if root.is_dir() else root.parent
    for path in report.walk:
        relative = str(path.relative_to(base))
        try:
            data = read_regular_file(path, MAX_FILE_BYTES)
        except Unreadable as skipped:
            report.walk.skip(str(skipped))
            continue
        size = len(data)
        if is_binary(data[:8192]):
            continue
        text = data.decode("utf-8", "replace")
        manifest = _manifest(path, relative, text)
        if manifest is not None:
            report.manifests.append(manifest)
        language = _language(path)
        if language is None:
            continue
        if ".min." in path.name:  # minified, most often vendored: no one wrote it this way
            report.walk.skip("minified file")
            continue
        stats = report.languages.setdefault(language, LanguageStats())
        lines = text.splitlines()
        stats.files += 1
        stats.lines += len(lines)
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped:
                stats.blank += 1
            elif _is_comment(stripped, language):
                stats.comments += 1
            else:
                stats.code += 1
            todo = _TODO.search(line) if language not in _PROSE else None
            if todo:
                report.todo_counts[todo.group(1)] += 1
                if len(report.todos) < _TODO_LIST:
                    report.todos.append((relative, number, todo.group(1), todo.group(2).strip()))
        complexity = _python_complexity(text) if language == "Python" else None
        if complexity is None:
            complexity = 0 if language in _PROSE else len(_BRANCHES.findall(text))
        report.files.append(FileStats(relative, language, len(lines), size, complexity))
    return report


def _dependency_list(manifest: Manifest) -> str:
    names = manifest.dependencies
    if not names:
        return "no dependencies listed"
    shown = ", ".join(names[:12]) + ("…" if len(names) > 12 else "")
    return f"{len(names)} dependencies: {shown}"


def render_markdown(report: CodebaseReport) -> str:
    files = sum(s.files for s in report.languages.values())
    out = [f"# Codebase: {report.root}", ""]
    out.append(
        f"{counted(files, 'source file')}, {counted(report.total_lines, 'line')} in "
        f"{counted(len(report.languages), 'language')}."
    )
    if passed_over := report.walk.report():
        out.append(f"Not read: {passed_over}.")
    sections: list[tuple[str, list[str]]] = [
        ("Largest files", [f"- {f.path}: {f.lines} lines" for f in report.largest()]),
        (
            "Most complex files",
            [f"- {f.path}: {f.complexity} decision points" for f in report.most_complex()],
        ),
        (
            "TODO / FIXME",
            [", ".join(f"{tag} {n}" for tag, n in sorted(report.todo_counts.items()))]
            + [f"- {p}:{n}: {tag} {text}".rstrip() for p, n, tag, text in report.todos],
        ),
        (
            "Dependency manifests",
            [f"- {m.path} ({m.kind}): {_dependency_list(m)}" for m in report.manifests],
        ),
    ]  # fmt: skip
    for title, lines in sections:
        body = [line for line in lines if line]
        if body:
            out += ["", f"## {title}", "", *body]
    return "\n".join(out) + "\n"


def summary_rows(report: CodebaseReport) -> list[tuple[str, str]]:
    """The headline figures, one per row: what an answer about the codebase quotes."""
    files = sum(s.files for s in report.languages.values())
    ranked = sorted(report.languages.items(), key=lambda item: (-item[1].lines, item[0]))
    rows = [
        ("Figure", "Value"),
        ("Source files", str(files)),
        ("Lines", str(report.total_lines)),
        ("Languages", ", ".join(f"{name} ({s.lines} lines)" for name, s in ranked) or "none"),
    ]
    largest = report.largest()
    if largest:
        rows.append(("Largest file", f"{largest[0].path} ({largest[0].lines} lines)"))
    complex_files = report.most_complex()
    if complex_files:
        top = complex_files[0]
        rows.append(("Most complex file", f"{top.path} ({top.complexity} decision points)"))
    markers = sum(report.todo_counts.values())
    by_tag = ", ".join(f"{tag} {n}" for tag, n in sorted(report.todo_counts.items()))
    rows.append(("TODO markers", f"{markers} ({by_tag})" if markers else "0"))
    if report.manifests:
        rows.append(("Manifests", ", ".join(f"{m.path} ({m.kind})" for m in report.manifests)))
    if passed_over := report.walk.report():
        rows.append(("Not read", passed_over))
    return rows


class AnalyzeCodebaseProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "analyze_codebase.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        target = context.get_input("Codebase")
        target_path = file_path(target)
        if target_path is None:
            raise ActionError(f"{context.action_id} needs a file or directory as Codebase")
        path = Path(target_path)
        # Walking a large tree is blocking file I/O: keep the event loop free meanwhile.
        report = await asyncio.to_thread(analyze_codebase, path)
        factory = context.entity_factory
        header = ("Language", "Files", "Lines", "Code", "Comments", "Blank")
        ranked = sorted(report.languages.items(), key=lambda item: (-item[1].lines, item[0]))
        rows = [header] + [
            (name, str(s.files), str(s.lines), str(s.code), str(s.comments), str(s.blank))
            for name, s in ranked
        ]
        context.set_output_entity("Languages", factory.create_table_entity_from_rows(rows))
        context.set_output_entity(
            "Summary", factory.create_table_entity_from_rows(summary_rows(report))
        )
        context.set_output_entity(
            "Report",
            factory.create_text_entity(render_markdown(report), ActionEntityTextFormat.MARKDOWN),
        )
