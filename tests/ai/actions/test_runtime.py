"""The runtime as host: Python providers (module path, entry point), results, log, feedback."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.actions import (
    ActionFeedbackKind,
    ActionInvocationHelpKind,
    ActionInvocationResult,
    ActionRuntime,
    TextActionEntity,
)
from ainos.errors import ActionError, InvalidArgument

PROVIDERS = """
import asyncio

from ainos.ai.actions import ActionProvider, FeedbackHandler, ActionInvocationResult


class Shout(ActionProvider, FeedbackHandler):
    feedback = []

    async def invoke(self, context):
        text = context.get_input("Words").text
        loud = context.entity_factory.create_text_entity(text.upper() + "!")
        context.set_output_entity("Loud", loud)

    async def process_feedback(self, context, feedback):
        Shout.feedback.append((context.invocation_id, feedback.kind.wire_name))


class Explodes(ActionProvider):
    async def invoke(self, context):
        raise ZeroDivisionError("the provider divided by zero")


class Declines(ActionProvider):
    async def invoke(self, context):
        context.fail(ActionInvocationResult.USER_CANCELED, "the user said no")


class WrongOutput(ActionProvider):
    async def invoke(self, context):
        context.set_output_entity("Loud", context.entity_factory.create_uri_entity("a:b"))


class Sleeps(ActionProvider):
    async def invoke(self, context):
        await asyncio.sleep(3600)


class NotAProvider:
    pass
"""


@pytest.fixture
def providers(
    actions_dir: Path,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> Path:
    (actions_dir / "shout.py").write_text(PROVIDERS)
    words = [{"name": "Words", "kind": "Text"}]
    loud = [{"name": "Loud", "kind": "Text"}]

    def module(attr: str) -> dict[str, str]:
        return {"type": "Module", "module": f"shout.py:{attr}"}

    return write_definition(
        "shout.json",
        make_action("Test.Shout", words, module("Shout"), outputs=loud),
        make_action("Test.Explodes", words, module("Explodes"), outputs=loud),
        make_action("Test.Declines", words, module("Declines"), outputs=loud),
        make_action("Test.WrongOutput", words, module("WrongOutput"), outputs=loud),
        make_action("Test.Sleeps", words, module("Sleeps"), outputs=loud),
        make_action("Test.NotAProvider", words, module("NotAProvider"), outputs=loud),
        make_action("Test.MissingModule", words, {"type": "Module", "module": "no/such.py:X"}),
        make_action("Test.Uri", words, {"type": "Uri", "uri": "app://x?q=${Words.Text}"}),
        make_action(
            "Test.Dotted",
            words,
            {"type": "Module", "module": "ainos.ai.actions._external:CommandProvider"},
        ),
    )


def _invoke(runtime: ActionRuntime, action_id: str, text: str = "hi") -> Any:
    words = runtime.entity_factory.create_text_entity(text)
    return asyncio.run(runtime.invoke_action(action_id, {"Words": words}))


def test_module_provider_runs_and_is_logged(runtime: ActionRuntime, providers: Path) -> None:
    context = _invoke(runtime, "Test.Shout", "hello")
    assert context.result is ActionInvocationResult.SUCCESS
    loud = context.get_output("Loud")
    assert isinstance(loud, TextActionEntity)
    assert loud.text == "HELLO!"
    assert runtime.get_action_entity_by_id(loud.id) is loud
    (record,) = runtime.history.invocations("Test.Shout")
    assert record.id == context.invocation_id
    assert record.result is ActionInvocationResult.SUCCESS
    assert record.inputs == {"Words": "Text: hello"}
    assert record.outputs == {"Loud": "Text: HELLO!"}
    assert record.invoker_name == "tests"
    assert record.duration_ms >= 0


def test_provider_errors_become_unsupported_with_the_reason(
    runtime: ActionRuntime, providers: Path
) -> None:
    context = _invoke(runtime, "Test.Explodes")
    assert context.result is ActionInvocationResult.UNSUPPORTED
    assert context.extended_error == "ZeroDivisionError: the provider divided by zero"
    assert context.help_details.kind is ActionInvocationHelpKind.ERROR
    assert runtime.history.invocations("Test.Explodes")[0].extended_error == context.extended_error


def test_provider_sets_its_own_result(runtime: ActionRuntime, providers: Path) -> None:
    context = _invoke(runtime, "Test.Declines")
    assert context.result is ActionInvocationResult.USER_CANCELED
    assert context.extended_error == "the user said no"


def test_outputs_are_checked_against_the_definition(
    runtime: ActionRuntime, providers: Path
) -> None:
    context = _invoke(runtime, "Test.WrongOutput")
    assert context.result is ActionInvocationResult.UNSUPPORTED
    assert context.extended_error == "output 'Loud' of Test.WrongOutput is Text, not Uri"


@pytest.mark.parametrize(
    ("action_id", "reason"),
    [
        ("Test.NotAProvider", "is the class NotAProvider, not an ActionProvider subclass"),
        ("Test.MissingModule", "module file"),
        ("Test.Dotted", "cannot create the provider"),
    ],
)
def test_unresolvable_providers_make_the_action_unavailable(
    runtime: ActionRuntime, providers: Path, action_id: str, reason: str
) -> None:
    context = _invoke(runtime, action_id)
    assert context.result is ActionInvocationResult.UNAVAILABLE
    assert reason in (context.extended_error or "")


def test_uri_invocation_is_unsupported_here(runtime: ActionRuntime, providers: Path) -> None:
    context = _invoke(runtime, "Test.Uri")
    assert context.result is ActionInvocationResult.UNSUPPORTED
    assert "needs the Windows app platform" in (context.extended_error or "")


def test_inputs_that_fit_no_overload_are_refused_before_running(
    runtime: ActionRuntime, providers: Path
) -> None:
    context = runtime.create_invocation_context("Test.Shout")
    with pytest.raises(InvalidArgument, match=r"Test\.Shout takes \(Words: Text\); got \(\)"):
        asyncio.run(runtime.invoke(context))
    with pytest.raises(ActionError, match="has no input 'Other'"):
        context.set_input_entity("Other", runtime.entity_factory.create_text_entity("x"))
    with pytest.raises(ActionError, match="takes Text, not Uri"):
        context.set_input_entity("Words", runtime.entity_factory.create_uri_entity("a:b"))
    assert runtime.history.invocations("Test.Shout") == []


def test_turned_off_action_reports_unavailable(runtime: ActionRuntime, providers: Path) -> None:
    runtime.set_action_availability("Test.Shout", False)
    context = _invoke(runtime, "Test.Shout")
    assert context.result is ActionInvocationResult.UNAVAILABLE
    assert "turned off" in (context.extended_error or "")


def test_cancelled_invocation_is_logged_as_user_canceled(
    runtime: ActionRuntime, providers: Path
) -> None:
    async def scenario() -> None:
        context = runtime.create_invocation_context("Test.Sleeps")
        context.set_input_entity("Words", runtime.entity_factory.create_text_entity("zz"))
        task = asyncio.create_task(runtime.invoke(context))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    (record,) = runtime.history.invocations("Test.Sleeps")
    assert record.result is ActionInvocationResult.USER_CANCELED


def test_feedback_is_logged_and_reaches_the_provider(
    runtime: ActionRuntime, providers: Path
) -> None:
    context = _invoke(runtime, "Test.Shout")
    overload = context.definition.get_overloads()[0]
    assert overload.get_supports_feedback() is True
    asyncio.run(
        overload.invoke_feedback_async(
            context, runtime.create_action_feedback(ActionFeedbackKind.POSITIVE)
        )
    )
    provider = runtime.provider_for(context.definition)
    assert type(provider).feedback == [(context.invocation_id, "Positive")]  # type: ignore[attr-defined]
    (record,) = runtime.history.feedback("Test.Shout")
    assert (record.invocation_id, record.kind) == (
        context.invocation_id,
        ActionFeedbackKind.POSITIVE,
    )
    assert runtime.supports_feedback("Test.Explodes") is False


def test_catalog_instance_invokes_through_its_overload(
    runtime: ActionRuntime, providers: Path
) -> None:
    words = runtime.entity_factory.create_text_entity("quiet")
    (instance,) = [
        i
        for i in runtime.action_catalog.get_actions_for_inputs([words])
        if i.definition.id == "Test.Shout"
    ]
    assert asyncio.run(instance.invoke_async()) is ActionInvocationResult.SUCCESS
    loud = instance.context.get_output("Loud")
    assert isinstance(loud, TextActionEntity)
    assert loud.text == "QUIET!"


# -- a provider installed as a package, found through its entry point ---------------------

PLUGIN = """
from ainos.ai.actions import ActionProvider


