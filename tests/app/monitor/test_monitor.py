"""The live views' look at the machine: built from a real runtime (its kernel, a loaded
embedding model), the action log and the conversation store of this home; served by the
daemon's API at /ainos/view and read back with the daemon client."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.api_server import serving_runtime

from ainos.ai.actions import ActionInvocationResult, ActionRuntime
from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL
from ainos.app.agent import ConversationStore
from ainos.app.api import ApiConfig, DaemonApi
from ainos.app.monitor import Monitor, fetch_view
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.kernel.control import ServicesConfig
from ainos.protocol import ClientIdentity, ProcessScan

CONFIG = RuntimeConfig(
    kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
    api=ApiConfig(default_embedding_model=DEFAULT_EMBEDDING_MODEL),
)


def _count_words() -> None:
    actions = ActionRuntime(client_name="monitor-test")
    factory = actions.entity_factory
    context = asyncio.run(
        actions.invoke_action("Ainos.CountWords", {"Text": factory.create_text_entity("a b c")})
    )
    assert context.result is ActionInvocationResult.SUCCESS


def test_a_fresh_home_shows_the_machine_and_creates_no_store(seeded_home: Path) -> None:
    with Runtime(CONFIG) as runtime:
        monitor = Monitor(runtime)
        view = monitor.look()
        monitor.close()
    assert view.source == "in-process"
    assert view.stats.devices.cpu.memory_total_bytes > 0
    assert view.stats.memory_pool is not None
    assert view.stats.memory_pool.total_bytes == 4 * 1024 * 1024
    assert (view.models, view.actions, view.agents) == ([], [], [])
    assert os.getpid() in {p.pid for p in view.processes}  # onnxruntime is loaded here
    assert not list(seeded_home.rglob("*.sqlite3"))
    assert not list(seeded_home.rglob("actions.db"))


def test_a_look_scans_the_processes_once(seeded_home: Path) -> None:
    """A scan reads each process's CPU time since the last scan: a second one right after
    would show a few milliseconds' worth. The view's count and its list are of one scan."""
    with Runtime(CONFIG) as runtime:
        processes = runtime.kernel.processes
        scans: list[int] = []
        scan = processes.scan

        def counted(**options: bool) -> ProcessScan:
            scans.append(1)
            return scan(**options)

        processes.scan = counted  # type: ignore[method-assign]
        monitor = Monitor(runtime)
        view = monitor.look()
        monitor.close()
    assert len(scans) == 1
    assert view.stats.ai_processes == len(view.processes)


def test_models_actions_and_agents_are_shown_newest_first(seeded_home: Path) -> None:
    _count_words()
    _count_words()
    store = ConversationStore()
    idle = store.create_thread(cwd=seeded_home, model="m", provider="local", settings={})
    store.begin_turn(idle.id, "Which file is the largest?")
    store.end_turn(idle.id)
    running = store.create_thread(cwd=seeded_home, model="m", provider="local", settings={})
    store.begin_turn(running.id, "Analyze this codebase")
    with Runtime(CONFIG) as runtime:
        runtime.embeddings.embed(
            DEFAULT_EMBEDDING_MODEL, ["hello"], client=ClientIdentity(name="monitor-test")
        )
        monitor = Monitor(runtime, recent=5)
        view = monitor.look()
        monitor.close()
    store.close()

    (model,) = view.models
    assert (model.alias, model.kind, model.in_flight, model.waiting) == (
        DEFAULT_EMBEDDING_MODEL,
        "embedding",
        0,
        0,
    )
    assert model.engine
    assert "CPUExecutionProvider" in model.engine
    assert [a.action_id for a in view.actions] == ["Ainos.CountWords"] * 2
    assert view.actions[0].started_at >= view.actions[1].started_at
    assert all(a.result == "Success" for a in view.actions)
    assert [(a.thread_id, a.state, a.turns) for a in view.agents] == [
        (running.id, "running", 1),
        (idle.id, "idle", 1),
    ]
    assert view.agents[0].title == "Analyze this codebase"
    assert view.agents[0].owner_pid == os.getpid()
    classes = view.stats.scheduler.classes if view.stats.scheduler else {}
    assert sum(q.completed_total for q in classes.values()) >= 1  # the embedding's job


def test_the_daemon_api_serves_the_view(seeded_home: Path) -> None:
    _count_words()
    with serving_runtime(seeded_home, CONFIG) as http, DaemonApi(http.url) as api:
        view = fetch_view(api)
    assert view.source == "daemon"
    assert [a.action_id for a in view.actions] == ["Ainos.CountWords"]
    assert view.stats.devices.cpu.memory_total_bytes > 0


def test_device_history_is_the_samplers_ring_oldest_first(seeded_home: Path) -> None:
    with Runtime(CONFIG) as runtime:
        sampler = runtime.kernel.sampler
        sampler.wait_for_sample(after=2)
        monitor = Monitor(runtime)
        history = monitor.device_history()
        monitor.close()
    assert len(history) >= 3
    times = [snapshot.timestamp for snapshot in history]
    assert times == sorted(times)
    assert all(snapshot.cpu.memory_total_bytes > 0 for snapshot in history)
