"""External-command providers, run as real subprocesses: JSON in, JSON out, killed at timeout."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from ainos.ai.actions import (
    ActionInvocationContext,
    ActionInvocationResult,
    ActionRuntime,
    TextActionEntity,
)

ECHO = r"""
import json, os, sys
request = json.load(sys.stdin)
words = request["inputs"]["Words"]["text"]
print(json.dumps({"outputs": {
    "Loud": {"kind": "Text", "text": words.upper(), "textFormat": "Markdown"},
    "Plain": "argv=" + "|".join(sys.argv[1:])
        + " data=" + json.dumps(request["inputData"], sort_keys=True)
        + " id=" + os.environ["AINOS_ACTION_ID"] + " action=" + request["actionId"],
}}))
"""

HANG = r"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{child.pid}\n")
time.sleep(3600)
"""

SCRIPTS = {
    "echo.py": ECHO,
    "hang.py": HANG,
    "garbage.py": "print('this is not json at all')",
    "array.py": "print('[1, 2, 3]')",
    "fails.py": (
        "import sys\n"
        "print('working...', file=sys.stderr)\n"
        "print('boom: disk on fire', file=sys.stderr)\n"
        "sys.exit(3)"
    ),
    "undeclared.py": "import json\nprint(json.dumps({'outputs': {'Secret': 'x'}}))",
    "bad_entity.py": "import json\nprint(json.dumps({'outputs': {'Loud': {'kind': 'Text'}}}))",
    "declines.py": (
        "import json\nprint(json.dumps({'result': 'UserCanceled', 'extendedError': 'not today'}))"
    ),
    "silent.py": "pass",
}


@pytest.fixture
def commands(
    actions_dir: Path,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> Path:
    for name, source in SCRIPTS.items():
        (actions_dir / name).write_text(source)
    words = [{"name": "Words", "kind": "Text"}]
    outputs = [{"name": "Loud", "kind": "Text"}, {"name": "Plain", "kind": "Text"}]

    def command(script: str, *args: str, timeout: float = 30, **extra: Any) -> dict[str, Any]:
        return {
            "type": "Command",
            "command": [sys.executable, script, *args],
            "timeout": timeout,
            **extra,
        }

    pid_file = actions_dir / "grandchild.pid"
    return write_definition(
        "commands.json",
        make_action(
            "Cmd.Echo",
            words,
            command(
                "echo.py", "${Words.Text}", "${Words.WordCount}", inputData={"n": "${Words.Length}"}
            ),
            outputs=outputs,
        ),
        make_action(
            "Cmd.Hang", words, command("hang.py", str(pid_file), timeout=0.5), outputs=outputs
        ),
        make_action("Cmd.Garbage", words, command("garbage.py"), outputs=outputs),
        make_action("Cmd.Array", words, command("array.py"), outputs=outputs),
        make_action("Cmd.Fails", words, command("fails.py"), outputs=outputs),
        make_action("Cmd.Undeclared", words, command("undeclared.py"), outputs=outputs),
        make_action("Cmd.BadEntity", words, command("bad_entity.py"), outputs=outputs),
        make_action("Cmd.Declines", words, command("declines.py"), outputs=outputs),
        make_action("Cmd.Silent", words, command("silent.py"), outputs=outputs),
        make_action("Cmd.Missing", words, {"type": "Command", "command": "/no/such/program --x"}),
    )


def _run(
    runtime: ActionRuntime, action_id: str, text: str = "two words"
) -> ActionInvocationContext:
    words = runtime.entity_factory.create_text_entity(text)
    return asyncio.run(runtime.invoke_action(action_id, {"Words": words}))


def test_command_gets_inputs_and_returns_outputs(runtime: ActionRuntime, commands: Path) -> None:
    context = _run(runtime, "Cmd.Echo", "hello big world")
    assert context.result is ActionInvocationResult.SUCCESS, context.extended_error
    loud, plain = context.get_output("Loud"), context.get_output("Plain")
    assert isinstance(loud, TextActionEntity)
    assert isinstance(plain, TextActionEntity)
    assert loud.text == "HELLO BIG WORLD"
    assert plain.text == 'argv=hello big world|3 data={"n": "15"} id=Cmd.Echo action=Cmd.Echo'
    assert runtime.get_action_entity_by_id(loud.id) is loud


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_hanging_command_and_its_children_are_killed_at_the_timeout(
    runtime: ActionRuntime, commands: Path, actions_dir: Path
) -> None:
    context = _run(runtime, "Cmd.Hang")
    assert context.result is ActionInvocationResult.UNAVAILABLE
    assert context.extended_error == f"{sys.executable} did not answer within 0.5s and was killed"
    grandchild = int((actions_dir / "grandchild.pid").read_text())
    # Killing is immediate; being reaped by init after the parent died may take a moment.
    deadline = time.monotonic() + 30
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)
    (record,) = runtime.history.invocations("Cmd.Hang")
    assert record.result is ActionInvocationResult.UNAVAILABLE


@pytest.mark.parametrize(
    ("action_id", "result", "reason"),
    [
        (
            "Cmd.Garbage",
            ActionInvocationResult.UNSUPPORTED,
            "answered badly: not JSON: 'this is not json at all'",
        ),
        (
            "Cmd.Array",
            ActionInvocationResult.UNSUPPORTED,
            "answered badly: expected a JSON object, got an array",
        ),
        ("Cmd.Silent", ActionInvocationResult.UNSUPPORTED, "answered badly: it printed nothing"),
        (
            "Cmd.Fails",
            ActionInvocationResult.UNSUPPORTED,
            "exited with status 3: boom: disk on fire",
        ),
        (
            "Cmd.Undeclared",
            ActionInvocationResult.UNSUPPORTED,
            "Cmd.Undeclared declares no output 'Secret' (outputs: Loud, Plain)",
        ),
        ("Cmd.BadEntity", ActionInvocationResult.UNSUPPORTED, "$.outputs.Loud.text: missing"),
        ("Cmd.Declines", ActionInvocationResult.USER_CANCELED, "not today"),
        ("Cmd.Missing", ActionInvocationResult.UNAVAILABLE, "cannot start '/no/such/program'"),
    ],
)
def test_failures_carry_their_reason(
    runtime: ActionRuntime,
    commands: Path,
    action_id: str,
    result: ActionInvocationResult,
    reason: str,
) -> None:
    context = _run(runtime, action_id)
    assert context.result is result
    assert reason in (context.extended_error or ""), context.extended_error
    (record,) = runtime.history.invocations(action_id)
    assert record.extended_error == context.extended_error


def test_command_string_is_split_like_a_shell_would(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    script = "import json, sys; print(json.dumps({'outputs': {'Out': ' '.join(sys.argv[1:])}}))"
    write_definition(
        "split.json",
        make_action(
            "Cmd.Split",
            [{"name": "Words", "kind": "Text"}],
            {
                "type": "Command",
                "command": f'{sys.executable} -c "{script}" "${{Words.Text}}" tail',
            },
            outputs=[{"name": "Out", "kind": "Text"}],
        ),
    )
    context = _run(runtime, "Cmd.Split", "one two")
    out = context.get_output("Out")
    assert isinstance(out, TextActionEntity)
    assert out.text == "one two tail"
