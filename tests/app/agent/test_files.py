"""read_file, list_dir and grep on real trees; grep's ripgrep and Python engines agree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ainos.app.agent._files import GrepEngine, GrepMatch, grep, list_dir, read_file
from ainos.errors import InvalidArgument, NotFound

needs_rg = pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep is not installed")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


# ---------------------------------------------------------------------------- read_file


def test_read_file_shows_numbered_lines_and_what_follows(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("".join(f"line {n}\n" for n in range(1, 11)))

    part = read_file(path, offset=3, limit=4)

    assert part.lines == ("line 3", "line 4", "line 5", "line 6")
    assert (part.offset, part.end, part.total_lines, part.more) == (3, 6, 10, True)
    assert part.text == (
        "L3: line 3\nL4: line 4\nL5: line 5\nL6: line 6\n"
        "(lines 3-6 of 10; 4 more: continue at offset=7)"
    )


def test_read_file_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a\r\nb\r\nc")

    part = read_file(path, offset=2)

    assert part.lines == ("b", "c")
    assert not part.more
    assert part.text == "L2: b\nL3: c\n(lines 2-3 of 3, to the end of the file)"


def test_read_file_cuts_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("x" * 50 + "\nshort\n")

    part = read_file(path, max_line_chars=10)

    assert part.text.splitlines()[:2] == ["L1: xxxxxxxxxx… [40 more chars]", "L2: short"]
    assert part.lines[0] == "x" * 50


def test_read_file_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")

    part = read_file(tmp_path / "empty")

    assert (part.lines, part.total_lines, part.text) == ((), 0, "(empty file)")


def test_read_file_past_the_end_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("a\nb\n")

    with pytest.raises(InvalidArgument, match=r"offset 5 is past the end of .*f\.txt \(2 lines\)"):
        read_file(tmp_path / "f.txt", offset=5)


def test_read_file_refuses_binary_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\0\0\x01")

    with pytest.raises(InvalidArgument, match="is a binary file"):
        read_file(tmp_path / "blob.bin")
    with pytest.raises(InvalidArgument, match="is a directory"):
        read_file(tmp_path)


def test_read_file_of_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        read_file(tmp_path / "missing.txt")


@pytest.mark.parametrize("argument", ["offset", "limit", "max_line_chars"])
def test_read_file_refuses_non_positive_bounds(tmp_path: Path, argument: str) -> None:
    (tmp_path / "f.txt").write_text("a\n")

    with pytest.raises(InvalidArgument, match=f"{argument} must be 1 or more"):
        read_file(tmp_path / "f.txt", **{argument: 0})


# ---------------------------------------------------------------------------- list_dir

TREE: dict[str, str | bytes] = {
    "README.md": "# readme\n",
    "src/app/main.py": "print()\n",
    "src/app/deep/util.py": "x = 1\n",
    "src/lib.py": "y = 2\n",
    "docs/guide.md": "guide\n",
    ".github/ci.yml": "on: push\n",
    "node_modules/pkg/index.js": "module.exports = {}\n",
    "__pycache__/lib.cpython-311.pyc": b"\0\0",
    ".venv/bin/python": "",
    ".git/HEAD": "ref: refs/heads/main\n",
}


def test_list_dir_shows_a_sorted_tree_to_the_given_depth(tmp_path: Path) -> None:
    write(tmp_path, TREE)

    listing = list_dir(tmp_path, depth=2)

    assert listing.text.splitlines() == [
        f"{tmp_path}/",
        "  .github/",
        "    ci.yml",
        "  README.md",
        "  docs/",
        "    guide.md",
        "  src/",
        "    app/",
        "    lib.py",
    ]
    assert [entry.path for entry in listing.entries if entry.is_dir] == [
        ".github",
        "docs",
        "src",
        "src/app",
    ]
    assert listing.omitted == 0


def test_list_dir_depth_one_and_three(tmp_path: Path) -> None:
    write(tmp_path, TREE)

    assert [e.path for e in list_dir(tmp_path, depth=1).entries] == [
        ".github",
        "README.md",
        "docs",
        "src",
    ]
    deep = [e.path for e in list_dir(tmp_path / "src", depth=3).entries]
    assert deep == ["app", "app/deep", "app/deep/util.py", "app/main.py", "lib.py"]


def test_list_dir_limit_keeps_the_top_and_counts_the_rest(tmp_path: Path) -> None:
    write(tmp_path, {f"d{n}/f{m}.txt": "" for n in range(3) for m in range(4)})

    listing = list_dir(tmp_path, depth=2, limit=5)

    # The three directories come first (breadth first), then two of their files.
    assert [e.path for e in listing.entries] == ["d0", "d0/f0.txt", "d0/f1.txt", "d1", "d2"]
    assert (listing.total, listing.omitted) == (15, 10)
    assert listing.text.endswith("(10 more entries not shown; list a subdirectory or raise limit)")


@needs_git
def test_list_dir_leaves_out_what_gitignore_ignores_in_a_repository(tmp_path: Path) -> None:
    write(tmp_path, {**TREE, ".gitignore": "build/\n*.log\n", "build/out.o": "", "run.log": ""})
    shutil.rmtree(tmp_path / ".git")
    git_init(tmp_path)

    names = [e.path for e in list_dir(tmp_path, depth=1).entries]

    assert "build" not in names
    assert "run.log" not in names
    assert names == [".github", ".gitignore", "README.md", "docs", "src"]


def test_list_dir_outside_a_repository_ignores_no_gitignore(tmp_path: Path) -> None:
    write(tmp_path, {".gitignore": "*.log\n", "run.log": ""})

    assert [e.path for e in list_dir(tmp_path).entries] == [".gitignore", "run.log"]


def test_list_dir_of_an_empty_directory_a_file_and_nothing(tmp_path: Path) -> None:
    assert list_dir(tmp_path).text == f"{tmp_path}/\n  (empty)"
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(InvalidArgument, match="is not a directory"):
        list_dir(tmp_path / "f.txt")
    with pytest.raises(NotFound):
        list_dir(tmp_path / "missing")


# ---------------------------------------------------------------------------- grep

SEARCH_TREE: dict[str, str | bytes] = {
    "a.py": "import os\ndef main():\n    os.exit(0)\n",
    "pkg/b.py": "def helper():\n    return 'MAIN'\n# main entry\n",
    "pkg/deep/c.ts": "export function main() {}\r\n",
    "pkg/deep/c.min.js": "function main(){}\n",
    "notes.md": "main ideas\nnothing else\n",
    "latin1.txt": b"main caf\xe9\n",
    "blob.bin": b"main\0\0binary",
    ".hidden/secret.py": "def main(): pass\n",
    ".env": "main=1\n",
    "node_modules/lib/index.js": "main()\n",
    "__pycache__/a.py": "main\n",
    "build/gen.py": "def main(): generated\n",
    "debug.log": "main log\n",
}


@pytest.fixture
def search_tree(tmp_path: Path) -> Path:
    write(tmp_path, SEARCH_TREE)
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    return tmp_path


@pytest.fixture
def git_tree(search_tree: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git_init(search_tree)
    (search_tree / ".gitignore").write_text("build/\n*.log\n")
    return search_tree


def test_python_grep_finds_lines_as_ripgrep_would(search_tree: Path) -> None:
    result = grep("main", search_tree, engine="python")

    assert result.matches == (
        GrepMatch("a.py", 2, "def main():"),
        GrepMatch("build/gen.py", 1, "def main(): generated"),
        GrepMatch("debug.log", 1, "main log"),
        GrepMatch("latin1.txt", 1, "main caf\ufffd"),
        GrepMatch("notes.md", 1, "main ideas"),
        GrepMatch("pkg/b.py", 3, "# main entry"),
        GrepMatch("pkg/deep/c.min.js", 1, "function main(){}"),
        GrepMatch("pkg/deep/c.ts", 1, "export function main() {}"),
    )
    assert (result.total, result.truncated, result.engine) == (8, False, "python")
    assert result.text.endswith("(8 matches in 8 files)")


@needs_rg
@pytest.mark.parametrize("in_git", [False, True], ids=["plain", "git"])
@pytest.mark.parametrize(
    ("pattern", "glob", "ignore_case"),
    [
        ("main", None, False),
        ("MAIN", None, True),
        (r"^def \w+\(", None, False),
        ("main", "*.py", False),
        ("main", "pkg/**/*.{ts,js}", False),
        ("main", "!*.min.js", False),
        ("main", "pkg/*", False),
        (r"\(\)$", None, False),
        ("no such text", None, False),
    ],
)
def test_ripgrep_and_python_engines_agree(
    search_tree: Path, pattern: str, glob: str | None, ignore_case: bool, in_git: bool
) -> None:
    if in_git:
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        git_init(search_tree)
        (search_tree / ".gitignore").write_text("build/\n*.log\n")

    by_rg = grep(pattern, search_tree, engine="rg", glob=glob, ignore_case=ignore_case)
    by_python = grep(pattern, search_tree, engine="python", glob=glob, ignore_case=ignore_case)

    assert (by_rg.engine, by_python.engine) == ("rg", "python")
    assert by_rg.matches == by_python.matches
    assert (by_rg.total, by_rg.truncated, by_rg.text) == (
        by_python.total,
        by_python.truncated,
        by_python.text,
    )


def test_grep_in_a_repository_skips_what_gitignore_ignores(git_tree: Path) -> None:
    paths = {match.path for match in grep("main", git_tree, engine="python").matches}

    assert "build/gen.py" not in paths
    assert "debug.log" not in paths
    assert "a.py" in paths


@needs_rg
def test_grep_auto_prefers_ripgrep(search_tree: Path) -> None:
    assert grep("main", search_tree).engine == "rg"


@needs_rg
def test_grep_auto_falls_back_to_python_for_look_ahead(search_tree: Path) -> None:
    result = grep(r"main(?=\(\))", search_tree)

    assert result.engine == "python"
    assert [m.path for m in result.matches] == [
        "a.py",
        "build/gen.py",
        "pkg/deep/c.min.js",
        "pkg/deep/c.ts",
    ]
    with pytest.raises(InvalidArgument, match="look-around"):
        grep(r"main(?=\(\))", search_tree, engine="rg")


@pytest.mark.parametrize("engine", ["rg", "python", "auto"])
def test_grep_with_an_invalid_regex_names_it(search_tree: Path, engine: GrepEngine) -> None:
    if engine == "rg" and shutil.which("rg") is None:
        pytest.skip("ripgrep is not installed")
    with pytest.raises(InvalidArgument, match=r'invalid regular expression "main\(": '):
        grep("main(", search_tree, engine=engine)


@pytest.mark.parametrize("engine", ["rg", "python"])
def test_grep_truncates_to_the_limit_and_counts_all(tmp_path: Path, engine: GrepEngine) -> None:
    if engine == "rg" and shutil.which("rg") is None:
        pytest.skip("ripgrep is not installed")
    write(tmp_path, {f"f{n}.txt": "hit\nmiss\nhit\n" for n in range(5)})

    result = grep("hit", tmp_path, limit=3, engine=engine)

    assert [(m.path, m.line) for m in result.matches] == [
        ("f0.txt", 1),
        ("f0.txt", 3),
        ("f1.txt", 1),
    ]
    assert (result.total, result.truncated) == (10, True)
    assert result.text.splitlines()[-1] == (
        "(showing 3 of 10 matches in 5 files; narrow the pattern, path or glob)"
    )


@pytest.mark.parametrize("engine", ["rg", "python"])
def test_grep_a_single_file(search_tree: Path, engine: GrepEngine) -> None:
    if engine == "rg" and shutil.which("rg") is None:
        pytest.skip("ripgrep is not installed")

    result = grep("main", search_tree / "pkg/b.py", ignore_case=True, engine=engine)

    assert result.matches == (
        GrepMatch("b.py", 2, "    return 'MAIN'"),
        GrepMatch("b.py", 3, "# main entry"),
    )


def test_grep_without_matches_says_so(search_tree: Path) -> None:
    result = grep("zebra", search_tree)

    assert (result.matches, result.total, result.truncated) == ((), 0, False)
    assert result.text == f'No matches for "zebra" under {search_tree}.'


def test_grep_of_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        grep("x", tmp_path / "missing")
