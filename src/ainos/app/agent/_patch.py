"""Codex's apply_patch format: parse a patch, plan it in memory, apply it all or nothing.

A patch names whole-file operations; an update carries hunks located by their lines::

    *** Begin Patch
    *** Add File: path          every following line starts with '+'
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path       optional, right after Update File
    @@ class Foo                optional lines that narrow where the next hunk is
     context line
    -removed line
    +added line
    *** End of File             optional: the hunk sits at the end of the file
    *** End Patch

:func:`plan_patch` reads every file and computes every new content before anything is
written, so a patch that does not apply changes nothing; :func:`apply_plan` writes each file
atomically and puts back the ones already written if a later write fails.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ainos.errors import PatchError

__all__ = [
    "AddFile",
    "ChangeKind",
    "DeleteFile",
    "FileChange",
    "FileOp",
    "Hunk",
    "Patch",
    "PatchPlan",
    "PlannedChange",
    "UpdateFile",
    "apply_patch",
    "apply_plan",
    "parse_patch",
    "plan_patch",
]

ChangeKind = Literal["add", "delete", "update"]
LineKind = Literal[" ", "-", "+"]

BEGIN_PATCH = "*** Begin Patch"
END_PATCH = "*** End Patch"
END_OF_FILE = "*** End of File"

_FILE_OP = re.compile(r"^\*\*\* (Add|Delete|Update) File:\s*(.*?)\s*$")
_MOVE_TO = re.compile(r"^\*\*\* Move to:\s*(.*?)\s*$")
# `apply_patch <<'EOF'`, `<<EOF`, `cat <<-"PATCH"` …: the first line of a heredoc wrapper.
_HEREDOC = re.compile(r"""^(?:\S+\s+)?<<-?\s*(['"]?)([A-Za-z_]\w*)\1$""")
_FENCE = re.compile(r"^```[\w+-]*$")
# Models trained on unified diffs sometimes write `@@ -12,3 +12,4 @@ def f():`.
_UNIFIED_RANGE = re.compile(r"^-\d+(?:,\d+)? \+\d+(?:,\d+)? @@\s*(.*)$")


# ---------------------------------------------------------------------------- parsed form


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` section of an update: where it goes and the lines it changes."""

    context: tuple[str, ...]  # `@@ …` lines, found in order, each after the one before
    lines: tuple[tuple[LineKind, str], ...]
    end_of_file: bool
    line_number: int  # where the hunk starts in the patch text

    @property
    def old_lines(self) -> list[str]:
        return [text for kind, text in self.lines if kind != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for kind, text in self.lines if kind != "-"]


@dataclass(frozen=True)
class AddFile:
    path: str
    content: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    move_to: str | None
    hunks: tuple[Hunk, ...]


FileOp = AddFile | DeleteFile | UpdateFile


@dataclass(frozen=True)
class Patch:
    ops: tuple[FileOp, ...]
    text: str  # the patch itself: no heredoc or fence around it, its markers unpadded


# ---------------------------------------------------------------------------- planned form


@dataclass(frozen=True)
class FileChange:
    """What :func:`apply_plan` did to one file, with paths as the patch wrote them."""

    path: str
    kind: ChangeKind
    move_to: str | None = None


@dataclass(frozen=True)
class PlannedChange:
    """One operation of a plan: absolute paths and the file's content before and after."""

    path: Path
    kind: ChangeKind
    move_to: Path | None
    content: str | None  # the new content; None for a deletion
    old_content: str | None  # None for an addition
    patch_path: str
    patch_move_to: str | None = None


@dataclass(frozen=True)
class _Write:
    """The final state of one path once the whole patch is applied."""

    data: bytes | None  # None: the path ends up absent
    mode: int | None  # permission bits to give a written file; None: the umask's default
    display: str


@dataclass(frozen=True)
class PatchPlan:
    """A patch checked against the disk, with every new content computed; nothing written."""

    cwd: Path
    changes: tuple[PlannedChange, ...]
    _writes: dict[Path, _Write] = field(repr=False, compare=False)
    # What each written path held when planned (None: absent), to refuse a stale plan.
    _snapshot: dict[Path, bytes | None] = field(repr=False, compare=False)

    def paths(self) -> list[Path]:
        """Every absolute path the patch writes or deletes, move destinations and the real
        file behind a symlink included: what a sandbox must allow."""
        seen: dict[Path, None] = {}
        for change in self.changes:
            for path in (change.path, change.move_to):
                if path is not None:
                    seen[path] = None
                    seen[Path(os.path.realpath(path))] = None
        return list(seen)

    def unified_diff(self) -> str:
        """The plan as a unified diff, one section per operation, for a person to approve."""
        return "".join(_diff_section(change) for change in self.changes)


# ---------------------------------------------------------------------------- parsing

_Line = tuple[int, str]  # (1-based line number in the given text, the line)


def parse_patch(text: str) -> Patch:
    """Parse a patch, tolerating a heredoc or code fence around it and blank lines."""
    lines = _unwrap([(n, line.removesuffix("\r")) for n, line in enumerate(text.split("\n"), 1)])
    if not lines:
        raise PatchError(f"line 1: expected '{BEGIN_PATCH}', got an empty patch")
    first_number, first = lines[0]
    if first.strip() != BEGIN_PATCH:
        raise PatchError(f"line {first_number}: expected '{BEGIN_PATCH}', got {_quote(first)}")
    last_number, last = lines[-1]
    if len(lines) < 2 or last.strip() != END_PATCH:
        raise PatchError(
            f"line {last_number}: expected '{END_PATCH}' as the last line, got {_quote(last)}"
        )
    ops = _Parser(lines[1:-1]).ops()
    if not ops:
        raise PatchError(f"line {last_number}: the patch has no file operations")
    body = [line for _, line in lines[1:-1]]
    return Patch(ops=tuple(ops), text="\n".join([BEGIN_PATCH, *body, END_PATCH]) + "\n")


def _unwrap(lines: list[_Line]) -> list[_Line]:
    """Strip blank lines and any heredoc (`apply_patch <<'EOF' … EOF`) or fence around."""
    lines = _strip_blank(lines)
    while len(lines) >= 2:
        first, last = lines[0][1].strip(), lines[-1][1].strip()
        heredoc = _HEREDOC.match(first)
        if (heredoc and last == heredoc.group(2)) or (_FENCE.match(first) and last == "```"):
            lines = _strip_blank(lines[1:-1])
        else:
            break
    return lines


def _strip_blank(lines: list[_Line]) -> list[_Line]:
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return lines[start:end]


class _Parser:
    """Reads the operations between Begin and End Patch, one cursor over the lines."""

    def __init__(self, lines: list[_Line]) -> None:
        self._lines = lines
        self._at = 0

    def _peek(self) -> _Line | None:
        return self._lines[self._at] if self._at < len(self._lines) else None

    def ops(self) -> list[FileOp]:
        ops: list[FileOp] = []
        while (current := self._peek()) is not None:
            number, line = current
            if not line.strip():
                self._at += 1
                continue
            header = _FILE_OP.match(line.strip())
            if header is None:
                raise PatchError(
                    f"line {number}: expected '*** Add File: ', '*** Delete File: ', "
                    f"'*** Update File: ' or '{END_PATCH}', got {_quote(line)}"
                )
            verb, path = header.groups()
            if not path:
                raise PatchError(f"line {number}: '*** {verb} File:' names no file")
            self._at += 1
            if verb == "Add":
                ops.append(AddFile(path, self._added_content()))
            elif verb == "Delete":
                ops.append(DeleteFile(path))
            else:
                ops.append(self._update(path, number))
        return ops

    def _added_content(self) -> str:
        content: list[str] = []
        while (current := self._peek()) is not None:
            line = current[1]
            if line.startswith("+"):
                content.append(line[1:])
            elif not line.strip() and self._more_added_lines():
                content.append("")  # a blank line whose '+' was forgotten, inside the file
            else:
                break
            self._at += 1
        return "".join(f"{line}\n" for line in content)

    def _more_added_lines(self) -> bool:
        for _, line in self._lines[self._at :]:
            if line.strip():
                return line.startswith("+")
        return False

    def _update(self, path: str, header_number: int) -> UpdateFile:
        move_to = None
        current = self._peek()
        if current is not None and (move := _MOVE_TO.match(current[1].strip())):
            if not move.group(1):
                raise PatchError(f"line {current[0]}: '*** Move to:' names no file")
            move_to = move.group(1)
            self._at += 1
        hunks: list[Hunk] = []
        while (current := self._peek()) is not None:
            if not current[1].strip():
                self._at += 1  # blank lines between hunks
                continue
            if current[1].startswith("*"):
                break  # the next operation (or a stray marker the caller reports)
            hunks.append(self._hunk())
        if not hunks:
            raise PatchError(f"line {header_number}: '*** Update File: {path}' has no hunks")
        return UpdateFile(path, move_to, tuple(hunks))

    def _hunk(self) -> Hunk:
        start = self._lines[self._at][0]
        context: list[str] = []
        while (current := self._peek()) is not None and current[1].startswith("@@"):
            header = current[1][2:].strip()
            if unified := _UNIFIED_RANGE.match(header):
                header = unified.group(1).strip()
            if header:
                context.append(header)
            self._at += 1
        lines: list[tuple[LineKind, str]] = []
        bare = 0  # how many of the last lines were empty lines without a ' ' prefix
        end_of_file = False
        while (current := self._peek()) is not None:
            number, line = current
            if line.rstrip() == END_OF_FILE:
                end_of_file = True
                self._at += 1
                break
            if line.startswith(("@@", "*")):
                break
            if line.startswith((" ", "-", "+")):
                kind: LineKind = " " if line[0] == " " else "-" if line[0] == "-" else "+"
                lines.append((kind, line[1:]))
                bare = 0
            elif not line.strip():
                lines.append((" ", ""))  # an empty context line that lost its space
                bare += 1
            elif not line.startswith("\\"):  # `\ No newline at end of file` says nothing here
                raise PatchError(
                    f"line {number}: expected a hunk line starting with ' ', '-' or '+' "
                    f"(or '@@', '{END_OF_FILE}'), got {_quote(line)}"
                )
            self._at += 1
        if bare and not end_of_file:
            # Blank lines before the next operation are spacing, not context to match.
            del lines[-bare:]
        if not lines:
            raise PatchError(f"line {start}: the hunk has no lines")
        return Hunk(tuple(context), tuple(lines), end_of_file, start)


# ---------------------------------------------------------------------------- planning


def plan_patch(text: str, cwd: Path) -> PatchPlan:
    """Parse ``text`` and compute every file's new content, resolving paths against ``cwd``.

    Raises :class:`PatchError` naming the file (and hunk) when anything does not apply.
    """
    return _Planner(Path(os.path.abspath(cwd))).plan(parse_patch(text))


class _Planner:
    """Applies the operations to an in-memory view of the files they touch."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self._state: dict[Path, str | None] = {}  # each touched path's content so far
        self._snapshot: dict[Path, bytes | None] = {}
        self._modes: dict[Path, int | None] = {}
        self._displays: dict[Path, str] = {}
        self._order: dict[Path, None] = {}  # written paths, in the order first written

    def plan(self, patch: Patch) -> PatchPlan:
        changes = [self._plan_op(op) for op in patch.ops]
        writes: dict[Path, _Write] = {}
        for path in self._order:
            content = self._state[path]
            if content is None and self._snapshot[path] is None:
                continue  # added, then deleted again
            data = None if content is None else content.encode("utf-8", "surrogateescape")
            writes[path] = _Write(data, self._modes.get(path), self._displays[path])
        return PatchPlan(self._cwd, tuple(changes), writes, dict(self._snapshot))

    def _plan_op(self, op: FileOp) -> PlannedChange:
        path = self._resolve(op.path)
        current = self._read(path, op.path)
        if isinstance(op, AddFile):
            if current is not None:
                raise PatchError(f"{op.path}: cannot add the file: it already exists")
            self._check_creatable(path, op.path)
            self._set(path, op.content, op.path)
            return PlannedChange(path, "add", None, op.content, None, op.path)
        if current is None:
            verb = "delete" if isinstance(op, DeleteFile) else "update"
            raise PatchError(f"{op.path}: cannot {verb} the file: it does not exist")
        if isinstance(op, DeleteFile):
            self._set(path, None, op.path)
            return PlannedChange(path, "delete", None, None, current, op.path)
        new = _apply_hunks(current, op.hunks, op.path)
        if op.move_to is None or (destination := self._resolve(op.move_to)) == path:
            self._set(path, new, op.path)
            return PlannedChange(path, "update", None, new, current, op.path)
        if self._read(destination, op.move_to) is not None:
            raise PatchError(f"{op.path}: cannot move to {op.move_to}: that file exists")
        self._check_creatable(destination, op.move_to)
        self._modes[destination] = self._modes.get(path)
        self._set(destination, new, op.move_to)
        self._set(path, None, op.path)
        return PlannedChange(path, "update", destination, new, current, op.path, op.move_to)

    def _resolve(self, raw: str) -> Path:
        # normpath collapses `..`, so a sandbox check sees where the write really lands.
        return Path(os.path.normpath(self._cwd / raw))

    def _read(self, path: Path, display: str) -> str | None:
        if path in self._state:
            return self._state[path]
        data, mode = _read_file(path, display)
        self._snapshot[path] = data
        self._modes[path] = mode
        # surrogateescape keeps bytes that are not UTF-8 as they were on the lines not edited.
        text = None if data is None else data.decode("utf-8", "surrogateescape")
        self._state[path] = text
        return text

    def _set(self, path: Path, content: str | None, display: str) -> None:
        self._state[path] = content
        self._displays[path] = display
        self._order[path] = None

    def _check_creatable(self, path: Path, display: str) -> None:
        for parent in path.parents:
            if parent in self._state and self._state[parent] is not None:
                raise PatchError(f"{display}: cannot create it: {parent} is a file")
            if os.path.lexists(parent):
                if not parent.is_dir():
                    raise PatchError(f"{display}: cannot create it: {parent} is not a directory")
                return


def _read_file(path: Path, display: str) -> tuple[bytes | None, int | None]:
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as exc:
        raise PatchError(f"{display}: cannot read it: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise PatchError(f"{display}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise PatchError(f"{display}: is not a regular file")
    try:
        return path.read_bytes(), stat.S_IMODE(info.st_mode)
    except OSError as exc:
        raise PatchError(f"{display}: cannot read it: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------- hunks


def _apply_hunks(content: str, hunks: Sequence[Hunk], display: str) -> str:
    """The content with every hunk applied, keeping its line ending and final newline."""
    eol = "\r\n" if _uses_crlf(content) else "\n"
    lines = content.split(eol)
    ends_with_newline = content == "" or lines[-1] == ""
    if lines[-1] == "":
        lines.pop()
    replacements: list[tuple[int, int, Hunk]] = []
    position = 0  # hunks apply in order: each is searched after the one before
    for number, hunk in enumerate(hunks, 1):
        for context in hunk.context:
            found = _seek(lines, [context], position, at_end=False)
            if found is None:
                raise _hunk_error(display, number, f"context line not found: {_quote(context)}")
            position = found + 1
        matched, start = _locate(lines, hunk, position)
        if start is None:
            old = hunk.old_lines
            shown = ", ".join(_quote(line) for line in old[:3])
            more = f" (+{len(old) - 3} more lines)" if len(old) > 3 else ""
            where = " at the end of the file" if hunk.end_of_file else ""
            raise _hunk_error(display, number, f"expected lines not found{where}: {shown}{more}")
        replacements.append((start, len(matched.old_lines), matched))
        if matched.old_lines or matched.context:
            position = start + len(matched.old_lines)
    result: list[str] = []
    done = 0
    for start, length, hunk in sorted(replacements, key=lambda item: item[0]):
        result.extend(lines[done:start])
        originals = iter(lines[start : start + length])
        for kind, text in hunk.lines:
            if kind == "+":
                result.append(text)
            elif kind == " ":
                # A context line keeps the file's own text, even when matched loosely.
                result.append(next(originals))
            else:
                next(originals)
        done = start + length
    result.extend(lines[done:])
    if not result:
        return ""
    return eol.join(result) + (eol if ends_with_newline else "")


def _locate(lines: list[str], hunk: Hunk, position: int) -> tuple[Hunk, int | None]:
    """Where the hunk's old lines start (and the hunk as matched), or None."""
    if not hunk.old_lines:
        # A pure addition goes after its `@@` context, else (as in Codex) at the end.
        return hunk, position if hunk.context and not hunk.end_of_file else len(lines)
    found = _seek(lines, hunk.old_lines, position, at_end=hunk.end_of_file)
    trimmed = hunk
    while found is None and trimmed.lines and trimmed.lines[-1] == (" ", ""):
        # A trailing empty context line often stands for the file's final newline.
        trimmed = Hunk(trimmed.context, trimmed.lines[:-1], hunk.end_of_file, hunk.line_number)
        if not trimmed.old_lines:
            break
        found = _seek(lines, trimmed.old_lines, position, at_end=hunk.end_of_file)
    return (trimmed, found) if found is not None else (hunk, None)


def _hunk_error(display: str, number: int, why: str) -> PatchError:
    return PatchError(f"{display}: hunk {number} does not apply: {why}")


_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys(
            "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
        ),
    }
)


