"""The agent's configuration: ``config.toml`` (Codex's keys), profiles, ``-c key=value``.

Precedence, lowest to highest: built-in defaults, the file's top level, the selected profile
(``--profile``, else the file's ``profile``), ``-c`` overrides (dotted keys, each value read
as TOML and, failing that, taken as a plain string — as Codex does), then explicit CLI flags.
Every fault is reported as one :class:`ConfigError` naming where the value came from (the
file, ``-c`` or the command line), the dotted key, and what is wrong with it.

Unknown keys at the top level and inside a profile are ignored: Codex's file has many more
(``model_reasoning_effort``, ``mcp_servers``, ``tui`` …) and a config shared with Codex, or
written for a later ainos, must still load. Inside the tables whose whole schema is ours —
a ``[model_providers.X]`` entry, ``[sandbox_workspace_write]``, ``[agent]`` — an unknown key
is an error instead: a typo there (``network_acces = true``, ``base_ur1``, ``max_step``)
would otherwise silently keep a sandbox closed or open, or send requests elsewhere, and
those are exactly the mistakes a user must hear about. Keys Codex defines in those tables
that ainos does not use are accepted and ignored.

This module imports only the standard library (the CLI reads it on every start).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from ainos._json import json_kind
from ainos.errors import ConfigError
from ainos.paths import config_dir

__all__ = [
    "BUILTIN_PROVIDERS",
    "SANDBOX_MODES",
    "AgentConfig",
    "ApprovalPolicy",
    "ProviderConfig",
    "WireApi",
    "config_path",
    "load_config",
    "parse_override",
]

WireApi = Literal["responses", "chat"]


class ApprovalPolicy(StrEnum):
    """When the agent asks before running a command (Codex's ``approval_policy``)."""

    UNTRUSTED = "untrusted"  # ask for anything not known to be safe
    ON_FAILURE = "on-failure"  # run sandboxed; ask to retry unsandboxed when it fails
    ON_REQUEST = "on-request"  # the model decides when to ask
    NEVER = "never"  # never ask; failures go back to the model


SANDBOX_MODES: tuple[str, ...] = ("read-only", "workspace-write", "danger-full-access")
BUILTIN_PROVIDERS: tuple[str, ...] = ("local", "ainos")
_WIRE_APIS: tuple[str, ...] = ("responses", "chat")

DEFAULT_PROVIDER = "local"
DEFAULT_APPROVAL = ApprovalPolicy.ON_REQUEST
DEFAULT_SANDBOX = "read-only"
DEFAULT_MAX_STEPS = 12
DEFAULT_MAX_TOKENS = 32_000
DEFAULT_MAX_SECONDS = 600.0

# The keys of our own tables; a key outside these is a typo (see the module docstring).
_PROVIDER_KEYS = frozenset(
    {"name", "base_url", "env_key", "wire_api", "query_params", "http_headers"}
)
_CODEX_PROVIDER_KEYS = frozenset(
    {
        "env_key_instructions",
        "env_http_headers",
        "request_max_retries",
        "stream_max_retries",
        "stream_idle_timeout_ms",
        "requires_openai_auth",
        "experimental_bearer_token",
    }
)
_SANDBOX_KEYS = frozenset({"network_access", "writable_roots"})
_CODEX_SANDBOX_KEYS = frozenset({"exclude_tmpdir_env_var", "exclude_slash_tmp"})
_AGENT_KEYS = frozenset({"max_steps", "max_tokens", "max_seconds"})

_Origin = tuple[str, str]  # (a file, "-c" or "command line"; the dotted key there)
_Path = tuple[str, ...]
_T = TypeVar("_T")


def config_path() -> Path:
    """``config_dir()/config.toml``."""
    return config_dir() / "config.toml"


@dataclass(frozen=True)
class ProviderConfig:
    """A ``[model_providers.<id>]`` entry: an OpenAI-compatible endpoint."""

    id: str
    name: str
    base_url: str
    env_key: str | None = None
    wire_api: WireApi = "chat"
    query_params: Mapping[str, str] = field(default_factory=dict)
    http_headers: Mapping[str, str] = field(default_factory=dict)

    def api_key(self) -> str | None:
        """The key from the ``env_key`` variable; ``None`` when no variable is configured
        (local servers need none)."""
        if not self.env_key:
            return None
        value = os.environ.get(self.env_key, "").strip()
        if not value:
            raise ConfigError(
                f"model provider {self.id!r} takes its API key from the environment variable "
                f"{self.env_key}, which is not set"
            )
        return value


@dataclass(frozen=True)
class AgentConfig:
    model: str
    model_provider: str = DEFAULT_PROVIDER
    provider: ProviderConfig | None = None  # for a configured (not built-in) provider
    approval_policy: ApprovalPolicy = DEFAULT_APPROVAL
    sandbox_mode: str = DEFAULT_SANDBOX
    network_access: bool = False
    writable_roots: tuple[Path, ...] = ()
    max_steps: int = DEFAULT_MAX_STEPS
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_seconds: float = DEFAULT_MAX_SECONDS
    profile: str | None = None
    allow_list_only: bool = False
    source: Path | None = None  # the config file read, if there was one

    def settings(self) -> dict[str, object]:
        """The effective settings as plain JSON values (what a conversation records)."""
        return {
            "model": self.model,
            "model_provider": self.model_provider,
            "approval_policy": self.approval_policy.value,
            "sandbox_mode": self.sandbox_mode,
            "network_access": self.network_access,
            "writable_roots": [str(root) for root in self.writable_roots],
            "max_steps": self.max_steps,
            "max_tokens": self.max_tokens,
            "max_seconds": self.max_seconds,
            "profile": self.profile,
            "allow_list_only": self.allow_list_only,
        }


# -- reading the sources ----------------------------------------------------------------


def _read_file(path: Path) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def parse_override(text: str) -> tuple[_Path, Any]:
    """``a.b=value`` → ``(("a", "b"), value)``: the value read as TOML, else the string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep:
        raise ConfigError(f"-c {text!r}: expected key=value")
    parts = tuple(part.strip() for part in key.split("."))
    if not key or any(not part for part in parts):
        raise ConfigError(f"-c {text!r}: {key!r} is not a key (dotted names like agent.max_steps)")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw  # Codex's fallback: `-c model=o3` means the string "o3"
    return parts, value


class _Layers:
    """Values laid over one another, remembering where each came from: for each node set,
    its source (a file, ``-c``, ``command line``) and its dotted key as written there."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._origins: dict[_Path, _Origin] = {}

    def _forget(self, path: _Path) -> None:
        for known in [p for p in self._origins if p[: len(path)] == path]:
            del self._origins[known]

    def overlay(self, values: Mapping[str, Any], where: str, written: _Path = ()) -> None:
        """Merge ``values`` (tables merge key by key; anything else replaces) at the root;
        ``written`` is where they sit in their source (``profiles.fast``)."""

        def merge(target: dict[str, Any], values: Mapping[str, Any], path: _Path) -> None:
            for key, value in values.items():
                here = (*path, key)
                if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                    merge(target[key], value, here)
                    continue
                self._forget(here)
                target[key] = _copy(value)
                self._origins[here] = (where, ".".join((*written, *here)))

        merge(self.data, values, ())

    def set(self, path: _Path, value: Any, where: str) -> None:
        """Replace the value at a dotted path, as ``-c`` does (tables on the way are made)."""
        node = self.data
        for depth, key in enumerate(path[:-1]):
            if not isinstance(node.get(key), dict):
                self._forget(path[: depth + 1])
                node[key] = {}
            node = node[key]
        self._forget(path)
        node[path[-1]] = _copy(value)
        self._origins[path] = (where, ".".join(path))

    def graft(self, source: _Layers, at: _Path = (), exclude: frozenset[str] = frozenset()) -> None:
        """Merge ``source``'s table at ``at`` over the root, keeping each value's origin."""
        subtree = source.get(at)
        if not isinstance(subtree, dict):
            return

        def merge(target: dict[str, Any], values: dict[str, Any], path: _Path) -> None:
            for key, value in values.items():
                here = (*path, key)
                if not path and key in exclude:
                    continue
                if isinstance(value, dict) and isinstance(target.get(key), dict):
                    merge(target[key], value, here)
                    continue
                self._forget(here)
                target[key] = _copy(value)
                self._origins[here] = source.where((*at, *here))
                for known, origin in source._origins.items():
                    if len(known) > len(at) + len(here) and known[: len(at) + len(here)] == (
                        *at,
                        *here,
                    ):
                        self._origins[known[len(at) :]] = origin

        merge(self.data, subtree, ())

    def get(self, path: _Path) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def where(self, path: _Path) -> _Origin:
        """(the source, the dotted key as written there) of the value at ``path``."""
        for length in range(len(path), 0, -1):
            origin = self._origins.get(path[:length])
            if origin is not None:
                rest = ".".join(path[length:])
                return origin[0], f"{origin[1]}.{rest}" if rest else origin[1]
        return "built-in defaults", ".".join(path)

    def error(self, path: _Path, fault: str) -> ConfigError:
        return ConfigError(f"{_at(*self.where(path))}: {fault}")


def _at(where: str, key: str) -> str:
    """How a message names a key: ``-c agent.max_steps``, ``/…/config.toml: model``."""
    return f"-c {key}" if where == "-c" else f"{where}: {key}"


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# -- validation -------------------------------------------------------------------------


def _kind(value: object) -> str:
    """A TOML value's type as messages name it: JSON's names, but tables and dates."""
    if isinstance(value, bool | int | float | str | list):
        return json_kind(value)
    if isinstance(value, Mapping):
        return "a table"
    return "a date or time"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)
    return _kind(value)


