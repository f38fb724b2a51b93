"""External-command providers: any program that speaks JSON on stdin and stdout.

The program is started with the definition's ``command`` (``${Entity.Property}`` templates
expanded into its arguments) in its own process group, and reads on stdin::

    {"actionId": "…", "inputs": {"Name": {"kind": "Text", "text": "…", …}}, "inputData": {…}}

It answers on stdout with one JSON object::

    {"outputs": {"Summary": {"kind": "Text", "text": "…"} | "plain text"},
     "result": "Success", "extendedError": "…"}          # the last two optional

At the timeout the whole process group is killed (a shell's children too). A non-zero exit
or an answer that is not that object ends the invocation as ``Unsupported`` with the reason
in ``extended_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ainos.ai.actions._definition import ActionDefinition, entity_resolver
from ainos.ai.actions._entities import ActionEntity, TextActionEntity
from ainos.ai.actions._json import describe_json_type
from ainos.ai.actions._kinds import ActionInvocationResult, parse_enum
from ainos.ai.actions._provider import ActionProvider
from ainos.errors import AinosError

if TYPE_CHECKING:
    from ainos.ai.actions._context import ActionInvocationContext

__all__ = ["CommandProvider"]

_DEFAULT_TIMEOUT = 30.0
_SHOWN = 120  # characters of a bad answer quoted back in the reason


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The child leads its own session, so its pid is the group id of everything it started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _excerpt(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…"


class CommandProvider(ActionProvider):
    def __init__(self, definition: ActionDefinition) -> None:
        self.definition = definition
        source = Path(definition.source) if definition.source else None
        # Relative paths in a command are relative to the definition file.
        self.cwd = source.parent if source is not None and source.is_file() else None

    @property
    def timeout(self) -> float:
        return self.definition.invocation.timeout or _DEFAULT_TIMEOUT

    def _request(self, context: ActionInvocationContext) -> tuple[list[str], bytes]:
        invocation = self.definition.invocation
        inputs = context.inputs
        resolve = entity_resolver(inputs)
        argv = [part.render(resolve) for part in invocation.command]
        data = {name: t.render(resolve) for name, t in (invocation.input_data or {}).items()}
        payload = {
            "actionId": context.action_id,
            "inputs": {name: entity.to_dict() for name, entity in inputs.items()},
            "inputData": data,
        }
        return argv, json.dumps(payload, ensure_ascii=False).encode()

    async def invoke(self, context: ActionInvocationContext) -> None:
        argv, payload = self._request(context)
        env = {**os.environ, "AINOS_ACTION_ID": context.action_id}
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            context.fail(
                ActionInvocationResult.UNAVAILABLE,
                f"cannot start {argv[0]!r}: {exc.strerror or exc}",
            )
            return
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(payload), self.timeout)
        except TimeoutError:
            _kill_group(process)
            await process.wait()
            context.fail(
                ActionInvocationResult.UNAVAILABLE,
                f"{argv[0]} did not answer within {self.timeout:g}s and was killed",
            )
            return
        except BaseException:
            _kill_group(process)
            await process.wait()
            raise
        # Whatever the program left running in its group has no one to answer to.
        _kill_group(process)
        if process.returncode != 0:
            detail = _excerpt(stderr.splitlines()[-1] if stderr.strip() else b"")
            context.fail(
                ActionInvocationResult.UNSUPPORTED,
                f"{argv[0]} exited with status {process.returncode}"
                + (f": {detail}" if detail else ""),
            )
            return
        self._read_answer(context, argv[0], stdout)

    def _read_answer(self, context: ActionInvocationContext, program: str, stdout: bytes) -> None:
        def bad(reason: str) -> None:
            context.fail(ActionInvocationResult.UNSUPPORTED, f"{program} answered badly: {reason}")

        try:
            answer = json.loads(stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            shown = _excerpt(stdout)
            bad(f"not JSON: {shown!r}" if shown else "it printed nothing")
            return
        if not isinstance(answer, Mapping):
            bad(f"expected a JSON object, got {describe_json_type(answer)}")
            return
        outputs = answer.get("outputs", {})
        if not isinstance(outputs, Mapping):
            bad(f"outputs: expected an object, got {describe_json_type(outputs)}")
            return
        try:
            for name, raw in outputs.items():
                entity: ActionEntity = (
                    TextActionEntity(raw)
                    if isinstance(raw, str)
                    else context.entity_factory.from_dict(raw, f"$.outputs.{name}")
                )
                context.set_output_entity(str(name), context.entity_factory.register(entity))
        except AinosError as exc:
            bad(str(exc))
            return
        result_name = answer.get("result", "Success")
        result = (
            parse_enum(ActionInvocationResult, result_name)
            if isinstance(result_name, str)
            else None
        )
        if result is None:
            bad(f"result: unknown value {result_name!r}")
            return
        error = answer.get("extendedError")
        if result is not ActionInvocationResult.SUCCESS:
            context.fail(result, error if isinstance(error, str) and error else result.wire_name)
