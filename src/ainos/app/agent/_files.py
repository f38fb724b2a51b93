"""The agent's read-only file tools: read a slice of a file, list a tree, grep.

Each returns a small result with structured fields and a ``text`` bounded in size, the
form a model reads. Trees skip tool and dependency directories and, inside a git work
tree, what ``.gitignore`` ignores (asked of ``git check-ignore``, one call per level).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ainos.errors import InvalidArgument, NotFound

__all__ = [
    "SKIPPED_DIRS",
    "DirEntry",
    "DirListing",
    "FileSlice",
    "GrepEngine",
    "GrepMatch",
    "GrepResult",
    "grep",
    "list_dir",
    "read_file",
]

GrepEngine = Literal["auto", "rg", "python"]

# Directories of tools, caches and dependencies: never what a person wants listed or searched.
SKIPPED_DIRS = frozenset(
    {".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
# A NUL in the first bytes marks a binary file (git and ripgrep decide the same way).
_BINARY_SNIFF = 8192
_GREP_LINE_CHARS = 300  # of a matching line, in `text`


def _is_binary(head: bytes) -> bool:
    return b"\0" in head


def _cut(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]}… [{len(line) - limit} more chars]"


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise InvalidArgument(f"{name} must be 1 or more, got {value}")


# ---------------------------------------------------------------------------- read_file


@dataclass(frozen=True)
class FileSlice:
    """Lines ``offset`` … ``end`` of a text file (1-based), and how many it has."""

    path: Path
    offset: int
    lines: tuple[str, ...]  # without their line endings, not cut
    total_lines: int
    text: str

    @property
    def end(self) -> int:
        return self.offset + len(self.lines) - 1

    @property
    def more(self) -> bool:
        return self.end < self.total_lines


def read_file(
    path: Path, *, offset: int = 1, limit: int = 200, max_line_chars: int = 500
) -> FileSlice:
    """Up to ``limit`` lines from line ``offset``, each shown as ``L{n}: …``."""
    _positive("offset", offset)
    _positive("limit", limit)
    _positive("max_line_chars", max_line_chars)
    info = _stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise InvalidArgument(f"{path} is a directory; list_dir shows what it holds")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgument(f"{path} is not a regular file")
    lines: list[str] = []
    total = 0
    try:
        with path.open("rb") as stream:
            if _is_binary(stream.read(_BINARY_SNIFF)):
                raise InvalidArgument(f"{path} is a binary file; read_file shows text files only")
            stream.seek(0)
            # Streamed: counting a large file's lines does not hold it in memory.
            for total, raw in enumerate(stream, 1):
                if offset <= total < offset + limit:
                    lines.append(
                        raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
                    )
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror or exc}") from None
    if offset > max(total, 1):
        raise InvalidArgument(f"offset {offset} is past the end of {path} ({total} lines)")
    shown = [f"L{offset + i}: {_cut(line, max_line_chars)}" for i, line in enumerate(lines)]
    end = offset + len(lines) - 1
    if total == 0:
        footer = "(empty file)"
    elif end < total:
        footer = (
            f"(lines {offset}-{end} of {total}; {total - end} more: continue at offset={end + 1})"
        )
    else:
        footer = f"(lines {offset}-{end} of {total}, to the end of the file)"
    return FileSlice(path, offset, tuple(lines), total, "\n".join([*shown, footer]))


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no such file or directory: {path}") from None
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------- walking


@dataclass(frozen=True)
class DirEntry:
    path: str  # relative to the listed directory, '/'-separated
    is_dir: bool
    is_symlink: bool
    depth: int  # 1 for the directory's own entries


def _scan_level(
    root: Path, directories: list[str], keep: Callable[[os.DirEntry[str], bool], bool]
) -> list[DirEntry]:
    """The entries of ``directories`` (relative to ``root``), sorted, minus unwanted ones."""
    found: list[DirEntry] = []
    for directory in directories:
        try:
            with os.scandir(root / directory) as scan:
                items = sorted(scan, key=lambda item: item.name)
        except OSError:
            continue  # unreadable: nothing to show of it
        depth = directory.count("/") + 2 if directory else 1
        for item in items:
            is_dir = item.is_dir(follow_symlinks=False)
            if (is_dir and item.name in SKIPPED_DIRS) or not keep(item, is_dir):
                continue
            path = f"{directory}/{item.name}" if directory else item.name
            found.append(DirEntry(path, is_dir, item.is_symlink(), depth))
    return found


class _GitIgnore:
    """Asks git which paths its ignore rules exclude; a no-op outside a work tree."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._git = shutil.which("git")

    def drop_ignored(self, entries: list[DirEntry]) -> list[DirEntry]:
        if self._git is None or not entries:
            return entries
        # --no-index: only the ignore rules decide, as they do for ripgrep.
        try:
            done = subprocess.run(
                [self._git, "-C", str(self._root), "check-ignore", "-z", "--stdin", "--no-index"],
                input="".join(f"{entry.path}\0" for entry in entries).encode(),
                capture_output=True,
                check=False,
            )
        except OSError:
            done = None
        if done is None or done.returncode not in (0, 1):
            self._git = None  # not a work tree (or git unusable): ask no more
            return entries
        ignored = set(done.stdout.decode("utf-8", "surrogateescape").split("\0"))
        return [entry for entry in entries if entry.path not in ignored]


