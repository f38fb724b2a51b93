"""Deterministic briefs of files and searches, quoted by answers whatever the model says."""

from __future__ import annotations

from pathlib import Path

from ainos.app.agent._briefs import file_brief, search_brief


def test_a_python_file_outline(tmp_path: Path) -> None:
    source = tmp_path / "shop.py"
    source.write_text(
        '"""The shop: stock and prices."""\n\nimport os\n\n\n'
        "def add(item):\n    return item\n\n\nclass Till:\n    pass\n\n\n"
        "async def pay():\n    return 1\n"
    )
    assert file_brief(source, "shop.py") == (
        "shop.py: 15 lines\n"
        "- Says of itself: The shop: stock and prices.\n"
        "- Defines: add(), class Till, pay()"
    )


def test_another_language_says_its_opening_comment(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("\n# Build the site.\n# Then serve it.\nmake site\n")
    assert file_brief(script, "run.sh") == (
        "run.sh: 4 lines\n- Says of itself: Build the site. Then serve it."
    )


def test_unreadable_or_binary_files_have_no_brief(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff\xfe\x00")
    assert file_brief(blob, "blob.bin") == ""
    assert file_brief(tmp_path / "missing.py", "missing.py") == ""


def test_a_long_outline_is_cut(tmp_path: Path) -> None:
    source = tmp_path / "many.py"
    source.write_text("".join(f"def f{i}():\n    pass\n" for i in range(25)))
    assert file_brief(source, "many.py").endswith("f19() and 5 more")


def test_search_brief_counts_and_lists_the_first_matches() -> None:
    output = "a.py:3: x = needle\nb/c.py:10: needle()\n(2 matches in 2 files)"
    assert search_brief("needle", output) == (
        "Matches for /needle/, 2 matches in 2 files (first 2):\n"
        "- a.py:3: x = needle\n"
        "- b/c.py:10: needle()"
    )
    assert search_brief("needle", "(no matches)") == "No match for /needle/."
