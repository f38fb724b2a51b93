"""Consents in SQLite: per host, server and capability; filesystem ones with a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ainos.ai.mcp_registry import ANY_HOST, Capability, ConsentStore, McpDatabase
from ainos.errors import InvalidArgument


def test_grants_are_kept_per_host_server_and_capability(tmp_path: Path) -> None:
    store = ConsentStore()
    read = store.grant("echo", Capability.FILE_SYSTEM_READ, tmp_path / "docs")
    again = store.grant("echo", Capability.FILE_SYSTEM_READ, tmp_path / "docs")
    web = store.grant("echo", Capability.HTTP_GET, host="claude")
    store.grant("other", Capability.FILE_SYSTEM_WRITE, tmp_path)

    assert again == read
    assert (read.host, read.path, read.capability) == (
        ANY_HOST, (tmp_path / "docs").resolve(), Capability.FILE_SYSTEM_READ,
    )  # fmt: skip
    assert [g.id for g in store.grants("echo")] == [read.id, web.id]
    # In force for a host: its own and those for any host.
    assert [g.id for g in store.grants("echo", host="claude")] == [read.id, web.id]
    assert [g.id for g in store.grants("echo", host="cursor")] == [read.id]

    assert store.revoke(web.id) == web
    assert store.revoke(web.id) is None
    assert store.revoke_server("echo") == 1
    assert [g.server for g in store.grants()] == ["other"]


def test_grants_live_in_the_registry_database(tmp_path: Path) -> None:
    database = McpDatabase(tmp_path / "mcp.sqlite3")
    ConsentStore(database).grant("echo", Capability.HTTP_POST)
    assert [g.capability for g in ConsentStore(database).grants()] == [Capability.HTTP_POST]
    assert ConsentStore().grants() == []  # the default file is another one


@pytest.mark.parametrize(
    ("capability", "path", "message"),
    [
        (Capability.FILE_SYSTEM_READ, None, "needs a path"),
        (Capability.HTTP_GET, Path("/tmp"), "takes no path"),
    ],
)
def test_a_grant_has_a_path_exactly_when_it_is_a_filesystem_one(
    capability: Capability, path: Path | None, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ConsentStore().grant("echo", capability, path)


def test_capabilities_are_named_as_windows_names_them() -> None:
    assert Capability.parse("filesystemread") is Capability.FILE_SYSTEM_READ
    assert [c.value for c in Capability] == [
        "FileSystemRead", "FileSystemWrite", "FileSystemCreate", "FileSystemDelete",
        "HttpGet", "HttpPost", "HttpPut", "HttpDelete",
    ]  # fmt: skip
    with pytest.raises(InvalidArgument, match="unknown capability 'Teleport'"):
        Capability.parse("Teleport")