# ---------------------------------------------------------------------------- list_dir


@dataclass(frozen=True)
class DirListing:
    """A directory's tree to ``depth`` levels; ``omitted`` entries beyond the limit."""

    root: Path
    entries: tuple[DirEntry, ...]  # in tree order: each directory followed by its entries
    total: int
    text: str

    @property
    def omitted(self) -> int:
        return self.total - len(self.entries)


def list_dir(path: Path, *, depth: int = 2, limit: int = 200) -> DirListing:
    """The tree under ``path``, sorted by name, directories marked ``/``.

    When there are more than ``limit`` entries, the shallower ones are kept.
    """
    _positive("depth", depth)
    _positive("limit", limit)
    if not stat.S_ISDIR(_stat(path).st_mode):
        raise InvalidArgument(f"{path} is not a directory; read_file shows a file")
    root = Path(os.path.abspath(path))
    gitignore = _GitIgnore(root)
    found: list[DirEntry] = []
    level = [""]
    for _ in range(depth):
        entries = gitignore.drop_ignored(_scan_level(root, level, lambda _item, _dir: True))
        found.extend(entries)
        level = [entry.path for entry in entries if entry.is_dir]
        if not level:
            break
    # Breadth first, so a limit keeps the top of the tree; then shown depth first.
    shown = sorted(found[:limit], key=lambda entry: entry.path.split("/"))
    lines = [f"{root}/"]
    for entry in shown:
        name = entry.path.rsplit("/", 1)[-1]
        mark = "/" if entry.is_dir else "@" if entry.is_symlink else ""
        lines.append(f"{'  ' * entry.depth}{name}{mark}")
    if not found:
        lines.append("  (empty)")
    if len(found) > limit:
        lines.append(
            f"({len(found) - limit} more entries not shown; list a subdirectory or raise limit)"
        )
    return DirListing(root, tuple(shown), len(found), "\n".join(lines))


# ---------------------------------------------------------------------------- grep


@dataclass(frozen=True)
class GrepMatch:
    path: str  # relative to the search root, '/'-separated
    line: int
    text: str  # the matching line, without its line ending


@dataclass(frozen=True)
class GrepResult:
    """The first ``limit`` matching lines, sorted by path then line, of ``total``."""

    pattern: str
    root: Path
    matches: tuple[GrepMatch, ...]
    total: int
    truncated: bool
    engine: Literal["rg", "python"]
    text: str


def grep(
    pattern: str,
    path: Path,
    *,
    glob: str | None = None,
    ignore_case: bool = False,
    limit: int = 100,
    engine: GrepEngine = "auto",
) -> GrepResult:
    """Lines matching the regular expression ``pattern`` in the files under ``path``.

    Hidden files, binary files, :data:`SKIPPED_DIRS` and (in a git work tree) what
    ``.gitignore`` ignores are not searched. ``glob`` filters files the way ripgrep's
    ``--glob`` does (``*.py``, ``src/**/*.ts``, ``!*.min.js``). The ``rg`` engine is
    ripgrep; ``python`` walks with :mod:`re`; ``auto`` takes ripgrep when it is on PATH
    (and Python for a pattern only Python's syntax accepts, such as a look-ahead).
    """
    _positive("limit", limit)
    info = _stat(path)
    root = Path(os.path.abspath(path))
    base, target = (root, ".") if stat.S_ISDIR(info.st_mode) else (root.parent, root.name)
    rg = shutil.which("rg")
    if engine == "rg" and rg is None:
        raise NotFound("ripgrep (rg) is not on PATH")
    found: list[GrepMatch] | None = None
    ran: Literal["rg", "python"] = "python"
    if engine != "python" and rg is not None:
        found = _grep_rg(rg, pattern, base, target, glob, ignore_case, strict=engine == "rg")
        ran = "rg"
    if found is None:
        regex = _compile(pattern, ignore_case)
        found = _grep_python(regex, base, target, glob)
        ran = "python"
    found.sort(key=lambda match: (match.path, match.line))
    shown = tuple(found[:limit])
    return GrepResult(
        pattern,
        root,
        shown,
        len(found),
        len(found) > limit,
        ran,
        _grep_text(pattern, root, shown, found),
    )


def _grep_text(
    pattern: str, root: Path, shown: tuple[GrepMatch, ...], found: list[GrepMatch]
) -> str:
    if not found:
        return f"No matches for {json.dumps(pattern)} under {root}."
    lines = [f"{m.path}:{m.line}: {_cut(m.text, _GREP_LINE_CHARS)}" for m in shown]
    files = len({match.path for match in found})
    if len(found) > len(shown):
        lines.append(
            f"(showing {len(shown)} of {_plural(len(found), 'match')} in "
            f"{_plural(files, 'file')}; narrow the pattern, path or glob)"
        )
    else:
        lines.append(f"({_plural(len(found), 'match')} in {_plural(files, 'file')})")
    return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return (
        f"{count} {noun}" if count == 1 else f"{count} {noun}{'es' if noun.endswith('h') else 's'}"
    )


