"""``config.toml``, profiles, ``-c key=value`` and CLI flags: precedence and every message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ainos.app.agent._config import (
    AgentConfig,
    ApprovalPolicy,
    config_path,
    load_config,
    parse_override,
)
from ainos.errors import ConfigError
from ainos.paths import config_dir

FILE = """
model = "file-model"
model_provider = "ainos"
approval_policy = "untrusted"
sandbox_mode = "workspace-write"
future_key = "ignored"
profile = "fast"

[model_providers.openai]
name = "OpenAI"
base_url = "https://api.openai.com/v1"
env_key = "AINOS_TEST_OPENAI_KEY"
wire_api = "responses"
http_headers = { "X-Team" = "ainos" }
query_params = { "api-version" = "1" }
request_max_retries = 4   # a Codex key ainos does not use

[model_providers.lm]
base_url = "http://127.0.0.1:1234/v1"

[sandbox_workspace_write]
network_access = true
writable_roots = ["~/scratch", "/opt/out"]

[agent]
max_steps = 5
max_tokens = 1000
max_seconds = 30

[profiles.fast]
model = "fast-model"
approval_policy = "never"

[profiles.remote]
model = "gpt-4.1"
model_provider = "openai"
sandbox_mode = "danger-full-access"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fails(message: str, **kwargs: object) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config(**kwargs)  # type: ignore[arg-type]


def test_defaults_without_a_file() -> None:
    from ainos.ai.ml import DEFAULT_CHAT_MODEL

    config = load_config()
    assert config == AgentConfig(model=DEFAULT_CHAT_MODEL)
    assert config.model_provider == "local"
    assert config.provider is None
    assert config.approval_policy is ApprovalPolicy.ON_REQUEST
    assert config.sandbox_mode == "read-only"
    assert (config.max_steps, config.max_tokens, config.max_seconds) == (12, 32000, 600.0)
    assert config.source is None
    assert config.profile is None
    assert not config.allow_list_only
    assert config_path() == config_dir() / "config.toml"


def test_the_file_and_its_default_profile(tmp_path: Path) -> None:
    config_dir().mkdir(parents=True)
    config_path().write_text(FILE, encoding="utf-8")
    config = load_config()
    assert config.source == config_path()
    assert config.profile == "fast"
    assert config.model == "fast-model"  # the profile over the top level
    assert config.approval_policy is ApprovalPolicy.NEVER
    assert config.model_provider == "ainos"  # the top level where the profile is silent
    assert config.sandbox_mode == "workspace-write"
    assert config.network_access is True
    assert config.writable_roots == (Path("~/scratch").expanduser(), Path("/opt/out"))
    assert (config.max_steps, config.max_tokens, config.max_seconds) == (5, 1000, 30.0)
    assert config.provider is None  # a built-in provider


def test_profile_argument_and_configured_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, FILE)
    config = load_config(path=path, profile="remote")
    assert (config.profile, config.model, config.model_provider) == ("remote", "gpt-4.1", "openai")
    assert config.approval_policy is ApprovalPolicy.UNTRUSTED  # from the top level
    assert config.sandbox_mode == "danger-full-access"
    provider = config.provider
    assert provider is not None
    assert (provider.id, provider.name, provider.base_url) == (
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
    )
    assert provider.wire_api == "responses"
    assert provider.http_headers == {"X-Team": "ainos"}
    assert provider.query_params == {"api-version": "1"}

    monkeypatch.delenv("AINOS_TEST_OPENAI_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^model provider 'openai' .* AINOS_TEST_OPENAI_KEY,"):
        provider.api_key()
    monkeypatch.setenv("AINOS_TEST_OPENAI_KEY", "sk-test")
    assert provider.api_key() == "sk-test"

    local = load_config(path=path, overrides=["model_provider=lm"]).provider
    assert local is not None
    assert (local.name, local.wire_api, local.env_key) == ("lm", "chat", None)
    assert local.api_key() is None  # a local server needs no key


def test_overrides_beat_the_profile_and_flags_beat_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    config = load_config(
        path=path,
        overrides=["model=from-c", "approval_policy=on-failure", "agent.max_steps=7"],
    )
    assert config.model == "from-c"
    assert config.approval_policy is ApprovalPolicy.ON_FAILURE
    assert config.max_steps == 7
    config = load_config(
        path=path,
        overrides=["model=from-c", "sandbox_mode=read-only"],
        cli={"model": "from-flag", "sandbox_mode": None, "approval_policy": "on-request"},
    )
    assert config.model == "from-flag"
    assert config.sandbox_mode == "read-only"  # a None flag was not given
    assert config.approval_policy is ApprovalPolicy.ON_REQUEST
    # later -c wins over earlier -c
    assert load_config(path=path, overrides=["model=a", "model=b"]).model == "b"


