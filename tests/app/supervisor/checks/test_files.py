from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks import _files
from ainos.app.supervisor.checks._files import (
    MAX_FILE_BYTES,
    PYTHON,
    SourceFile,
    SourceTree,
    is_test_path,
    lower_severity,
    parse_python,
    sorted_findings,
    trimmed,
)
from ainos.errors import InvalidArgument


def paths(tree: SourceTree) -> list[str]:
    return [file.path for file in tree]


def test_the_walk_is_sorted_relative_and_skips_tool_hidden_and_vendored_dirs(
    write_tree: WriteTree,
) -> None:
    root = write_tree(
        {
            "b.py": "b = 1\n",
            "a/z.py": "z = 1\n",
            "a/m/n.txt": "n\n",
            ".env": "X=1\n",
            ".git/config": "[core]\n",
            ".github/workflows/ci.yml": "on: push\n",
            "node_modules/lib/index.js": "x\n",
            "build/out.py": "x = 1\n",
            "vendor/dep/dep.go": "package dep\n",
            "src/third_party/lib.py": "x = 1\n",
        }
    )
    tree = SourceTree(root)
    assert paths(tree) == [".env", "b.py", "a/z.py", "a/m/n.txt"]
    assert tree.files == 4


def test_suffixes_and_names_select_files(write_tree: WriteTree) -> None:
    root = write_tree({"a.py": "", "b.PY": "", "c.js": "", "Dockerfile": "FROM x\n"})
    assert paths(SourceTree(root, PYTHON)) == ["a.py", "b.PY"]
    assert paths(SourceTree(root, frozenset({".js"}), frozenset({"Dockerfile"}))) == [
        "Dockerfile",
        "c.js",
    ]


def test_binary_large_and_undecodable_files(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "big.txt": "x" * (MAX_FILE_BYTES + 1),
            "latin1.txt": "caf\xe9 TODO\n".encode("latin-1"),
            "ok.txt": "fine\n",
        }
    )
    files = list(SourceTree(root))
    assert files == [SourceFile("latin1.txt", "caf\ufffd TODO\n"), SourceFile("ok.txt", "fine\n")]


def test_a_pipe_is_skipped_not_read(write_tree: WriteTree) -> None:
    root = write_tree({"a.txt": "a\n"})
    os.mkfifo(root / "pipe.txt")
    assert paths(SourceTree(root)) == ["a.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_skipped(write_tree: WriteTree) -> None:
    root = write_tree({"a.txt": "a\n", "secret.txt": "s\n"})
    (root / "secret.txt").chmod(0)
    assert paths(SourceTree(root)) == ["a.txt"]


def test_the_walk_looks_at_a_bounded_number_of_files(
    write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree({f"f{number}.txt": "x\n" for number in range(5)})
    monkeypatch.setattr(_files, "MAX_FILES", 3)
    assert paths(SourceTree(root)) == ["f0.txt", "f1.txt", "f2.txt"]


def test_a_file_root_is_its_own_tree(write_tree: WriteTree) -> None:
    root = write_tree({"pkg/mod.py": "x = 1\n"})
    assert list(SourceTree(root / "pkg" / "mod.py")) == [SourceFile("mod.py", "x = 1\n")]


def test_a_missing_root_is_an_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file or directory"):
        SourceTree(tmp_path / "absent")


def test_parse_python_gives_none_for_what_does_not_parse() -> None:
    assert parse_python(SourceFile("a.py", "def f(:\n")) is None
    assert parse_python(SourceFile("a.py", "x = '\\d'\n")) is not None  # warning, not error
    assert parse_python(SourceFile("a.py", "(" * 500 + ")" * 500)) is None  # too deep


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("tests/helpers.py", True),
        ("pkg/test/data.json", True),
        ("test_a.py", True),
        ("pkg/a_test.py", True),
        ("conftest.py", True),
        ("web/__tests__/app.js", True),
        ("web/app.test.ts", True),
        ("web/app.spec.js", True),
        ("pkg/a.py", False),
        ("pkg/testing.py", False),
        ("pkg/contest.py", False),
        ("pkg/latest/a.py", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_lower_severity_steps_down_once() -> None:
    assert [lower_severity(s) for s in ("critical", "high", "medium", "low", "info")] == [
        "high",
        "medium",
        "low",
        "info",
        "info",
    ]


def test_sorted_findings_worst_first_then_path_and_line() -> None:
    a = Finding("x", "low", "a.py", 3, "m")
    b = Finding("x", "high", "z.py", 9, "m")
    c = Finding("x", "low", "a.py", 1, "m")
    d = Finding("x", "high", "b.py", 1, "m")
    assert sorted_findings([a, b, c, d]) == [d, b, c, a]


def test_trimmed_is_one_short_line() -> None:
    assert trimmed("  a \t b\n c  ") == "a b c"
    long = trimmed("word " * 50)
    assert len(long) <= 120
    assert long.endswith("…")