class _Reader:
    """Typed access to the merged values; every fault names its source."""

    def __init__(self, layers: _Layers) -> None:
        self.layers = layers

    def get(self, path: _Path) -> Any:
        return self.layers.get(path)

    def fault(self, path: _Path, fault: str) -> ConfigError:
        return self.layers.error(path, fault)

    def wrong_type(self, path: _Path, expected: str, value: object) -> ConfigError:
        return self.fault(path, f"expected {expected}, got {_kind(value)} ({_shown(value)})")

    def string(self, path: _Path, default: _T) -> str | _T:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.wrong_type(path, "a string", value)
        if not value.strip():
            raise self.fault(path, "must not be empty")
        return value

    def choice(self, path: _Path, allowed: Sequence[str], default: str) -> str:
        value = self.string(path, default)
        if value not in allowed:
            raise self.fault(path, f"unknown value {value!r} (allowed: {', '.join(allowed)})")
        return value

    def boolean(self, path: _Path, default: bool) -> bool:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.wrong_type(path, "a boolean (true or false)", value)
        return value

    def integer(self, path: _Path, default: int) -> int:
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(path, "an integer", value)
        if value < 1:
            raise self.fault(path, f"must be at least 1, got {value}")
        return value

    def number(self, path: _Path, default: float) -> float:
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.wrong_type(path, "a number", value)
        if not value > 0 or value == float("inf"):
            raise self.fault(path, f"must be a finite number above 0, got {value}")
        return float(value)

    def table(self, path: _Path, keys: frozenset[str], ignored: frozenset[str]) -> dict[str, Any]:
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.wrong_type(path, "a table", value)
        for key in value:
            if key not in keys and key not in ignored:
                known = ", ".join(sorted(keys))
                raise self.fault((*path, key), f"unknown key (known keys: {known})")
        return value

    def string_table(self, path: _Path) -> dict[str, str]:
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.wrong_type(path, "a table of strings", value)
        for key, item in value.items():
            if not isinstance(item, str):
                raise self.wrong_type((*path, key), "a string", item)
        return dict(value)

    def paths(self, path: _Path) -> tuple[Path, ...]:
        value = self.get(path)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.wrong_type(path, "an array of paths", value)
        roots: list[Path] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.wrong_type((*path, str(index)), "a path (a non-empty string)", item)
            # Relative roots are taken from the current directory (the project).
            roots.append(Path(os.path.abspath(Path(os.path.expandvars(item)).expanduser())))
        return tuple(roots)


