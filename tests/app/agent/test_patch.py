"""The apply_patch format: parsing, planning against real files, applying all or nothing."""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ainos.app.agent._patch import (
    AddFile,
    DeleteFile,
    FileChange,
    UpdateFile,
    apply_patch,
    apply_plan,
    parse_patch,
    plan_patch,
)
from ainos.errors import PatchError


def patch(*body: str) -> str:
    return "\n".join(["*** Begin Patch", *body, "*** End Patch"]) + "\n"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes: to show that nothing changed."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------------------- operations


def test_add_creates_the_file_and_its_directories(tmp_path: Path) -> None:
    changes = apply_patch(patch("*** Add File: pkg/sub/new.py", "+x = 1", "+", "+y = 2"), tmp_path)

    assert (tmp_path / "pkg/sub/new.py").read_text() == "x = 1\n\ny = 2\n"
    assert changes == [FileChange("pkg/sub/new.py", "add", None)]


def test_delete_removes_the_file(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("bye\n")

    changes = apply_patch(patch("*** Delete File: old.txt"), tmp_path)

    assert not (tmp_path / "old.txt").exists()
    assert changes == [FileChange("old.txt", "delete", None)]


def test_update_replaces_lines_in_place(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n\ndef f():\n    return 1\n")

    changes = apply_patch(
        patch("*** Update File: a.py", "@@", " def f():", "-    return 1", "+    return 2"),
        tmp_path,
    )

    assert (tmp_path / "a.py").read_text() == "import os\n\ndef f():\n    return 2\n"
    assert changes == [FileChange("a.py", "update", None)]


def test_move_writes_the_new_path_and_removes_the_old(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old/name.py").write_text("a\nb\n")
    (tmp_path / "old/name.py").chmod(0o750)

    changes = apply_patch(
        patch("*** Update File: old/name.py", "*** Move to: new/dir/name.py", "@@", "-b", "+c"),
        tmp_path,
    )

    assert not (tmp_path / "old/name.py").exists()
    moved = tmp_path / "new/dir/name.py"
    assert moved.read_text() == "a\nc\n"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o750
    assert changes == [FileChange("old/name.py", "update", "new/dir/name.py")]


def test_move_onto_an_existing_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")

    with pytest.raises(PatchError, match=r"a\.txt: cannot move to b\.txt"):
        apply_patch(
            patch("*** Update File: a.txt", "*** Move to: b.txt", "@@", "-a", "+A"), tmp_path
        )


def test_several_operations_in_one_patch(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("one\ntwo\n")
    (tmp_path / "gone.txt").write_text("x\n")

    apply_patch(
        patch(
            "*** Add File: hello.txt",
            "+hello",
            "*** Delete File: gone.txt",
            "*** Update File: keep.txt",
            "@@",
            " one",
            "-two",
            "+three",
        ),
        tmp_path,
    )

    assert snapshot(tmp_path) == {"hello.txt": b"hello\n", "keep.txt": b"one\nthree\n"}


def test_absolute_paths_are_allowed(tmp_path: Path) -> None:
    target = tmp_path / "abs.txt"

    apply_patch(patch(f"*** Add File: {target}", "+here"), Path("/"))

    assert target.read_text() == "here\n"


# ---------------------------------------------------------------------------- locating hunks

SOURCE = """\
class A:
    def run(self):
        value = 1
        return value

class B:
    def run(self):
        value = 1
        return value
"""


def test_multiple_hunks_apply_in_order(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("".join(f"line {n}\n" for n in range(1, 21)))

    apply_patch(
        patch(
            "*** Update File: m.txt",
            "@@",
            " line 2",
            "-line 3",
            "+LINE 3",
            " line 4",
            "@@",
            " line 15",
            "-line 16",
            "+LINE 16",
            "+line 16.5",
        ),
        tmp_path,
    )

    lines = (tmp_path / "m.txt").read_text().splitlines()
    assert lines[2] == "LINE 3"
    assert lines[15:17] == ["LINE 16", "line 16.5"]
    assert len(lines) == 21


def test_context_header_selects_the_right_block(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(SOURCE)

    apply_patch(
        patch("*** Update File: c.py", "@@ class B:", "-        value = 1", "+        value = 2"),
        tmp_path,
    )

    head, _, tail = SOURCE.rpartition("value = 1")
    assert (tmp_path / "c.py").read_text() == f"{head}value = 2{tail}"


def test_several_context_headers_narrow_step_by_step(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(SOURCE)

    apply_patch(
        patch(
            "*** Update File: c.py",
            "@@ class B:",
            "@@     def run(self):",
            "         value = 1",
            "-        return value",
            "+        return -value",
        ),
        tmp_path,
    )

    text = (tmp_path / "c.py").read_text()
    assert text.count("return -value") == 1
    assert text.endswith("return -value\n")


def test_unified_diff_style_header_is_understood(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(SOURCE)

    apply_patch(
        patch(
            "*** Update File: c.py",
            "@@ -7,3 +7,3 @@ class B:",
            "-        value = 1",
            "+        value = 3",
        ),
        tmp_path,
    )

    assert (tmp_path / "c.py").read_text().count("value = 3") == 1
    assert "class B:\n    def run(self):\n        value = 3" in (tmp_path / "c.py").read_text()


def test_pure_addition_goes_after_its_context(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(SOURCE)

    apply_patch(patch("*** Update File: c.py", "@@ class A:", "+    name = 'a'"), tmp_path)

    assert (tmp_path / "c.py").read_text().startswith("class A:\n    name = 'a'\n    def run")


def test_end_of_file_anchors_the_hunk_at_the_end(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("end\nmiddle\nend\n")

    apply_patch(patch("*** Update File: t.txt", "@@", "-end", "+END", "*** End of File"), tmp_path)

    assert (tmp_path / "t.txt").read_text() == "end\nmiddle\nEND\n"


def test_end_of_file_hunk_that_is_not_at_the_end_fails(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("a\nb\nc\n")

    with pytest.raises(PatchError, match="at the end of the file"):
        apply_patch(patch("*** Update File: t.txt", "@@", "-a", "+A", "*** End of File"), tmp_path)


# ---------------------------------------------------------------------------- tolerance


def test_trailing_whitespace_in_the_file_is_tolerated(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_text("alpha   \nbeta\t\ngamma\n")

    apply_patch(patch("*** Update File: w.txt", "@@", " alpha", "-beta", "+BETA"), tmp_path)

    assert (tmp_path / "w.txt").read_text() == "alpha   \nBETA\ngamma\n"


def test_different_indentation_is_tolerated(tmp_path: Path) -> None:
    (tmp_path / "i.py").write_text("def f():\n\tif x:\n\t\treturn 1\n")

    apply_patch(
        patch("*** Update File: i.py", "@@", "     if x:", "-        return 1", "+\t\treturn 2"),
        tmp_path,
    )

    # The context line keeps the file's own indentation; the added line is as written.
    assert (tmp_path / "i.py").read_text() == "def f():\n\tif x:\n\t\treturn 2\n"


def test_unicode_punctuation_is_normalised_when_matching(tmp_path: Path) -> None:
    (tmp_path / "u.md").write_text("Title \u2014 “quoted”\u00a0here\nold line\n")

    apply_patch(
        patch("*** Update File: u.md", "@@", ' Title - "quoted" here', "-old line", "+new line"),
        tmp_path,
    )

    assert (tmp_path / "u.md").read_text() == "Title \u2014 “quoted”\u00a0here\nnew line\n"


def test_exact_match_is_preferred_over_a_loose_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("  value\nvalue\n")

    apply_patch(patch("*** Update File: p.txt", "@@", "-value", "+changed"), tmp_path)

    assert (tmp_path / "p.txt").read_text() == "  value\nchanged\n"


def test_missing_final_newline_is_kept(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_bytes(b"a\nb")

    apply_patch(patch("*** Update File: n.txt", "@@", "-a", "+A"), tmp_path)

    assert (tmp_path / "n.txt").read_bytes() == b"A\nb"


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"one\r\ntwo\r\n")

    apply_patch(patch("*** Update File: w.txt", "@@", " one", "-two", "+three"), tmp_path)

    assert (tmp_path / "w.txt").read_bytes() == b"one\r\nthree\r\n"


def test_update_keeps_the_file_mode(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho a\n")
    script.chmod(0o755)

    apply_patch(patch("*** Update File: run.sh", "@@", "-echo a", "+echo b"), tmp_path)

    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert script.read_text() == "#!/bin/sh\necho b\n"


# ---------------------------------------------------------------------------- failures


def test_failing_hunk_names_file_and_hunk_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "first.txt").write_text("keep me\n")
    (tmp_path / "src/a.py").write_text("def bar():\n    pass\n")
    (tmp_path / "gone.txt").write_text("still here\n")
    before = snapshot(tmp_path)

    with pytest.raises(PatchError) as caught:
        apply_patch(
            patch(
                "*** Update File: first.txt",
                "@@",
                "-keep me",
                "+changed",
                "*** Add File: added.txt",
                "+new",
                "*** Delete File: gone.txt",
                "*** Update File: src/a.py",
                "@@",
                " def bar():",
                "-    pass",
                "+    return 1",
                "@@",
                " def foo():",
                "-    pass",
                "+    return 2",
            ),
            tmp_path,
        )

    assert str(caught.value) == (
        'src/a.py: hunk 2 does not apply: expected lines not found: "def foo():", "    pass"'
    )
    assert snapshot(tmp_path) == before


def test_missing_context_header_is_reported(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text(SOURCE)

    with pytest.raises(
        PatchError, match=r'c\.py: hunk 1 does not apply: context line not found: "class C:"'
    ):
        plan_patch(patch("*** Update File: c.py", "@@ class C:", "-x", "+y"), tmp_path)


def test_adding_an_existing_file_fails(tmp_path: Path) -> None:
    (tmp_path / "dup.txt").write_text("original\n")

    with pytest.raises(PatchError, match=r"dup\.txt: cannot add the file: it already exists"):
        apply_patch(patch("*** Add File: dup.txt", "+other"), tmp_path)
    assert (tmp_path / "dup.txt").read_text() == "original\n"


@pytest.mark.parametrize(
    "body",
    [("*** Delete File: nope.txt",), ("*** Update File: nope.txt", "@@", "-a", "+b")],
)
def test_deleting_or_updating_a_missing_file_fails(tmp_path: Path, body: tuple[str, ...]) -> None:
    with pytest.raises(
        PatchError, match=r"nope\.txt: cannot (delete|update) the file: it does not exist"
    ):
        plan_patch(patch(*body), tmp_path)


def test_deleting_a_directory_fails(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()

    with pytest.raises(PatchError, match="dir: is a directory"):
        plan_patch(patch("*** Delete File: dir"), tmp_path)


def test_adding_under_a_regular_file_fails_when_planned(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file\n")

    with pytest.raises(
        PatchError, match=r"blocker/x\.txt: cannot create it: .*blocker is not a directory"
    ):
        plan_patch(patch("*** Add File: blocker/x.txt", "+x"), tmp_path)


def test_failed_write_rolls_back_what_was_written(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    plan = plan_patch(
        patch(
            "*** Update File: a.txt",
            "@@",
            "-a",
            "+A",
            "*** Delete File: b.txt",
            "*** Add File: fresh/dir/c.txt",
            "+c",
            "*** Add File: blocker/d.txt",
            "+d",
        ),
        tmp_path,
    )
    # After planning, a regular file takes the place of a directory the patch must create:
    # the last write fails (as root, permissions could not make it fail).
    (tmp_path / "blocker").write_text("in the way\n")
    before = snapshot(tmp_path)

    with pytest.raises(PatchError, match=r"blocker/d\.txt: cannot write it: .*not applied"):
        apply_plan(plan)

    assert snapshot(tmp_path) == before
    assert not (tmp_path / "fresh").exists()  # directories it created are gone too
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt", "blocker"]


def test_a_plan_is_refused_when_a_file_changed_since(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    plan = plan_patch(patch("*** Update File: a.txt", "@@", "-a", "+A"), tmp_path)
    (tmp_path / "a.txt").write_text("someone else\n")

    with pytest.raises(PatchError, match=r"a\.txt: changed on disk since the patch was planned"):
        apply_plan(plan)
    assert (tmp_path / "a.txt").read_text() == "someone else\n"


# ---------------------------------------------------------------------------- the plan


def test_plan_writes_nothing_and_exposes_paths_and_a_diff(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/app.py").write_text('print("Hi")\n')
    (tmp_path / "obsolete.txt").write_text("old\n")
    before = snapshot(tmp_path)

    plan = plan_patch(
        patch(
            "*** Add File: hello.txt",
            "+Hello world",
            "*** Update File: src/app.py",
            "*** Move to: src/main.py",
            "@@",
            '-print("Hi")',
            '+print("Hello, world!")',
            "*** Delete File: src/../obsolete.txt",
        ),
        tmp_path,
    )

    assert snapshot(tmp_path) == before
    assert [(c.kind, c.path, c.move_to) for c in plan.changes] == [
        ("add", tmp_path / "hello.txt", None),
        ("update", tmp_path / "src/app.py", tmp_path / "src/main.py"),
        ("delete", tmp_path / "obsolete.txt", None),
    ]
    assert plan.changes[1].content == 'print("Hello, world!")\n'
    assert plan.paths() == [
        tmp_path / "hello.txt",
        tmp_path / "src/app.py",
        tmp_path / "src/main.py",
        tmp_path / "obsolete.txt",
    ]
    assert plan.unified_diff() == (
        "--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+Hello world\n"
        "--- a/src/app.py\n+++ b/src/main.py\n@@ -1 +1 @@\n"
        '-print("Hi")\n+print("Hello, world!")\n'
        "--- a/src/../obsolete.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n"
    )


def test_paths_name_the_file_behind_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("a\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")

    plan = plan_patch(patch("*** Update File: link.txt", "@@", "-a", "+b"), tmp_path)
    apply_plan(plan)

    assert plan.paths() == [tmp_path / "link.txt", tmp_path / "real.txt"]
    assert (tmp_path / "link.txt").is_symlink()  # written through, not replaced
    assert (tmp_path / "real.txt").read_text() == "b\n"


def test_diff_marks_a_missing_final_newline(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_bytes(b"a")

    plan = plan_patch(patch("*** Update File: n.txt", "@@", "-a", "+b"), tmp_path)

    assert plan.unified_diff().endswith(
        "-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"
    )


# ---------------------------------------------------------------------------- parsing


def test_parse_gives_the_operations() -> None:
    parsed = parse_patch(
        patch(
            "*** Add File: a.txt",
            "+one",
            "*** Delete File: b.txt",
            "*** Update File: c.py",
            "*** Move to: d.py",
            "@@ def f():",
            "-    pass",
            "+    return 1",
        )
    )

    add, delete, update = parsed.ops
    assert add == AddFile("a.txt", "one\n")
    assert delete == DeleteFile("b.txt")
    assert isinstance(update, UpdateFile)
    assert (update.path, update.move_to) == ("c.py", "d.py")
    (hunk,) = update.hunks
    assert hunk.context == ("def f():",)
    assert hunk.old_lines == ["    pass"]
    assert hunk.new_lines == ["    return 1"]
    assert hunk.line_number == 7


@pytest.mark.parametrize(
    "wrapped",
    [
        "apply_patch <<'EOF'\n{patch}EOF\n",
        '<<"PATCH"\n{patch}PATCH',
        "\n\n```diff\n{patch}```\n\n",
        "\n   \n{patch}\n\n",
        " *** Begin Patch\n*** Add File: x.txt\n+x\n *** End Patch \n",
    ],
)
def test_wrappers_and_blank_lines_around_the_patch_are_tolerated(wrapped: str) -> None:
    parsed = parse_patch(wrapped.format(patch=patch("*** Add File: x.txt", "+x")))

    assert parsed.ops == (AddFile("x.txt", "x\n"),)
    assert parsed.text == patch("*** Add File: x.txt", "+x")


def test_heredoc_wrapped_patch_applies(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Title\n")

    apply_patch(
        "apply_patch <<'EOF'\n"
        + patch("*** Update File: README.md", "@@", " # Title", "+", "+Text.")
        + "EOF\n",
        tmp_path,
    )

    assert (tmp_path / "README.md").read_text() == "# Title\n\nText.\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: expected '*** Begin Patch', got an empty patch"),
        (
            "*** Add File: a\n+a\n*** End Patch",
            "line 1: expected '*** Begin Patch', got \"*** Add File: a\"",
        ),
        (
            "*** Begin Patch\n*** Add File: a\n+a\n",
            "line 3: expected '*** End Patch' as the last line",
        ),
        (
            "*** Begin Patch\n*** Frobnicate File: a\n*** End Patch",
            "line 2: expected '*** Add File: '",
        ),
        (
            "*** Begin Patch\n*** Add File: a\n+a\noops\n*** End Patch",
            "line 4: expected '*** Add File: '",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n*** End Patch",
            "line 2: '*** Update File: a' has no hunks",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@\n-x\nbad line\n*** End Patch",
            "line 5: expected a hunk line starting with ' ', '-' or '+'",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@\n@@ f\n*** End Patch",
            "line 3: the hunk has no lines",
        ),
        (
            "*** Begin Patch\n*** Delete File:\n*** End Patch",
            "line 2: '*** Delete File:' names no file",
        ),
        ("*** Begin Patch\n*** End Patch", "line 2: the patch has no file operations"),
    ],
)
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        parse_patch(text)

    assert str(caught.value).startswith(message)


def test_error_line_numbers_count_the_wrapper_lines() -> None:
    with pytest.raises(PatchError, match=r"^line 5: expected a hunk line"):
        parse_patch(
            "\napply_patch <<'EOF'\n*** Begin Patch\n*** Update File: a\nnot a hunk\n"
            "*** End Patch\nEOF"
        )


# ---------------------------------------------------------------------------- property

_LINE = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"),
    max_size=6,
)
_LINES = st.lists(_LINE, max_size=25, unique=True)


def _update_patch(name: str, old: list[str], new: list[str]) -> str:
    """An update patch made from difflib's grouped opcodes (3 lines of context)."""
    body = [f"*** Update File: {name}"]
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(3):
        body.append("@@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                body += [f" {line}" for line in old[i1:i2]]
            else:
                body += [f"-{line}" for line in old[i1:i2]]
                body += [f"+{line}" for line in new[j1:j2]]
        if group[-1][2] == len(old):
            body.append("*** End of File")
    return patch(*body)


@settings(max_examples=200, deadline=None)
@given(old=_LINES, new=_LINES)
def test_a_patch_made_by_difflib_turns_the_old_lines_into_the_new(
    old: list[str], new: list[str]
) -> None:
    assume(old != new)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "f.txt").write_bytes("".join(f"{line}\n" for line in old).encode())

        apply_patch(_update_patch("f.txt", old, new), root)

        assert (root / "f.txt").read_bytes().decode() == "".join(f"{line}\n" for line in new)
