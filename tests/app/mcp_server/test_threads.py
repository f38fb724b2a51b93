"""The server's conversations: settings a client chooses laid over the config file, live
threads sharing models, and a released thread resumed from the store with its own
settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.app.mcp_server.fake_provider import MODEL, write_agent_config

from ainos.app.agent import ApprovalPolicy, ConversationStore, ModelChoice
from ainos.app.mcp_server._threads import Conversations, ThreadSettings, _flatten
from ainos.errors import ConfigError, InvalidArgument, NotFound


def test_flatten_makes_dotted_keys() -> None:
    assert _flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": [1], "f": {}}) == {
        "a.b": 1,
        "a.c.d": "x",
        "e": [1],
        "f": {},
    }


@pytest.fixture
def conversations(ainos_home: Path) -> Iterator[Conversations]:
    # The provider is never asked: nothing here runs a turn.
    write_agent_config(ainos_home, "http://127.0.0.1:9/v1", sandbox_mode="workspace-write")
    store = ConversationStore()
    running = Conversations(store, ModelChoice())
    yield running
    running.shutdown()
    store.close()


def test_a_thread_takes_the_config_files_settings(
    conversations: Conversations, tmp_path: Path
) -> None:
    live = conversations.create(ThreadSettings(cwd=tmp_path))
    assert live.config.model == MODEL
    assert live.config.sandbox_mode == "workspace-write"
    assert live.config.approval_policy is ApprovalPolicy.NEVER
    assert live.cwd == tmp_path.resolve()
    assert conversations.live(live.id) is live
    assert conversations.get(live.id) is live
    assert live.busy.locked() is False


def test_the_config_object_and_the_arguments_override_the_file(
    conversations: Conversations, tmp_path: Path
) -> None:
    configured = conversations.create(
        ThreadSettings(
            cwd=tmp_path,
            config={
                "sandbox_mode": "read-only",
                "approval_policy": "untrusted",
                "agent": {"max_steps": 3},
                "sandbox_workspace_write": {"network_access": True},
            },
        )
    )
    assert configured.config.sandbox_mode == "read-only"
    assert configured.config.approval_policy is ApprovalPolicy.UNTRUSTED
    assert configured.config.max_steps == 3
    assert configured.config.network_access is True
    # An argument wins over the config object.
    chosen = conversations.create(
        ThreadSettings(
            cwd=tmp_path,
            sandbox="danger-full-access",
            model="other-model",
            config={"sandbox_mode": "read-only"},
        )
    )
    assert chosen.config.sandbox_mode == "danger-full-access"
    assert chosen.config.model == "other-model"


def test_bad_settings_are_refused(conversations: Conversations, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cwd: not a directory"):
        conversations.create(ThreadSettings(cwd=tmp_path / "missing"))
    with pytest.raises(ConfigError, match="sandbox_mode"):
        conversations.create(ThreadSettings(cwd=tmp_path, config={"sandbox_mode": "open"}))
    with pytest.raises(ConfigError, match="nope"):
        conversations.create(ThreadSettings(cwd=tmp_path, profile="nope"))


def test_threads_share_a_model(conversations: Conversations, tmp_path: Path) -> None:
    one = conversations.create(ThreadSettings(cwd=tmp_path))
    two = conversations.create(ThreadSettings(cwd=tmp_path))
    other = conversations.create(ThreadSettings(cwd=tmp_path, model="other-model"))
    assert one.id != two.id
    assert one.run.session.model is two.run.session.model
    assert other.run.session.model is not one.run.session.model
    assert sorted(conversations.live_ids()) == sorted([one.id, two.id, other.id])


def test_a_released_thread_resumes_with_its_own_settings(
    conversations: Conversations, tmp_path: Path
) -> None:
    started = conversations.create(
        ThreadSettings(
            cwd=tmp_path,
            sandbox="read-only",
            approval_policy="untrusted",
            config={"agent": {"max_steps": 4}, "sandbox_workspace_write": {"writable_roots": []}},
        )
    )
    assert conversations.close(started.id) is True
    assert conversations.live(started.id) is None
    assert conversations.close(started.id) is False
    resumed = conversations.get(started.id)
    assert resumed is not started
    assert resumed.id == started.id
    assert resumed.cwd == started.cwd
    assert resumed.config.sandbox_mode == "read-only"
    assert resumed.config.approval_policy is ApprovalPolicy.UNTRUSTED
    assert resumed.config.max_steps == 4
    assert resumed.config.model == MODEL
    assert resumed.run.resumed is True
    assert conversations.live(started.id) is resumed


def test_an_unknown_thread_is_not_found(conversations: Conversations) -> None:
    with pytest.raises(NotFound):
        conversations.get("ffffffff-no-such-thread")
    assert conversations.live("ffffffff-no-such-thread") is None


def test_shutdown_stops_and_forgets_every_thread(
    conversations: Conversations, tmp_path: Path
) -> None:
    live = conversations.create(ThreadSettings(cwd=tmp_path))
    conversations.shutdown()
    assert live.run.session.context.cancel.is_set()
    assert conversations.live_ids() == []