def _provider(reader: _Reader, provider_id: str) -> ProviderConfig:
    path = ("model_providers", provider_id)
    reader.table(path, _PROVIDER_KEYS, _CODEX_PROVIDER_KEYS)
    base_url = reader.string((*path, "base_url"), None)
    if base_url is None:
        raise reader.fault(path, "a model provider needs a base_url")
    if not base_url.startswith(("http://", "https://")):
        raise reader.fault((*path, "base_url"), f"expected an http(s) URL, got {base_url!r}")
    wire_api = reader.choice((*path, "wire_api"), _WIRE_APIS, "chat")
    return ProviderConfig(
        id=provider_id,
        name=reader.string((*path, "name"), provider_id),
        base_url=base_url,
        env_key=reader.string((*path, "env_key"), None),
        wire_api="responses" if wire_api == "responses" else "chat",
        query_params=reader.string_table((*path, "query_params")),
        http_headers=reader.string_table((*path, "http_headers")),
    )


def _default_model() -> str:
    # Imported only when no source names a model: ``ainos.ai.ml`` takes a second to load.
    from ainos.ai.ml import DEFAULT_CHAT_MODEL

    return DEFAULT_CHAT_MODEL


def load_config(
    *,
    profile: str | None = None,
    overrides: Sequence[str] = (),
    path: Path | None = None,
    cli: Mapping[str, object] | None = None,
) -> AgentConfig:
    """The effective configuration (see the module docstring for the precedence)."""
    source = path if path is not None else config_path()
    document = _read_file(source)
    parsed = [parse_override(text) for text in overrides]
    flags = [(tuple(key.split(".")), value) for key, value in (cli or {}).items()]
    flags = [(keys, value) for keys, value in flags if value is not None]

    # The file with the -c overrides set into it (so `-c profiles.fast.model=x` edits the
    # profile, and `-c profile=fast` chooses it).
    whole = _Layers()
    whole.overlay(document or {}, str(source))
    for keys, value in parsed:
        whole.set(keys, value, "-c")
    for keys, value in flags:
        if keys[0] == "profile":
            whole.set(keys, value, "command line")

    profiles = whole.get(("profiles",))
    if profiles is not None and not isinstance(profiles, dict):
        raise whole.error(("profiles",), f"expected a table, got {_kind(profiles)}")
    known = sorted(profiles or {})
    name: object = profile
    chosen_at = "--profile"
    if name is None and whole.get(("profile",)) is not None:
        name, chosen_at = whole.get(("profile",)), _at(*whole.where(("profile",)))
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{chosen_at}: expected a profile name, got {_shown(name)}")
        if name not in known:
            if document is None and not known:
                hint = f"no config file at {source}"
            else:
                hint = f"known in {source}: {', '.join(known) or 'none'}"
            raise ConfigError(f"{chosen_at}: unknown profile {name!r} ({hint})")
        if not isinstance(whole.get(("profiles", name)), dict):
            value = whole.get(("profiles", name))
            raise whole.error(("profiles", name), f"expected a table, got {_kind(value)}")

    # Defaults < the file < the profile < -c < flags.
    layers = _Layers()
    layers.graft(whole, (), exclude=frozenset({"profile", "profiles"}))
    if name is not None:
        layers.graft(whole, ("profiles", str(name)), exclude=frozenset({"profile", "profiles"}))
    for keys, value in parsed:
        if keys[0] not in ("profile", "profiles"):
            layers.set(keys, value, "-c")
    for keys, value in flags:
        if keys[0] not in ("profile", "profiles"):
            layers.set(keys, value, "command line")
    profile_name = name if isinstance(name, str) else None
    return _build(_Reader(layers), profile_name, source if document is not None else None)