def _normalise_punctuation(line: str) -> str:
    return line.strip().translate(_PUNCTUATION)


def _same(line: str) -> str:
    return line


# From strict to loose: a looser rule is tried only when no position matches a stricter one.
_MATCHERS: tuple[Callable[[str], str], ...] = (
    _same,
    str.rstrip,
    str.strip,
    _normalise_punctuation,
)


def _seek(lines: list[str], pattern: list[str], start: int, *, at_end: bool) -> int | None:
    """The first index at or after ``start`` where ``pattern`` matches ``lines``."""
    size = len(pattern)
    last = len(lines) - size
    if last < start:
        return None
    candidates = range(last, last + 1) if at_end else range(start, last + 1)
    for normalise in _MATCHERS:
        wanted = [normalise(line) for line in pattern]
        normalised = [normalise(line) for line in lines[start:]]
        for index in candidates:
            if normalised[index - start : index - start + size] == wanted:
                return index
    return None


def _uses_crlf(content: str) -> bool:
    newlines = content.count("\n")
    return newlines > 0 and content.count("\r\n") == newlines


# ---------------------------------------------------------------------------- applying


def apply_plan(plan: PatchPlan) -> list[FileChange]:
    """Write a plan to disk, each file atomically; if one write fails, undo the others.

    Refuses a plan whose files changed on disk since it was computed.
    """
    for path, before in plan._snapshot.items():
        display = plan._writes[path].display if path in plan._writes else str(path)
        if _current_bytes(path) != before:
            raise PatchError(f"{display}: changed on disk since the patch was planned")
    undo: list[tuple[Path, bytes | None, int | None]] = []  # (path, content, mode) before
    created: list[Path] = []
    for path, write in plan._writes.items():
        try:
            if write.data is None:
                deleted_mode = stat.S_IMODE(path.lstat().st_mode)
                path.unlink()
                undo.append((path, plan._snapshot[path], deleted_mode))
                continue
            target = Path(os.path.realpath(path))  # through a symlink, not over it
            before, mode = _read_file(target, write.display)
            created.extend(_make_parents(target.parent))
            _atomic_write(target, write.data, write.mode if write.mode is not None else mode)
            undo.append((target, before, mode))
        except (OSError, PatchError) as exc:
            failures = _roll_back(undo, created)
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            left = f"; could not restore {', '.join(failures)}" if failures else ""
            raise PatchError(
                f"{write.display}: cannot write it: {why}; the patch was not applied{left}"
            ) from exc
    return [FileChange(c.patch_path, c.kind, c.patch_move_to) for c in plan.changes]


