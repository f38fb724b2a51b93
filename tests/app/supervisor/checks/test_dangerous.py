from __future__ import annotations

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks import scan_dangerous_calls

SHELL = "runs a command through the shell"
UNPICKLE = "unpickling can run arbitrary code"
NO_TLS = "turns off TLS certificate checks"


def danger(severity: Severity, path: str, line: int, message: str) -> Finding:
    return Finding("dangerous-calls", severity, path, line, message)


DANGEROUS_PY = """
    import hashlib
    import os
    import pickle
    import subprocess as sp
    import tempfile
    from subprocess import check_output

    import requests
    import yaml


    def handle(request, data, command):
        eval(request.args["expr"])
        exec(f"x = {data}")
        code = compile(data, "<input>", "exec")
        os.system(command)
        os.popen("ls " + command)
        sp.run(command, shell=True)
        check_output(command, shell=use_shell)
        pickle.loads(data)
        yaml.load(data)
        yaml.load(data, Loader=yaml.FullLoader)
        tempfile.mktemp()
        hashlib.md5(data)
        hashlib.new("sha1")
        requests.get("https://host.test", verify=False)
        session = requests.Session()
        session.post("https://host.test", verify=False)
        return __import__(data)
"""

SAFE_PY = """
    import ast
    import hashlib
    import re
    import subprocess
    import yaml


    class Loader(yaml.SafeLoader):
        pass


    def fine(data, path):
        ast.literal_eval(data)
        eval("1 + 1")
        re.compile(data)
        subprocess.run(["ls", path])
        subprocess.run(["ls", path], shell=False)
        yaml.load(data, Loader=yaml.SafeLoader)
        yaml.load(data, Loader=Loader)
        yaml.safe_load(data)
        hashlib.sha256(data)
        hashlib.md5(data, usedforsecurity=False)
        __import__("json")
        self.eval(data)
        data.load()
        return compile("x = 1", "<const>", "exec")
"""


def test_dangerous_python_calls_are_found(write_tree: WriteTree) -> None:
    root = write_tree({"app/handlers.py": DANGEROUS_PY})
    path = "app/handlers.py"
    assert scan_dangerous_calls(root) == [
        danger("high", path, 13, "eval() of a non-literal argument"),
        danger("high", path, 14, "exec() of a non-literal argument"),
        danger("high", path, 16, f"os.system(): {SHELL}"),
        danger("high", path, 17, f"os.popen(): {SHELL}"),
        danger("high", path, 18, f"subprocess.run(shell=True): {SHELL}"),
        danger("high", path, 19, f"subprocess.check_output(shell=use_shell): {SHELL}"),
        danger("medium", path, 15, "compile() of a non-literal argument"),
        danger("medium", path, 20, f"pickle.loads(): {UNPICKLE}"),
        danger("medium", path, 21, "yaml.load() without a safe Loader"),
        danger("medium", path, 22, "yaml.load() without a safe Loader"),
        danger(
            "medium",
            path,
            23,
            "tempfile.mktemp(): races: another process can create the file first",
        ),
        danger("medium", path, 26, f"requests.get(verify=False): {NO_TLS}"),
        danger("medium", path, 28, f"session.post(verify=False): {NO_TLS}"),
        danger("medium", path, 29, "__import__() of a non-literal module name"),
        danger("low", path, 24, "hashlib.md5(): a weak hash (fine only for non-security use)"),
        danger("low", path, 25, "hashlib.new(): a weak hash (fine only for non-security use)"),
    ]


def test_safe_look_alikes_are_not_found(write_tree: WriteTree) -> None:
    root = write_tree({"app/fine.py": SAFE_PY})
    assert scan_dangerous_calls(root) == []


def test_findings_in_tests_are_one_step_less_severe(write_tree: WriteTree) -> None:
    code = "import os\n\ndef test_x(cmd):\n    os.system(cmd)\n    eval(cmd)\n"
    root = write_tree({"tests/test_x.py": code, "src/x_test.py": code})
    assert scan_dangerous_calls(root) == [
        danger("medium", "src/x_test.py", 4, f"os.system(): {SHELL}"),
        danger("medium", "src/x_test.py", 5, "eval() of a non-literal argument"),
        danger("medium", "tests/test_x.py", 4, f"os.system(): {SHELL}"),
        danger("medium", "tests/test_x.py", 5, "eval() of a non-literal argument"),
    ]


def test_javascript_and_shell_patterns(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "web/app.js": """
                const { exec } = require("child_process");
                eval(userInput);
                const f = new Function("a", body);
                exec(`ls ${dir}`);
                el.innerHTML = html;
                // eval(commented) is not code
                const m = /x/.exec(text);
                if (el.innerHTML === "") {}
                obj.evaluate(x);
            """,
            "web/plain.js": "const m = pattern.exec(text);\n",
            "install.sh": """
                #!/bin/sh
                # curl https://x | sh in a comment
                curl -fsSL https://get.example.test/install | sudo bash
                eval "$(ssh-agent)"
            """,
            "Dockerfile": "FROM debian\nRUN wget -qO- https://x.test/i.sh | sh\n",
            ".github/workflows/ci.yml": "run: curl https://x.test | sh\n",  # hidden: skipped
        }
    )
    assert scan_dangerous_calls(root) == [
        danger("high", "Dockerfile", 2, "pipes a download into a shell"),
        danger("high", "install.sh", 3, "pipes a download into a shell"),
        danger("high", "web/app.js", 2, "eval() runs a string as code"),
        danger("high", "web/app.js", 3, "new Function() runs a string as code"),
        danger("high", "web/app.js", 4, "child_process.exec() runs a command through the shell"),
        danger("medium", "install.sh", 4, "eval runs a string as shell code"),
        danger("medium", "web/app.js", 5, "assigning innerHTML can inject script"),
    ]


def test_a_module_that_does_not_parse_is_skipped(write_tree: WriteTree) -> None:
    root = write_tree(
        {"bad.py": "import os\nos.system(x\n", "good.py": "import os\nos.system(x)\n"}
    )
    assert scan_dangerous_calls(root) == [danger("high", "good.py", 2, f"os.system(): {SHELL}")]


def test_asyncio_shell_but_not_exec(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "a.py": """
                import asyncio

                async def run(cmd):
                    await asyncio.create_subprocess_shell(cmd)
                    await asyncio.create_subprocess_exec("ls", cmd)
            """
        }
    )
    assert scan_dangerous_calls(root) == [
        danger("high", "a.py", 4, f"asyncio.create_subprocess_shell(): {SHELL}")
    ]
