"""The server's requests, through the SDK's client in this process: the handshake,
pagination, prompts, templates, completion, logging, subscriptions, the tool list following
the action catalog, and what a 2026-era connection gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError
from tests.app.mcp_server.conftest import connect

import ainos
from ainos.app.mcp_server import McpServerOptions
from ainos.app.mcp_server._server import _page

pytestmark = [
    pytest.mark.anyio,
    # ping, logging/setLevel and resources/subscribe are deprecated from 2026-07-28 on; the
    # clients of `codex mcp-server` speak earlier versions and use them.
    pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning"),
]

SYSTEM_TOOLS = {"embed", "generate", "ainos_stats", "ainos_processes", "ainos_scheduler"}
CODEX_TOOLS = {"codex", "codex-reply", "codex-stop", "codex-close"}


# -- _page ---------------------------------------------------------------------------------


def test_page_walks_a_listing_by_offset_cursors() -> None:
    items = list(range(7))
    assert _page(items, None, 3) == ([0, 1, 2], "3")
    assert _page(items, "3", 3) == ([3, 4, 5], "6")
    assert _page(items, "6", 3) == ([6], None)
    assert _page(items, "", 3) == ([0, 1, 2], "3")


def test_page_of_a_short_listing_has_no_cursor() -> None:
    assert _page([1, 2], None, 50) == ([1, 2], None)
    assert _page([], None, 50) == ([], None)
    # Exactly a page: nothing follows.
    assert _page([1, 2, 3], None, 3) == ([1, 2, 3], None)


def test_page_at_the_end_is_empty() -> None:
    assert _page([1, 2, 3], "3", 2) == ([], None)


@pytest.mark.parametrize("cursor", ["abc", "-1", "4", "1.5", " 2x"])
def test_a_bad_cursor_is_invalid_params(cursor: str) -> None:
    with pytest.raises(MCPError) as caught:
        _page([1, 2, 3], cursor, 2)
    assert caught.value.code == types.INVALID_PARAMS
    assert repr(cursor) in caught.value.message


# -- the handshake -------------------------------------------------------------------------


async def test_the_handshake_names_the_server_and_its_capabilities() -> None:
    async with connect() as client:
        info = client.server_info
        assert info is not None
        assert info.name == "ainos"
        assert info.version == ainos.__version__
        assert client.instructions is not None
        assert "codex" in client.instructions
        capabilities = client.server_capabilities
        assert capabilities.tools is not None
        assert capabilities.tools.list_changed is True
        assert capabilities.resources is not None
        assert capabilities.resources.subscribe is True
        # The resource list changes unannounced; only the tool list is announced.
        assert capabilities.resources.list_changed is False
        assert capabilities.prompts is not None
        assert capabilities.logging is not None
        assert capabilities.completions is not None
        assert await client.send_ping() == types.EmptyResult()


# -- pagination ----------------------------------------------------------------------------


async def _all_pages(list_page: Any, field: str) -> tuple[list[Any], list[str]]:
    items: list[Any] = []
    cursors: list[str] = []
    cursor: str | None = None
    while True:
        page = await list_page(cursor=cursor, cache_mode="bypass")
        items.extend(getattr(page, field))
        if page.next_cursor is None:
            return items, cursors
        cursor = page.next_cursor
        cursors.append(cursor)


async def test_listings_are_paged() -> None:
    async with connect() as whole, connect(McpServerOptions(page_size=4)) as paged:
        everything = (await whole.list_tools()).tools
        assert (await whole.list_tools()).next_cursor is None  # fewer than 50 tools
        tools, cursors = await _all_pages(paged.list_tools, "tools")
        assert [t.name for t in tools] == [t.name for t in everything]
        assert len(cursors) == (len(everything) - 1) // 4
        assert {t.name for t in tools} >= SYSTEM_TOOLS | CODEX_TOOLS
        resources, cursors = await _all_pages(paged.list_resources, "resources")
        assert len(resources) > 4
        assert len(cursors) >= 1
        assert [str(r.uri) for r in resources] == [
            str(r.uri) for r in (await whole.list_resources()).resources
        ]
        prompts, cursors = await _all_pages(paged.list_prompts, "prompts")
        assert [p.name for p in prompts] == ["code-review", "analyze-codebase"]
        assert cursors == []


async def test_a_bad_cursor_is_an_error() -> None:
    async with connect() as client:
        for listing in (client.list_tools, client.list_resources, client.list_prompts):
            with pytest.raises(MCPError) as caught:
                await listing(cursor="not-a-cursor")
            assert caught.value.code == types.INVALID_PARAMS


# -- prompts -------------------------------------------------------------------------------


async def test_prompts_are_listed_and_rendered() -> None:
    async with connect() as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(listed) == {"code-review", "analyze-codebase"}
        review = listed["code-review"]
        assert [(a.name, a.required) for a in review.arguments or []] == [
            ("path", True),
            ("focus", False),
        ]
        got = await client.get_prompt("code-review", {"path": "src/app", "focus": "security"})
        [message] = got.messages
        assert message.role == "user"
        assert isinstance(message.content, types.TextContent)
        assert "src/app" in message.content.text
        assert "Focus on: security." in message.content.text
        analysis = await client.get_prompt("analyze-codebase", {"path": "."})
        assert isinstance(analysis.messages[0].content, types.TextContent)
        assert "Ainos.AnalyzeCodebase" in analysis.messages[0].content.text


async def test_a_prompt_without_its_required_argument_is_an_error() -> None:
    async with connect() as client:
        for arguments in (None, {}, {"focus": "tests"}, {"path": ""}):
            with pytest.raises(MCPError) as caught:
                await client.get_prompt("code-review", arguments)
            assert caught.value.code == types.INVALID_PARAMS
            assert "path" in caught.value.message
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("no-such-prompt", {})
        assert caught.value.code == types.INVALID_PARAMS


# -- resources -----------------------------------------------------------------------------


async def test_templates_are_listed() -> None:
    async with connect() as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "ainos://actions/{id}",
            "ainos://conversations/{threadId}",
        }


async def test_an_unknown_resource_is_resource_not_found() -> None:
    async with connect() as client:
        for uri in (
            "ainos://nothing",
            "ainos://actions/No.Such",
            "ainos://conversations/0000-none",
        ):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            assert caught.value.code == -32002
            assert uri in caught.value.message
        with pytest.raises(MCPError) as caught:
            await client.subscribe_resource("ainos://nothing")
        assert caught.value.code == -32002


async def test_a_subscription_to_the_statistics_is_told_of_changes() -> None:
    updated: list[str] = []
    arrived = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            arrived.set()

    options = McpServerOptions(stats_interval=0.2)
    async with connect(options, message_handler=on_message) as client:
        await client.subscribe_resource("ainos://stats")
        with anyio.fail_after(60):
            await arrived.wait()
        assert set(updated) == {"ainos://stats"}
        await client.unsubscribe_resource("ainos://stats")


# -- completion ----------------------------------------------------------------------------


async def test_action_ids_complete() -> None:
    ref = types.ResourceTemplateReference(uri="ainos://actions/{id}")
    async with connect() as client:
        got = (await client.complete(ref, {"name": "id", "value": "ainos.c"})).completion
        assert {"Ainos.ConvertTable", "Ainos.CountWords"} <= set(got.values)
        assert got.values == sorted(got.values)
        assert all(v.startswith("Ainos.C") for v in got.values)
        assert got.total == len(got.values)
        assert got.has_more is False
        one = (await client.complete(ref, {"name": "id", "value": "Ainos.Cou"})).completion
        assert one.values == ["Ainos.CountWords"]
        everything = (await client.complete(ref, {"name": "id", "value": ""})).completion
        assert len(everything.values) >= 6
        nothing = (await client.complete(ref, {"name": "id", "value": "zzz"})).completion
        assert nothing.values == []


async def test_thread_ids_complete(ainos_home: Path, tmp_path: Path) -> None:
    from ainos.app.agent import ConversationStore

    with ConversationStore() as store:
        ids = [
            store.create_thread(cwd=tmp_path, model="m", provider="p", settings={}).id
            for _ in range(3)
        ]
    ref = types.ResourceTemplateReference(uri="ainos://conversations/{threadId}")
    async with connect() as client:
        got = (await client.complete(ref, {"name": "threadId", "value": ""})).completion
        assert sorted(got.values) == sorted(ids)
        one = (await client.complete(ref, {"name": "threadId", "value": ids[1][:8]})).completion
        assert one.values == [ids[1]]


async def test_prompt_arguments_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("src", "scripts", "docs", ".git"):
        (tmp_path / name).mkdir()
    (tmp_path / "setup.py").write_text("")
    monkeypatch.chdir(tmp_path)
    ref = types.PromptReference(name="code-review")
    async with connect() as client:
        paths = (await client.complete(ref, {"name": "path", "value": "s"})).completion
        assert paths.values == ["scripts", "src"]
        focus = (await client.complete(ref, {"name": "focus", "value": "sec"})).completion
        assert focus.values == ["security"]


# -- logging -------------------------------------------------------------------------------


async def test_a_failing_call_is_logged_at_the_level_asked_for() -> None:
    send, received = anyio.create_memory_object_stream[types.LoggingMessageNotificationParams](10)

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        await send.send(params)

    async def next_log() -> str:
        """The next message's data. Messages are delivered in the order they were sent, so
        one a call should not have caused would come before the one awaited."""
        with anyio.fail_after(30):
            entry = await received.receive()
        assert entry.level == "warning"
        assert entry.logger == "ainos"
        assert isinstance(entry.data, str)
        return entry.data

    async with connect(logging_callback=on_log) as client, send, received:
        # No level set: nothing is sent.
        assert (await client.call_tool("no-such-tool", {})).is_error is True
        await client.set_logging_level("warning")
        assert (await client.call_tool("embed", {"texts": []})).is_error is True
        assert (await next_log()).startswith("embed: embed: invalid argument texts")
        # A higher level: warnings are not sent.
        await client.set_logging_level("error")
        assert (await client.call_tool("no-such-tool", {})).is_error is True
        # Nor is anything for a call that works.
        await client.set_logging_level("debug")
        assert (await client.call_tool("Ainos.CountWords", {"Text": "a b"})).is_error is not True
        assert (await client.call_tool("ainos_stats", {"x": 1})).is_error is True
        assert (await next_log()).startswith("ainos_stats: ainos_stats: invalid argument x")


# -- the tool list follows the catalog -----------------------------------------------------


async def test_an_action_defined_while_serving_is_listed_and_announced(ainos_home: Path) -> None:
    from ainos.ai.actions.builtin import __file__ as builtin_init

    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    definition = json.loads((Path(builtin_init).parent / "count_words.json").read_text())
    definition["actions"][0]["id"] = "Test.CountWordsAgain"
    options = McpServerOptions(catalog_interval=0.1)
    async with connect(options, message_handler=on_message) as client:
        before = {t.name for t in (await client.list_tools(cache_mode="bypass")).tools}
        assert "Test.CountWordsAgain" not in before
        actions = ainos_home / "config" / "actions"
        actions.mkdir(parents=True, exist_ok=True)
        (actions / "again.json").write_text(json.dumps(definition))
        with anyio.fail_after(60):
            await changed.wait()
        after = {t.name for t in (await client.list_tools(cache_mode="bypass")).tools}
        assert after == before | {"Test.CountWordsAgain"}
        result = await client.call_tool("Test.CountWordsAgain", {"Text": "one two three"})
        assert result.is_error is not True, result.content


# -- a 2026-era connection -----------------------------------------------------------------


async def test_a_2026_connection_gets_tools_resources_and_prompts() -> None:
    async with connect(mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        names = {t.name for t in (await client.list_tools()).tools}
        assert names >= SYSTEM_TOOLS | CODEX_TOOLS
        counted = await client.call_tool("Ainos.CountWords", {"Text": "one two"})
        assert counted.is_error is not True
        bad = await client.call_tool("ainos_stats", {"extra": 1})
        assert bad.is_error is True
        read = await client.read_resource("ainos://actions/Ainos.CountWords")
        [content] = read.contents
        assert isinstance(content, types.TextResourceContents)
        assert json.loads(content.text)["id"] == "Ainos.CountWords"
        assert len((await client.list_prompts()).prompts) == 2


async def test_a_2026_listen_stream_hears_of_new_tools_and_changed_statistics(
    ainos_home: Path,
) -> None:
    """On 2026-07-28 there is no resources/subscribe: a subscriptions/listen stream carries
    the same changes (the SDK's listen handler, fed by the server's bus)."""
    from mcp.shared.subscriptions import ResourceUpdated, ToolsListChanged

    from ainos.ai.actions.builtin import __file__ as builtin_init

    definition = json.loads((Path(builtin_init).parent / "count_words.json").read_text())
    definition["actions"][0]["id"] = "Test.Heard"
    options = McpServerOptions(catalog_interval=0.1, stats_interval=0.2)
    async with connect(options, mode="auto") as client:
        async with client.listen(
            tools_list_changed=True, resource_subscriptions=["ainos://stats"]
        ) as events:
            actions = ainos_home / "config" / "actions"
            actions.mkdir(parents=True, exist_ok=True)
            (actions / "heard.json").write_text(json.dumps(definition))
            seen: set[type[Any]] = set()
            with anyio.fail_after(60):
                async for event in events:
                    if isinstance(event, ResourceUpdated):
                        assert event.uri == "ainos://stats"
                    seen.add(type(event))
                    if seen >= {ToolsListChanged, ResourceUpdated}:
                        break
        names = {t.name for t in (await client.list_tools(cache_mode="bypass")).tools}
        assert "Test.Heard" in names
