"""Walking a tree for the built-in actions: special files are never opened, /proc, /sys and
/dev never entered, and files, depth and time are bounded — each skip counted by reason."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.ai.actions import (
    ActionInvocationResult,
    ActionRuntime,
    TableActionEntity,
    TextActionEntity,
)
from ainos.ai.actions.builtin import TreeWalk, WalkLimits, analyze_codebase, search_files

pytestmark = pytest.mark.timeout(120)  # before bounds, these walks blocked on a FIFO for ever

SPECIAL = "special file (device, FIFO or socket)"
SPECIALS = "special files (device, FIFO or socket)"
SYSTEM = "system directory (/proc, /sys, /dev)"


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Iterator[Path]:
    """A tree with a FIFO, a listening socket and a link beside ordinary files."""
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("needle one\n")
    (root / "sub" / "b.py").write_text("# TODO: needle two\nx = 1\n")
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to(root / "a.txt")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sub" / "sock"))
    listener.listen()
    try:
        yield root
    finally:
        listener.close()


def test_a_walk_yields_regular_files_and_counts_the_rest(hostile_tree: Path) -> None:
    walk = TreeWalk(hostile_tree)
    assert sorted(p.relative_to(hostile_tree).as_posix() for p in walk) == ["a.txt", "sub/b.py"]
    assert walk.skipped == {SPECIAL: 2, "symbolic link": 1}
    assert not walk.bounds_hit
    assert walk.report() == f"skipped 2 {SPECIALS}, 1 symbolic link"


def test_a_special_file_given_as_root_is_skipped_not_opened(hostile_tree: Path) -> None:
    walk = TreeWalk(hostile_tree / "pipe")
    assert list(walk) == []
    assert walk.skipped == {SPECIAL: 1}


def test_system_trees_are_never_entered(tmp_path: Path) -> None:
    walk = TreeWalk(Path("/proc"))
    assert list(walk) == []
    assert walk.skipped == {SYSTEM: 1}
    (tmp_path / "to-dev").symlink_to("/dev")  # the root given may be a link: resolved first
    linked = TreeWalk(tmp_path / "to-dev")
    assert list(linked) == []
    assert linked.skipped == {SYSTEM: 1}


def test_depth_files_and_time_are_bounded(tmp_path: Path) -> None:
    deep = tmp_path / "one" / "two" / "three"
    deep.mkdir(parents=True)
    for directory in (tmp_path, tmp_path / "one", tmp_path / "one" / "two", deep):
        (directory / "f.txt").write_text("x\n")
    shallow = TreeWalk(tmp_path, WalkLimits(max_depth=1))
    assert len(list(shallow)) == 2
    assert shallow.skipped == {"directory deeper than 1 levels": 1}
    assert shallow.bounds_hit == {"depth (1 levels)"}
    few = TreeWalk(tmp_path, WalkLimits(max_files=3))
    assert len(list(few)) == 3
    assert few.bounds_hit == {"files (3)"}
    hurried = TreeWalk(tmp_path, WalkLimits(max_seconds=0))
    assert list(hurried) == []
    assert hurried.bounds_hit == {"time (0 s)"}
    assert hurried.report() == "stopped at the bound on time (0 s)"


def test_searching_the_whole_machine_finishes_within_its_bounds() -> None:
    result = search_files(Path("/"), "ainos", WalkLimits(max_files=300, max_seconds=10))
    walk = result.walk
    assert walk.skipped[SYSTEM] == 3  # /proc, /sys and /dev, each passed over once
    assert walk.files <= 300
    # What / holds outside hidden and tool directories depends on the machine (a container's
    # may hold under 300 files): the walk either saw all of it or stopped at a bound.
    assert walk.bounds_hit <= {"files (300)", "time (10 s)"}
    assert walk.files == 300 or walk.bounds_hit <= {"time (10 s)"}


def test_analysing_the_whole_machine_finishes_within_its_bounds() -> None:
    report = analyze_codebase(Path("/"), WalkLimits(max_files=300, max_depth=3, max_seconds=10))
    assert report.walk.skipped[SYSTEM] == 3
    assert report.walk.bounds_hit


def _invoke(runtime: ActionRuntime, action_id: str, **inputs: object) -> dict[str, object]:
    context = asyncio.run(runtime.invoke_action(action_id, inputs))  # type: ignore[arg-type]
    assert context.result is ActionInvocationResult.SUCCESS, context.extended_error
    outputs: dict[str, object] = {}
    for name in ("Summary", "Matches", "Report"):
        entity = context.get_output(name)
        if isinstance(entity, TextActionEntity):
            outputs[name] = entity.text
        elif isinstance(entity, TableActionEntity):
            outputs[name] = entity.rows()
    return outputs


def test_search_files_reports_what_it_skipped(runtime: ActionRuntime, hostile_tree: Path) -> None:
    factory = runtime.entity_factory
    outputs = _invoke(
        runtime,
        "Ainos.SearchFiles",
        Folder=factory.create_file_entity(hostile_tree),
        Query=factory.create_text_entity("needle"),
    )
    assert outputs["Matches"] == [
        ("Path", "Line", "Text"),
        ("a.txt", "1", "needle one"),
        ("sub/b.py", "1", "# TODO: needle two"),
    ]
    assert outputs["Summary"] == (
        f"2 matching lines in 2 of 2 files under {hostile_tree}; "
        f"skipped 2 {SPECIALS}, 1 symbolic link"
    )


def test_analyze_codebase_reports_what_it_skipped(
    runtime: ActionRuntime, hostile_tree: Path
) -> None:
    outputs = _invoke(
        runtime,
        "Ainos.AnalyzeCodebase",
        Codebase=runtime.entity_factory.create_file_entity(hostile_tree),
    )
    summary = dict(outputs["Summary"])  # type: ignore[call-overload]
    assert summary["Not read"] == f"skipped 2 {SPECIALS}, 1 symbolic link"
    assert summary["TODO markers"] == "1 (TODO 1)"
    assert f"Not read: skipped 2 {SPECIALS}, 1 symbolic link." in str(outputs["Report"])


@pytest.mark.parametrize(
    ("count", "reason", "said"),
    [
        (1, "minified file", "1 minified file"),
        (2, "minified file", "2 minified files"),
        (3, "unreadable entry", "3 unreadable entries"),
        (2, "system directory (/proc, /sys, /dev)", "2 system directories (/proc, /sys, /dev)"),
        (2, "unreadable directory", "2 unreadable directories"),
    ],
)
def test_what_was_skipped_is_counted_in_plain_english(count: int, reason: str, said: str) -> None:
    walk = TreeWalk(Path("/nonexistent"))
    for _ in range(count):
        walk.skip(reason)
    assert walk.report() == f"skipped {said}"