def test_dotted_overrides_build_tables(tmp_path: Path) -> None:
    config = load_config(
        path=tmp_path / "missing.toml",
        overrides=[
            "model_providers.mine.base_url=http://localhost:8080/v1",
            "model_providers.mine.wire_api=chat",
            'model_providers.mine.http_headers={ "A" = "b" }',
            "model_provider=mine",
            "sandbox_workspace_write.network_access=true",
            "sandbox_workspace_write.writable_roots=['relative/dir']",
            "approvals_allow_list_only=true",
            "agent.max_seconds=1.5",
            "model=llama3",
        ],
    )
    assert config.provider is not None
    assert config.provider.base_url == "http://localhost:8080/v1"
    assert config.provider.http_headers == {"A": "b"}
    assert config.network_access is True
    assert config.writable_roots == (Path.cwd() / "relative/dir",)
    assert config.allow_list_only is True
    assert config.max_seconds == 1.5
    assert config.source is None


def test_profile_chosen_by_an_override(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    assert load_config(path=path, overrides=["profile=remote"]).model == "gpt-4.1"
    # an override may also edit the chosen profile
    config = load_config(path=path, overrides=["profiles.fast.model=edited"])
    assert config.model == "edited"
    # a profile's own tables merge over the top level's, key by key
    nested = write(
        tmp_path,
        "[agent]\nmax_steps = 3\nmax_tokens = 99\n[profiles.p.agent]\nmax_steps = 4\n",
        "nested.toml",
    )
    config = load_config(path=nested, profile="p")
    assert (config.max_steps, config.max_tokens) == (4, 99)
    zero = write(tmp_path, nested.read_text().replace("= 4", "= 0"), "zero.toml")
    fails(f"{zero}: profiles.p.agent.max_steps: must be at least 1, got 0", path=zero, profile="p")
    # and the --profile argument beats them all
    assert load_config(path=path, profile="fast", overrides=["profile=remote"]).profile == "fast"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("flag=true", (("flag",), True)),
        ("n=42", (("n",), 42)),
        ("x=1.5", (("x",), 1.5)),
        ("model=gpt-4.1", (("model",), "gpt-4.1")),  # not TOML: the plain string
        ("model=o3", (("model",), "o3")),
        ('model="quoted"', (("model",), "quoted")),
        ("  a.b.c =  value with spaces ", (("a", "b", "c"), "value with spaces")),
        ("list=['a', 1]", (("list",), ["a", 1])),
        ("t={ k = 1 }", (("t",), {"k": 1})),
        ("eq=a=b", (("eq",), "a=b")),
        ("empty=", (("empty",), "")),
    ],
)
def test_parse_override(text: str, parsed: tuple[tuple[str, ...], object]) -> None:
    assert parse_override(text) == parsed


def test_override_syntax_errors() -> None:
    fails("-c 'model': expected key=value", overrides=["model"])
    fails(
        "-c 'a..b=1': 'a..b' is not a key (dotted names like agent.max_steps)",
        overrides=["a..b=1"],
    )
    fails("-c '=1': '' is not a key (dotted names like agent.max_steps)", overrides=["=1"])


def test_validation_messages(tmp_path: Path) -> None:
    bad = write(tmp_path, 'approval_policy = "sometimes"\n')
    fails(
        f"{bad}: approval_policy: unknown value 'sometimes'"
        " (allowed: untrusted, on-failure, on-request, never)",
        path=bad,
    )
    fails(
        "-c sandbox_mode: unknown value 'read_only'"
        " (allowed: read-only, workspace-write, danger-full-access)",
        overrides=["sandbox_mode=read_only"],
    )
    fails(
        "command line: sandbox_mode: unknown value 'open'"
        " (allowed: read-only, workspace-write, danger-full-access)",
        cli={"sandbox_mode": "open"},
    )
    fails(
        "-c agent.max_steps: expected an integer, got a string ('many')",
        overrides=["agent.max_steps=many"],
    )
    fails("-c agent.max_steps: must be at least 1, got 0", overrides=["agent.max_steps=0"])
    fails(
        "-c agent.max_seconds: expected a number, got a boolean (true)",
        overrides=["agent.max_seconds=true"],
    )
    typed = write(tmp_path, "model = 3\n", "typed.toml")
    fails(f"{typed}: model: expected a string, got an integer (3)", path=typed)
    roots = write(tmp_path, "[sandbox_workspace_write]\nwritable_roots = '/tmp'\n", "r.toml")
    fails(
        f"{roots}: sandbox_workspace_write.writable_roots: expected an array of paths,"
        " got a string ('/tmp')",
        path=roots,
    )
    flag = write(tmp_path, "[sandbox_workspace_write]\nnetwork_access = 'yes'\n", "n.toml")
    fails(
        f"{flag}: sandbox_workspace_write.network_access: expected a boolean (true or false),"
        " got a string ('yes')",
        path=flag,
    )


