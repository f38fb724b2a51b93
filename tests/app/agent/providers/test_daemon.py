"""DaemonModel and ensure_daemon: a real daemon started as the agent would start it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.app.agent._model import ModelRequest
from ainos.app.agent.providers import DaemonModel, ensure_daemon
from ainos.errors import AgentError
from ainos.kernel.control import Client, DaemonUnavailable
from ainos.protocol.scheduler import Priority

CLIENT = "agent-provider-test"


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    """A socket of the test's own; whatever daemon answers on it at the end is stopped."""
    path = tmp_path / "run" / "control.sock"
    yield path
    try:
        with Client(path, timeout=10) as client:
            pid = client.version().pid
    except DaemonUnavailable:
        return
    os.kill(pid, signal.SIGTERM)
    psutil.Process(pid).wait(60)


def test_no_daemon_and_no_start_is_none(socket_path: Path) -> None:
    assert ensure_daemon(socket_path, start=False) is None


def test_a_daemon_that_dies_at_start_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(AgentError, match="the daemon exited as it started") as caught:
        ensure_daemon(blocker / "control.sock", start=True, timeout_s=60)
    assert "\n" not in str(caught.value)
    assert "log:" in str(caught.value)


@pytest.mark.slow
def test_ensure_daemon_starts_one_and_completions_go_through_it(socket_path: Path) -> None:
    assert ensure_daemon(socket_path, start=False) is None
    url = ensure_daemon(socket_path, start=True, timeout_s=120)
    assert url is not None
    assert url.startswith("http://127.0.0.1:")
    assert ensure_daemon(socket_path, start=False) == url  # found now, not started again

    model = DaemonModel(DEFAULT_CHAT_MODEL, url, priority=Priority.REALTIME, client_name=CLIENT)
    traits = model.traits  # loads the model in the daemon
    assert (traits.native_tools, traits.small) == (False, True)
    assert traits.context_tokens is not None
    assert traits.context_tokens > 0
    pieces: list[str] = []
    reply = model.complete(
        ModelRequest(
            messages=[{"role": "user", "content": "Say hello."}],
            temperature=0,
            max_output_tokens=12,
        ),
        pieces.append,
    )
    model.close()
    assert reply.text
    assert "".join(pieces) == reply.text
    assert reply.usage.output_tokens > 0

    with Client(socket_path, timeout=10) as client:
        stats = client.get_scheduler_stats().stats
    assert stats.clients[CLIENT].completed_total >= 1  # x-ainos-client
    assert stats.classes[Priority.REALTIME].completed_total >= 1  # X-Ainos-Priority
