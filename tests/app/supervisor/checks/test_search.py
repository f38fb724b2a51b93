from __future__ import annotations

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks import search_terms


def hit(path: str, line: int, message: str) -> Finding:
    return Finding("search", "info", path, line, message)


def test_whole_words_any_case(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "src/sched.py": "class Scheduler:\n    def run(self):\n        self.scheduler_id = 1\n",
            "docs/notes.md": "The   SCHEDULER   picks the lane.\n",
            "a.txt": "reschedule and schedulers are other words\n",
            "data.bin": b"\x00scheduler",
        }
    )
    assert search_terms(root, ["scheduler"]) == [
        hit("docs/notes.md", 1, "scheduler: The SCHEDULER picks the lane."),
        hit("src/sched.py", 1, "scheduler: class Scheduler:"),
    ]


def test_phrases_and_identifiers_with_dots(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "a.py": "from ainos.kernel.scheduler import x\n# the retry policy\nretry = 1\n",
        }
    )
    assert search_terms(root, ["retry policy", "ainos.kernel.scheduler", "  "]) == [
        hit("a.py", 1, "ainos.kernel.scheduler: from ainos.kernel.scheduler import x"),
        hit("a.py", 2, "retry policy: # the retry policy"),
    ]


def test_at_most_twenty_places_per_term_the_first_in_path_order(write_tree: WriteTree) -> None:
    files = {f"f{n:02}.txt": "alpha\nalpha\n" for n in range(15)}
    files["z.txt"] = "beta\n"
    root = write_tree(files)
    found = search_terms(root, ["alpha", "beta"])
    alphas = [(f.path, f.line) for f in found if f.message.startswith("alpha")]
    assert alphas == [(f"f{n:02}.txt", line) for n in range(10) for line in (1, 2)]
    assert [f for f in found if f.message.startswith("beta")] == [hit("z.txt", 1, "beta: beta")]


def test_a_long_line_is_trimmed(write_tree: WriteTree) -> None:
    root = write_tree({"a.txt": "needle " + "hay " * 100 + "\n"})
    [found] = search_terms(root, ["needle"])
    assert found.message.startswith("needle: needle hay hay")
    assert found.message.endswith("…")
    assert len(found.message) <= len("needle: ") + 120


def test_no_terms_no_findings(write_tree: WriteTree) -> None:
    assert search_terms(write_tree({"a.txt": "x\n"}), []) == []
