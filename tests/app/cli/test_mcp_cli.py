"""``ainos mcp``: register, list, import, export, switch tools, grant, audit — and ``run``,
a real proxy between a real client and the fixture server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import anyio
import mcp_types
import pytest
import typer
from mcp import Client, MCPError, StdioServerParameters
from tests.ai.mcp_registry.conftest import echo_entry
from tests.app.cli.conftest import RunAinos
from typer.testing import CliRunner, Result

from ainos.ai.mcp_registry import AuditLog, McpRegistry, StdioCommand
from ainos.app.cli import _mcp


def cli(*args: str) -> Result:
    app = typer.Typer()
    _mcp.register(app)

    @app.callback()
    def _root() -> None:
        """A test root with one group."""

    return CliRunner().invoke(app, ["mcp", *args])


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


def test_add_a_command_list_and_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "server.py").write_text("# a server\n")
    monkeypatch.chdir(tmp_path)

    ok("add", "--name", "echo", "--env", "A=1=2", "--", "python3", "server.py", "--port", "3")
    listed = json.loads(ok("list", "--json").stdout)

    assert [s["id"] for s in listed] == ["ainos", "echo"]
    echo = listed[1]
    # Relative paths are anchored where it was added: clients start it from anywhere.
    assert (echo["command"], echo["args"]) == (
        "python3",
        [str(tmp_path / "server.py"), "--port", "3"],
    )
    assert (echo["env"], echo["containment"], echo["enabled"]) == (["A"], "none", True)
    assert echo["manifest"].endswith("config/mcp/echo.json")
    assert listed[0]["builtin"] is True

    ok("remove", "echo")
    assert [s["id"] for s in json.loads(ok("list", "--json").stdout)] == ["ainos"]
    missing = cli("remove", "echo")
    assert missing.exit_code != 0
    assert "no MCP server 'echo' is registered" in str(missing.exception)


def test_add_a_manifest_and_a_remote(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    manifest = {
        "manifest_version": "0.3",
        "name": "hello",
        "version": "1.0.0",
        "description": "Hello",
        "author": {"name": "A"},
        "server": {
            "type": "python",
            "entry_point": "main.py",
            "mcp_config": {"command": "python3", "args": ["${__dirname}/main.py"]},
        },
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest))

    ok("add", str(bundle), "--contained")
    ok("add", "--name", "web", "--url", "https://x.example/mcp", "--header", "X-Key: s3cret")

    registry = McpRegistry()
    hello = registry.get("hello")
    assert hello.launch == StdioCommand("python3", (f"{bundle.resolve()}/main.py",))
    assert (hello.containment, hello.base_dir) == ("contained", bundle.resolve())
    web = json.loads(ok("list", "--json").stdout)[2]
    assert (web["url"], web["headers"]) == ("https://x.example/mcp", ["X-Key"])  # names only
    for bad in (["add"], ["add", "--url", "https://x"], ["add", str(tmp_path / "none.json")]):
        assert cli(*bad).exit_code != 0


def test_switches_enable_disable_contain_and_tools() -> None:
    McpRegistry().add(echo_entry())

    ok("disable", "echo")
    ok("contain", "echo")
    ok("disable-tool", "echo", "shout")
    entry = McpRegistry().get("echo")
    assert (entry.enabled, entry.containment, entry.disabled_tools) == (
        False,
        "contained",
        ("shout",),
    )

    ok("enable", "echo")
    ok("contain", "echo", "none")
    ok("enable-tool", "echo", "shout")
    entry = McpRegistry().get("echo")
    assert (entry.enabled, entry.containment, entry.disabled_tools) == (True, "none", ())
    assert cli("contain", "echo", "jail").exit_code != 0
    assert cli("disable", "ainos").exit_code != 0  # ainos itself is not stored


def test_import_registers_and_says_what_is_left_to_do(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@mcp/fs"]},
        "old": {"type": "sse", "url": "https://l.example.com/sse"},
    }}))  # fmt: skip

    result = ok("import", str(config))

    assert [e.id for e in McpRegistry().entries(builtin=False)] == ["files"]
    assert "note: old: skipped" in result.stderr
    again = cli("import", str(config))
    assert again.exit_code != 0
    assert "already registered: files" in str(again.exception)
    ok("import", str(config), "--replace")


@pytest.mark.parametrize("client", ["claude", "cursor", "vscode", "codex"])
def test_config_prints_a_block_the_client_reads(client: str) -> None:
    McpRegistry().add(echo_entry())

    for server_id in ("ainos", "echo"):
        text = ok("config", server_id, "--client", client).stdout
        if client == "codex":
            server = tomllib.loads(text)["mcp_servers"][server_id]
        else:
            key = "servers" if client == "vscode" else "mcpServers"
            server = json.loads(text)[key][server_id]
        expected = "mcp-server" if server_id == "ainos" else client  # run ID --host CLIENT
        assert server["args"][-1] == expected
    default = ok("config", "--client", client).stdout
    assert "ainos" in default
    assert cli("config", "--client", "emacs").exit_code != 0


def test_grants_and_the_audit(tmp_path: Path) -> None:
    McpRegistry().add(echo_entry())

    ok("grants", "grant", "echo", "FileSystemRead", str(tmp_path), "--host", "claude")
    ok("grants", "grant", "echo", "HttpGet")
    listed = json.loads(ok("grants", "list", "--json").stdout)
    assert [(g["host"], g["capability"], g["path"]) for g in listed] == [
        ("claude", "FileSystemRead", str(tmp_path.resolve())),
        ("*", "HttpGet", None),
    ]
    assert json.loads(ok("grants", "--json").stdout) == listed
    ok("grants", "revoke", str(listed[1]["id"]))
    assert len(json.loads(ok("grants", "list", "--server", "echo", "--json").stdout)) == 1
    assert cli("grants", "grant", "nobody", "HttpGet").exit_code != 0
    assert cli("grants", "grant", "echo", "FileSystemRead").exit_code != 0  # no path
    assert cli("grants", "revoke", "99").exit_code != 0

    assert json.loads(ok("audit", "--json").stdout) == []


# -- real processes ------------------------------------------------------------------------


def test_mcp_help_does_not_import_the_sdk() -> None:
    script = (
        "import sys\n"
        "from ainos.app.cli import main\n"
        "code = main(['mcp', '--help'])\n"
        "print('SDK', [m for m in ('mcp', 'mcp_types', 'anyio') if m in sys.modules], code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().endswith("SDK [] 0")
    assert "import" in done.stdout
    assert "grants" in done.stdout


def _run_params(ainos_home: Path, server_id: str, host: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "ainos", "mcp", "run", server_id, "--host", host],
        env={"AINOS_HOME": str(ainos_home)},
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_run_proxies_a_client_through_the_filter(ainos_home: Path, mode: str) -> None:
    McpRegistry().add(echo_entry(disabled_tools=("shout",)))
    info = mcp_types.Implementation(name=f"claude-{mode}", version="1")

    async def session() -> tuple[list[str], str, str]:
        async with Client(
            _run_params(ainos_home, "echo", "claude"), mode=mode, client_info=info
        ) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("echo", {"text": "through ainos"})
            with pytest.raises(MCPError) as refused:
                await client.call_tool("shout", {"text": "no"})
            return names, result.content[0].text, refused.value.error.message  # type: ignore[union-attr]

    names, echoed, refusal = anyio.run(session)

    assert names == ["echo", "read_file", "crash"]
    assert echoed == "through ainos"
    assert "'shout' is disabled" in refusal
    records = AuditLog().records()
    assert [(r.client, r.host, r.tool, r.outcome) for r in records] == [
        (f"claude-{mode}", "claude", "echo", "ok"),
        (f"claude-{mode}", "claude", "shout", "rejected"),
    ]


def test_run_of_a_server_that_dies_at_start_is_one_clear_line(run_ainos: RunAinos) -> None:
    McpRegistry().add(echo_entry("dying", "--die", "3"))

    began = time.monotonic()
    # stdin stays open (a client waiting): the proxy must still end when the server does.
    with subprocess.Popen(
        [sys.executable, "-m", "ainos", "mcp", "run", "dying"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        process.wait(timeout=60)  # stdin not closed
        elapsed = time.monotonic() - began
        assert process.stderr is not None
        err = process.stderr.read()

    assert process.returncode == 1
    assert elapsed < 30
    lines = err.strip().splitlines()
    assert lines[-1] == (
        "ainos: error: MCP server 'dying' exited with status 3; "
        "its stderr ended: echo fixture: told to die at start"
    )
    assert "Traceback" not in err


def test_tools_and_errors_from_the_command_line(run_ainos: RunAinos, tmp_path: Path) -> None:
    McpRegistry().add(echo_entry(disabled_tools=("shout",)))

    listed = run_ainos("mcp", "tools", "echo", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == ["echo", "read_file", "shout", "crash"]
    assert (rows["echo"]["read_only"], rows["shout"]["enabled"]) == (True, False)

    mystery = tmp_path / "mystery.json"
    mystery.write_text('{"nothing": "here"}')
    failed = run_ainos("mcp", "import", str(mystery))
    assert failed.returncode == 2
    assert failed.stderr.strip() == (
        f"ainos: error: {mystery}: unknown format: expected an MCP Registry server.json, a "
        "Claude Desktop or Cursor configuration (mcpServers), a VS Code mcp.json (servers), a "
        "Codex config.toml ([mcp_servers.NAME]), an MCPB manifest"
    )