class Reverse(ActionProvider):
    definition_file = "reverse.json"

    async def invoke(self, context):
        text = context.get_input("Text").text
        context.set_output_entity("Reversed", context.entity_factory.create_text_entity(text[::-1]))
"""

PLUGIN_DEFINITION = {
    "version": 3,
    "actions": [
        {
            "id": "Plugin.Reverse",
            "description": "Reverse text",
            "inputs": [{"name": "Text", "kind": "Text"}],
            "outputs": [{"name": "Reversed", "kind": "Text"}],
            "invocation": {"type": "EntryPoint"},
        }
    ],
}


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real distribution on ``sys.path``: a package, its dist-info and entry point."""
    import importlib
    import json

    site = tmp_path / "site"
    package = site / "reverse_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (package / "reverse.json").write_text(json.dumps(PLUGIN_DEFINITION))
    dist = site / "reverse_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reverse-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[ainos.actions]\nPlugin.Reverse = reverse_plugin:Reverse\n"
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    sys.modules.pop("reverse_plugin", None)


def test_entry_point_provider_is_discovered_and_invoked(
    installed_plugin: Path, actions_dir: Path
) -> None:
    runtime = ActionRuntime()
    definition = runtime.action_catalog.get("Plugin.Reverse")
    assert definition.source == str(installed_plugin / "reverse_plugin" / "reverse.json")
    text = runtime.entity_factory.create_text_entity("stressed")
    context = asyncio.run(runtime.invoke_action("Plugin.Reverse", {"Text": text}))
    assert context.result is ActionInvocationResult.SUCCESS
    reversed_text = context.get_output("Reversed")
    assert isinstance(reversed_text, TextActionEntity)
    assert reversed_text.text == "desserts"


def test_missing_entry_point_makes_the_action_unavailable(
    runtime: ActionRuntime,
    write_definition: Callable[..., Path],
    make_action: Callable[..., dict[str, Any]],
) -> None:
    write_definition(
        "ep.json",
        make_action("Test.Ghost", [], {"type": "EntryPoint", "entryPoint": "No.Such.Thing"}),
    )
    context = asyncio.run(runtime.invoke_action("Test.Ghost", {}))
    assert context.result is ActionInvocationResult.UNAVAILABLE
    assert "no installed package provides the entry point 'No.Such.Thing'" in (
        context.extended_error or ""
    )
