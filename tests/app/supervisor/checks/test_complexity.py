from __future__ import annotations

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks import find_complex_functions


def complexity(severity: Severity, path: str, line: int, message: str) -> Finding:
    return Finding("complexity", severity, path, line, message)


def branchy(name: str, ifs: int, indent: str = "") -> str:
    """A function of complexity ``ifs + 1``: one ``if`` per branch."""
    body = "".join(f"{indent}    if x == {n}:\n{indent}        return {n}\n" for n in range(ifs))
    return f"{indent}def {name}(x):\n{body}{indent}    return -1\n"


def test_the_branches_counted(write_tree: WriteTree) -> None:
    # 1 + if + elif + for + while + except + 2 (a and b and c) + comprehension if + ternary
    # + 2 cases (the final wildcard not) = 12; with and the comprehension's for are no branch
    source = """
        def counted(items, a, b, c):
            if a:
                pass
            elif b:
                pass
            for item in items:
                while item:
                    item -= 1
            try:
                pass
            except ValueError:
                pass
            with open("f") as f:
                pass
            ok = a and b and c
            evens = [i for i in items if i % 2]
            sign = 1 if a else -1
            match a:
                case 1:
                    pass
                case 2:
                    pass
                case _:
                    pass
            return ok, evens, sign
    """
    root = write_tree({"m.py": source})
    assert find_complex_functions(root) == [
        complexity("medium", "m.py", 1, "function counted() has cyclomatic complexity 12 (over 10)")
    ]


def test_thresholds_and_names(write_tree: WriteTree) -> None:
    source = (
        branchy("simple", 9)  # 10: not over
        + branchy("medium_one", 10)  # 11
        + "class Parser:\n"
        + branchy("parse", 20, "    ")  # 21
        + "def outer():\n"
        + branchy("inner", 11, "    ")  # 12, not counted in outer
        + "    return inner\n"
    )
    root = write_tree({"pkg/m.py": source})
    findings = find_complex_functions(root)
    assert [(f.severity, f.message) for f in findings] == [
        ("high", "function Parser.parse() has cyclomatic complexity 21 (over 20)"),
        ("medium", "function medium_one() has cyclomatic complexity 11 (over 10)"),
        ("medium", "function outer.inner() has cyclomatic complexity 12 (over 10)"),
    ]


def test_long_functions(write_tree: WriteTree) -> None:
    long_body = "".join(f"    x{n} = {n}\n" for n in range(80))
    source = (
        f"def exactly_80():\n{long_body[: -len('    x79 = 79') - 1]}"
        + f"def long_one():\n{long_body}"
        + "def long_and_complex(x):\n"
        + "".join(f"    if x == {n}:\n        return {n}\n" for n in range(45))
    )
    root = write_tree({"m.py": source})
    assert find_complex_functions(root) == [
        complexity(
            "high",
            "m.py",
            162,
            "function long_and_complex() has cyclomatic complexity 46 (over 20) "
            "and is 91 lines long (over 80)",
        ),
        complexity("low", "m.py", 81, "function long_one() is 81 lines long (over 80)"),
    ]


def test_unparsable_modules_are_skipped(write_tree: WriteTree) -> None:
    root = write_tree({"bad.py": "def f(:\n", "good.py": branchy("g", 11)})
    assert [f.path for f in find_complex_functions(root)] == ["good.py"]