def _build(reader: _Reader, profile: str | None, source: Path | None) -> AgentConfig:
    model = reader.string(("model",), None)
    provider_id = reader.string(("model_provider",), DEFAULT_PROVIDER)

    configured = reader.get(("model_providers",))
    if configured is None:
        configured = {}
    if not isinstance(configured, dict):
        raise reader.wrong_type(("model_providers",), "a table of providers", configured)
    for builtin in BUILTIN_PROVIDERS:
        if builtin in configured:
            raise reader.fault(
                ("model_providers", builtin),
                f"{builtin!r} is a built-in provider; pick another name",
            )
    provider: ProviderConfig | None = None
    if provider_id in configured:
        provider = _provider(reader, provider_id)
    elif provider_id not in BUILTIN_PROVIDERS:
        mine = ", ".join(sorted(configured)) or "none"
        raise reader.fault(
            ("model_provider",),
            f"unknown model provider {provider_id!r} "
            f"(built-in: {', '.join(BUILTIN_PROVIDERS)}; configured: {mine})",
        )

    approval = reader.choice(
        ("approval_policy",), [p.value for p in ApprovalPolicy], DEFAULT_APPROVAL.value
    )
    sandbox = reader.choice(("sandbox_mode",), SANDBOX_MODES, DEFAULT_SANDBOX)
    reader.table(("sandbox_workspace_write",), _SANDBOX_KEYS, _CODEX_SANDBOX_KEYS)
    reader.table(("agent",), _AGENT_KEYS, frozenset())
    return AgentConfig(
        model=model if model is not None else _default_model(),
        model_provider=provider_id,
        provider=provider,
        approval_policy=ApprovalPolicy(approval),
        sandbox_mode=sandbox,
        network_access=reader.boolean(("sandbox_workspace_write", "network_access"), False),
        writable_roots=reader.paths(("sandbox_workspace_write", "writable_roots")),
        max_steps=reader.integer(("agent", "max_steps"), DEFAULT_MAX_STEPS),
        max_tokens=reader.integer(("agent", "max_tokens"), DEFAULT_MAX_TOKENS),
        max_seconds=reader.number(("agent", "max_seconds"), DEFAULT_MAX_SECONDS),
        profile=profile,
        allow_list_only=reader.boolean(("approvals_allow_list_only",), False),
        source=source,
    )