def apply_patch(text: str, cwd: Path) -> list[FileChange]:
    """Plan ``text`` against ``cwd`` and apply it."""
    return apply_plan(plan_patch(text, cwd))


def _current_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError:
        return b""  # unreadable now: certainly not what was planned


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing ancestors; the ones created, deepest last."""
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir()
    return list(reversed(missing))


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    # A temporary sibling renamed over the file: readers see the old or the new content,
    # never half of it. Created with 0o666 so a new file gets the umask's usual mode.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _roll_back(
    undo: Iterable[tuple[Path, bytes | None, int | None]], created: list[Path]
) -> list[str]:
    """Put back what was there before; the paths that could not be restored."""
    failures: list[str] = []
    for path, before, mode in reversed(list(undo)):
        try:
            if before is None:
                path.unlink(missing_ok=True)
            else:
                _atomic_write(path, before, mode)
        except OSError:
            failures.append(str(path))
    for directory in reversed(created):
        try:
            directory.rmdir()
        except OSError:
            failures.append(str(directory))
    return failures


# ---------------------------------------------------------------------------- diff


def _diff_section(change: PlannedChange) -> str:
    source = "/dev/null" if change.kind == "add" else _diff_name("a", change.patch_path)
    target = change.patch_move_to or change.patch_path
    destination = "/dev/null" if change.kind == "delete" else _diff_name("b", target)
    old = _lines_with_ends(_printable(change.old_content or ""))
    new = _lines_with_ends(_printable(change.content or ""))
    lines = list(difflib.unified_diff(old, new, source, destination))
    if not lines:  # a pure rename, or an update that changes nothing
        return f"--- {source}\n+++ {destination}\n"
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


def _lines_with_ends(text: str) -> list[str]:
    # Not str.splitlines: it also splits at \f, \x1c, \u2028 … which are not line ends here.
    parts = text.split("\n")
    return [f"{part}\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _diff_name(side: str, path: str) -> str:
    return path if os.path.isabs(path) else f"{side}/{path}"


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _quote(text: str, limit: int = 80) -> str:
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False)
