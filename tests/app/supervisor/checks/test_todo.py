from __future__ import annotations

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks import find_todos


def todo(severity: Severity, path: str, line: int, message: str) -> Finding:
    return Finding("todo", severity, path, line, message)


def test_markers_in_comments_of_each_language(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "app.py": '''
                import os  # TODO: read the path from the config
                TEXT = "a # TODO inside a string is not a comment"
                def f():
                    """TODO in a docstring is not a comment either."""
                    # FIXME(ana): handles only ASCII
                    return 1  # todo in lower case is a word, not a marker
                # HACK
            ''',
            "web/app.js": """
                const url = "http://example.com/TODO";
                /* XXX: race with the timer */
                let x = 1; // TODO remove
            """,
            "deploy.sh": "#!/bin/sh\necho TODO  # TODO: quote the arguments\n",
            "schema.sql": "SELECT 1; -- FIXME slow on large tables\n",
            "README.md": "# TODO list\n\n* TODO write docs\n<!-- TODO: add badges -->\n",
            "notes.txt": "TODO buy milk\n",
        }
    )
    assert find_todos(root) == [
        todo("medium", "app.py", 5, "FIXME(ana): handles only ASCII"),
        todo("medium", "app.py", 7, "HACK"),
        todo("medium", "schema.sql", 1, "FIXME: slow on large tables"),
        todo("medium", "web/app.js", 2, "XXX: race with the timer"),
        todo("low", "README.md", 4, "TODO: add badges"),
        todo("low", "app.py", 1, "TODO: read the path from the config"),
        todo("low", "deploy.sh", 2, "TODO: quote the arguments"),
        todo("low", "web/app.js", 3, "TODO: remove"),
    ]


def test_a_long_marker_text_is_trimmed(write_tree: WriteTree) -> None:
    root = write_tree({"a.py": "# TODO: " + "word " * 60 + "\n"})
    [found] = find_todos(root)
    assert len(found.message) <= 120
    assert found.message.startswith("TODO: word word")
    assert found.message.endswith("…")


def test_a_python_file_that_does_not_parse_still_has_its_markers_found(
    write_tree: WriteTree,
) -> None:
    root = write_tree({"broken.py": "# TODO: first\nx = (\n'''\n# FIXME: after\n"})
    assert find_todos(root) == [
        todo("medium", "broken.py", 4, "FIXME: after"),
        todo("low", "broken.py", 1, "TODO: first"),
    ]


def test_python_strings_of_every_kind_hide_markers(write_tree: WriteTree) -> None:
    source = r"""
        a = 'it\'s # TODO: not a comment'
        b = f"{x} # TODO: not one either"
        c = r'''
        # FIXME: inside a triple-quoted string
        '''
        d = 1  # XXX: this one is  # TODO: not a second
    """
    assert find_todos(write_tree({"s.py": source})) == [
        todo("medium", "s.py", 6, "XXX: this one is # TODO: not a second")
    ]


def test_no_markers_no_findings(write_tree: WriteTree) -> None:
    assert find_todos(write_tree({"a.py": "x = 1\n"})) == []