def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise InvalidArgument(f"invalid regular expression {json.dumps(pattern)}: {exc}") from None


def _grep_rg(
    rg: str,
    pattern: str,
    base: Path,
    target: str,
    glob: str | None,
    ignore_case: bool,
    *,
    strict: bool,
) -> list[GrepMatch] | None:
    """ripgrep's matches; None when it rejects a pattern that Python's ``re`` may take."""
    command = [rg, "--json", "--no-config", "--regexp", pattern]
    if ignore_case:
        command.append("--ignore-case")
    if glob:
        command += ["--glob", glob]
    for name in sorted(SKIPPED_DIRS):  # after the caller's glob, so these win
        command += ["--glob", f"!{name}/"]
    command += ["--", target]
    done = subprocess.run(command, cwd=base, capture_output=True, check=False)
    if done.returncode == 2 and b"regex parse error" in done.stderr:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1]
        if strict:
            raise InvalidArgument(f"invalid regular expression {json.dumps(pattern)}: {why}")
        _compile(pattern, ignore_case)  # raises when Python's syntax refuses it too
        return None
    found: list[GrepMatch] = []
    for raw in done.stdout.splitlines():
        message = json.loads(raw)
        if message["type"] == "match":
            data = message["data"]
            found.append(
                GrepMatch(
                    _rg_text(data["path"]).removeprefix("./"),
                    data["line_number"],
                    _rg_text(data["lines"]).removesuffix("\n").removesuffix("\r"),
                )
            )
    return found


def _rg_text(value: dict[str, str]) -> str:
    # ripgrep gives text that is not UTF-8 as base64 bytes.
    if "text" in value:
        return value["text"]
    return base64.b64decode(value["bytes"]).decode("utf-8", "replace")


def _grep_python(
    regex: re.Pattern[str], base: Path, target: str, glob: str | None
) -> list[GrepMatch]:
    matches_glob = _glob_filter(glob)
    files = [target] if target != "." else _walk_files(base, matches_glob)
    found: list[GrepMatch] = []
    for relative in files:
        try:
            data = (base / relative).read_bytes()
        except OSError:
            continue  # gone or unreadable: ripgrep skips it too
        if _is_binary(data[:_BINARY_SNIFF]):
            continue
        lines = data.decode("utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()  # after the final newline there is no line
        found.extend(
            GrepMatch(relative, number, line.removesuffix("\r"))
            for number, line in enumerate(lines, 1)
            if regex.search(line)
        )
    return found


def _walk_files(root: Path, matches_glob: Callable[[str, bool], bool]) -> list[str]:
    """Files under ``root`` as ripgrep chooses them: no hidden, ignored or symlinked ones."""
    gitignore = _GitIgnore(root)

    def keep(item: os.DirEntry[str], is_dir: bool) -> bool:
        return not item.name.startswith(".") and not item.is_symlink()

    files: list[str] = []
    level = [""]
    while level:
        entries = gitignore.drop_ignored(_scan_level(root, level, keep))
        entries = [entry for entry in entries if matches_glob(entry.path, entry.is_dir)]
        files += [entry.path for entry in entries if not entry.is_dir]
        level = [entry.path for entry in entries if entry.is_dir]
    return files


# ---------------------------------------------------------------------------- globs


def _glob_filter(glob: str | None) -> Callable[[str, bool], bool]:
    """Whether a relative path passes ``glob``, as ripgrep's ``--glob`` decides.

    A glob includes the files it matches (others are left out, directories still walked);
    ``!glob`` excludes files and directories. Without a ``/`` it matches a name at any depth.
    """
    if not glob:
        return lambda _path, _is_dir: True
    exclude = glob.startswith("!")
    body = glob.removeprefix("!")
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    regex = re.compile(("" if anchored else "(?:.*/)?") + _glob_regex(body.lstrip("/")))

    def passes(path: str, is_dir: bool) -> bool:
        matched = (is_dir or not dir_only) and regex.fullmatch(path) is not None
        if exclude:
            return not matched
        return is_dir or matched

    return passes


def _glob_regex(glob: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if glob.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and (close := glob.find("]", index + 2)) != -1:
            inner = glob[index + 1 : close]
            inner = "^" + inner[1:] if inner.startswith("!") else inner
            parts.append(f"[{inner.replace(chr(92), chr(92) * 2)}]")
            index = close + 1
            continue
        elif char == "{" and (close := glob.find("}", index)) != -1:
            options = glob[index + 1 : close].split(",")
            parts.append("(?:" + "|".join(_glob_regex(option) for option in options) + ")")
            index = close + 1
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)