def test_profile_errors(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    fails(
        f"--profile: unknown profile 'slow' (known in {path}: fast, remote)",
        path=path,
        profile="slow",
    )
    chosen = write(tmp_path, 'profile = "gone"\n[profiles.here]\nmodel = "m"\n', "p.toml")
    fails(f"{chosen}: profile: unknown profile 'gone' (known in {chosen}: here)", path=chosen)
    missing = tmp_path / "none.toml"
    fails(
        f"--profile: unknown profile 'x' (no config file at {missing})", path=missing, profile="x"
    )
    fails(
        f"-c profile: unknown profile 'x' (no config file at {missing})",
        path=missing,
        overrides=["profile=x"],
    )
    broken = write(tmp_path, 'profile = "p"\nprofiles = 3\n', "b.toml")
    fails(f"{broken}: profiles: expected a table, got an integer", path=broken)
    inner = write(tmp_path, '[profiles.p]\nsandbox_mode = "nope"\n', "i.toml")
    fails(
        f"{inner}: profiles.p.sandbox_mode: unknown value 'nope'"
        " (allowed: read-only, workspace-write, danger-full-access)",
        path=inner,
        profile="p",
    )


def test_provider_errors(tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    fails(
        "-c profiles.fast.model_provider: unknown model provider 'opnai'"
        " (built-in: local, ainos; configured: lm, openai)",
        path=path,
        overrides=["profiles.fast.model_provider=opnai"],
    )
    top = write(tmp_path, 'model_provider = "opnai"\n', "top.toml")
    fails(
        f"{top}: model_provider: unknown model provider 'opnai'"
        " (built-in: local, ainos; configured: none)",
        path=top,
    )
    missing = tmp_path / "none.toml"
    fails(
        "-c model_provider: unknown model provider 'openai'"
        " (built-in: local, ainos; configured: none)",
        path=missing,
        overrides=["model_provider=openai"],
    )
    typo = write(tmp_path, '[model_providers.x]\nbase_ur1 = "http://h"\n', "t.toml")
    fails(
        f"{typo}: model_providers.x.base_ur1: unknown key"
        " (known keys: base_url, env_key, http_headers, name, query_params, wire_api)",
        path=typo,
        overrides=["model_provider=x"],
    )
    fails(
        "-c model_providers.x: a model provider needs a base_url",  # -c replaced the table
        path=typo,
        overrides=["model_provider=x", "model_providers.x={}"],
    )
    fails(
        "-c model_providers.x.base_url: expected an http(s) URL, got 'localhost:80'",
        path=missing,
        overrides=["model_provider=x", "model_providers.x.base_url=localhost:80"],
    )
    fails(
        "-c model_providers.x.wire_api: unknown value 'grpc' (allowed: responses, chat)",
        path=missing,
        overrides=[
            "model_provider=x",
            "model_providers.x.base_url=http://h",
            "model_providers.x.wire_api=grpc",
        ],
    )
    shadow = write(tmp_path, '[model_providers.local]\nbase_url = "http://h"\n', "s.toml")
    fails(
        f"{shadow}: model_providers.local: 'local' is a built-in provider; pick another name",
        path=shadow,
    )


def test_typos_in_our_tables_are_errors_but_unknown_top_level_keys_are_not(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, FILE)
    assert load_config(path=path, overrides=["model_reasoning_effort=high"]).model == "fast-model"
    fails(
        "-c agent.max_step: unknown key (known keys: max_seconds, max_steps, max_tokens)",
        path=path,
        overrides=["agent.max_step=3"],
    )
    typo = write(tmp_path, "[sandbox_workspace_write]\nnetwork_acces = true\n", "typo.toml")
    fails(
        f"{typo}: sandbox_workspace_write.network_acces: unknown key"
        " (known keys: network_access, writable_roots)",
        path=typo,
    )
    codex = write(tmp_path, "[sandbox_workspace_write]\nexclude_slash_tmp = true\n", "c.toml")
    assert load_config(path=codex).network_access is False


def test_malformed_files(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "unterminated\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: invalid TOML: .*line 1"):
        load_config(path=path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"model = '\xff'\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(binary))}: not UTF-8 text"):
        load_config(path=binary)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path))}: cannot read"):
        load_config(path=tmp_path)  # a directory


def test_settings_are_plain_json(tmp_path: Path) -> None:
    import json

    config = load_config(path=write(tmp_path, FILE), profile="remote")
    settings = config.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings["approval_policy"] == "untrusted"
    assert settings["profile"] == "remote"
