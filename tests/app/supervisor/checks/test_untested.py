from __future__ import annotations

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks import find_untested


def untested(path: str, line: int, message: str) -> Finding:
    return Finding("untested", "low", path, line, message)


MODULE = """
    from __future__ import annotations

    import sys
    from typing import TYPE_CHECKING

    from pkg._other import reexported

    if TYPE_CHECKING:
        def typing_only() -> None: ...

    def parse_config(path):
        return path

    def tested_function():
        return 1

    async def fetch():
        return 2

    class Config:
        def method_is_not_counted(self):
            return 3

    class TestedClass:
        pass

    def _private():
        return 4

    def __dunder__():
        return 5

    if sys.platform == "win32":
        def windows_only():
            return 6
    else:
        def posix_only():
            return 7

    try:
        import fast
    except ImportError:
        def fallback():
            return 8
"""


def test_public_definitions_no_test_mentions(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "pkg/core.py": MODULE,
            "pkg/__init__.py": """
                from pkg.core import parse_config

                def init_helper():
                    pass
            """,
            "pkg/broken.py": "def broken(:\n",
            "setup.py": "def build():\n    pass\n",
            "tests/test_core.py": """
                from pkg.core import TestedClass, tested_function, posix_only

                def test_it():
                    assert tested_function() == 1
                    assert TestedClass()
                    # fallback is mentioned in a comment: a mention is a mention
            """,
        }
    )
    assert find_untested(root) == [
        untested(
            "pkg/__init__.py", 3, "public function init_helper() is not mentioned by any test"
        ),
        untested("pkg/core.py", 11, "public function parse_config() is not mentioned by any test"),
        untested("pkg/core.py", 17, "public function fetch() is not mentioned by any test"),
        untested("pkg/core.py", 20, "public class Config is not mentioned by any test"),
        untested("pkg/core.py", 34, "public function windows_only() is not mentioned by any test"),
    ]


def test_mentions_are_whole_words(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "a.py": "def load():\n    pass\n\ndef load_all():\n    pass\n",
            "test_a.py": "from a import load_all\n",
        }
    )
    assert find_untested(root) == [
        untested("a.py", 1, "public function load() is not mentioned by any test")
    ]


def test_no_tests_at_all_is_one_finding(write_tree: WriteTree) -> None:
    root = write_tree({f"m{n}.py": "def f():\n    pass\n" for n in range(30)})
    assert find_untested(root) == [Finding("untested", "medium", "", 0, "no tests found")]


def test_nothing_public_nothing_to_test(write_tree: WriteTree) -> None:
    root = write_tree({"a.py": "def _f():\n    pass\n", "app.js": "function f() {}\n"})
    assert find_untested(root) == []


def test_test_files_by_name_and_place_count_as_tests(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "lib/a.py": "def one():\n    pass\n\ndef two():\n    pass\n\ndef three():\n    pass\n",
            "lib/a_test.py": "one\n",
            "conftest.py": "two\n",
            "test/helpers.py": "three\n",
        }
    )
    assert find_untested(root) == []
