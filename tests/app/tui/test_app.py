"""ainos top's screen, driven headless by textual's pilot over views of a real runtime (its
kernel, a loaded embedding model, the action log and conversation store of the test's
home): every panel, the sort and filter keys, the pace keys, a failing look, a resize."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from tests.app.tui.helpers import FedSource, column, load_embedding_model, text, wait_for
from textual.widgets import ProgressBar, Sparkline

from ainos.ai.actions import ActionInvocationResult, ActionRuntime
from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL
from ainos.app.agent import ConversationStore
from ainos.app.monitor import Monitor
from ainos.app.runtime import Runtime
from ainos.app.tui import TopApp
from ainos.app.tui._panels import DeviceMeter, TablePanel
from ainos.errors import AinosError
from ainos.kernel._fake_nvml import FakePynvml
from ainos.kernel.nvml import open_nvml
from ainos.kernel.telemetry import Sampler
from ainos.protocol.monitor import MachineView

pytestmark = pytest.mark.anyio


def _table(app: TopApp, panel: str) -> TablePanel:
    return app.query_one(f"#{panel}", TablePanel)


def _pids(app: TopApp) -> list[int]:
    return [int(str(row.key.value)) for row in app.processes_table().ordered_rows]


async def _count_words() -> None:
    actions = ActionRuntime(client_name="tui-test")
    text_entity = actions.entity_factory.create_text_entity("one two three")
    context = await actions.invoke_action("Ainos.CountWords", {"Text": text_entity})
    assert context.result is ActionInvocationResult.SUCCESS


async def test_every_panel_shows_the_runtimes_view(
    runtime: Runtime, monitor: Monitor, seeded_home: Path
) -> None:
    load_embedding_model(runtime)
    await _count_words()
    store = ConversationStore()
    thread = store.create_thread(cwd=seeded_home, model="m", provider="local", settings={})
    store.begin_turn(thread.id, "Analyze this codebase")
    source = FedSource(monitor.look)
    app = TopApp(source, refresh_s=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(app.history.utilization("cpu")) >= 3, "3 looks")
            view = app.view
            assert view is not None
            assert "fed by the test" in text(app, "#header")
            assert "every 0.1 s" in text(app, "#header")

            cpu = app.query_one("#device-cpu", DeviceMeter)
            assert text(app, "#device-cpu .summary").startswith("cpu ")
            util = cpu.query_one(".util", Sparkline).data
            assert util is not None
            assert len(util) >= 3
            assert list(util) == app.history.utilization("cpu")

            pool = view.stats.memory_pool
            assert pool is not None
            assert "/ 4.0 MiB" in text(app, "#pool .summary")
            assert app.query_one("#pool ProgressBar", ProgressBar).total == pool.total_bytes

            scheduler = view.stats.scheduler
            assert scheduler is not None
            classes = _table(app, "classes").table
            assert column(classes, 0) == [
                str(p) for p in sorted(scheduler.classes, key=lambda p: p.rank)
            ]
            busy = {str(p): q for p, q in scheduler.classes.items() if q.batch_sizes}
            assert busy, "the embedding ran as a scheduled job"
            for name, queue in busy.items():
                row = column(classes, 0).index(name)
                rows = sum(size * count for size, count in queue.batch_sizes.items())
                mean = rows / sum(queue.batch_sizes.values())
                assert column(classes, 4)[row] == f"{mean:.1f}"
                assert column(classes, 6)[row] == str(queue.completed_total)

            assert os.getpid() in _pids(app)  # this process has onnxruntime loaded

            models = _table(app, "models").table
            assert column(models, 0) == [DEFAULT_EMBEDDING_MODEL]
            assert column(models, 1) == ["embedding"]

            agents = _table(app, "agents").table
            assert column(agents, 0) == ["running"]
            assert column(agents, 1) == ["Analyze this codebase"]
            assert column(agents, 4) == [str(os.getpid())]

            actions = _table(app, "actions").table
            assert column(actions, 0) == ["Ainos.CountWords"]
            assert column(actions, 1) == ["Success"]
            assert "0 agents running" not in text(app, "#status")
    finally:
        store.close()


async def test_a_gpu_shows_its_power_and_temperature(monitor: Monitor) -> None:
    # No GPU here: NVML's fake stands in for the driver, read by the real sampler.
    nvml = open_nvml(FakePynvml())
    assert nvml is not None
    gpus = Sampler(nvml=nvml).sample_now().gpus
    nvml.close()

    def look() -> MachineView:
        view = monitor.look()
        devices = view.stats.devices.model_copy(update={"gpus": gpus})
        return view.model_copy(update={"stats": view.stats.model_copy(update={"devices": devices})})

    app = TopApp(FedSource(look), refresh_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.history.memory("gpu:0")) >= 2, "two GPU looks")
        meter = app.query_one("#device-gpu-0", DeviceMeter)
        summary = text(app, "#device-gpu-0 .summary")
        (gpu,) = gpus
        assert summary.startswith(f"gpu:0 {gpu.name}")
        assert f"{gpu.power_watts:.0f} W" in summary
        assert f"{gpu.temperature_celsius:.0f} °C" in summary
        assert meter.query_one(".memory", Sparkline).data == app.history.memory("gpu:0")
        assert [m.key for m in app.query(DeviceMeter)] == ["cpu", "gpu:0"]


def _children_only(monitor: Monitor, children: list[subprocess.Popen[str]]) -> FedSource:
    pids = {child.pid for child in children}

    def look() -> MachineView:
        view = monitor.look()
        return view.model_copy(update={"processes": [p for p in view.processes if p.pid in pids]})

    return FedSource(look)


async def test_sort_keys_order_the_processes_and_again_reverse(
    monitor: Monitor, ai_children: list[subprocess.Popen[str]]
) -> None:
    alpha, beta, gamma = (child.pid for child in ai_children)  # holding 24, 48, 72 MiB more
    app = TopApp(_children_only(monitor, ai_children), refresh_s=60)  # one look: still rows
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(_pids(app)) == 3, "the three children")
        await pilot.press("m")
        assert _pids(app) == [gamma, beta, alpha]
        assert "sort memory ↓" in str(_table(app, "processes").border_title)
        await pilot.press("m")
        assert _pids(app) == [alpha, beta, gamma]
        await pilot.press("p")
        assert _pids(app) == sorted((alpha, beta, gamma))
        await pilot.press("p")
        assert _pids(app) == sorted((alpha, beta, gamma), reverse=True)
        await pilot.press("n")  # all named python: equal names keep pid order
        assert _pids(app) == sorted((alpha, beta, gamma))
        await pilot.press("c")
        view = app.view
        assert view is not None
        cpu = {p.pid: p.cpu_percent or 0.0 for p in view.processes}
        assert _pids(app) == sorted(cpu, key=lambda pid: (-cpu[pid], pid))
        assert "sort cpu ↓" in str(_table(app, "processes").border_title)


async def test_the_filter_narrows_the_processes_and_esc_clears_it(
    monitor: Monitor, ai_children: list[subprocess.Popen[str]]
) -> None:
    beta = ai_children[1].pid
    app = TopApp(_children_only(monitor, ai_children), refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(_pids(app)) == 3, "the three children")
        await pilot.press("slash", *"beta-tui")
        assert _pids(app) == [beta]
        assert "filter “beta-tui”" in str(_table(app, "processes").border_title)
        await pilot.press("enter")  # kept, the table focused again
        assert _pids(app) == [beta]
        assert app.processes_table().has_focus
        await pilot.press("slash", "q")  # typed into the filter: no quitting
        assert app.is_running
        assert _pids(app) == []
        await pilot.press("escape")
        assert len(_pids(app)) == 3
        assert not app.query_one("#filter").display
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running


async def test_ctrl_c_quits_even_from_the_filter(monitor: Monitor) -> None:
    app = TopApp(FedSource(monitor.look), refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", "x")
        assert app.query_one("#filter").has_focus
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running


async def test_plus_and_minus_change_the_pace_of_looks(monitor: Monitor) -> None:
    source = FedSource(monitor.look)
    app = TopApp(source, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.view is not None, "the first look")
        await pilot.press("minus")
        assert app.refresh_s == 60  # the slowest pace stays
        await pilot.press(*["plus"] * 9)
        assert app.refresh_s == 0.1
        assert "every 0.1 s" in text(app, "#header")
        looks = source.looks
        await wait_for(pilot, lambda: source.looks >= looks + 3, "looks at the new pace")
        await pilot.press("minus", "minus")
        assert app.refresh_s == 0.5


async def test_a_failing_look_keeps_the_last_view_and_retries(monitor: Monitor) -> None:
    source = FedSource(monitor.look)
    app = TopApp(source, refresh_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(_pids(app)), "a view with processes")
        source.fail = AinosError("cannot reach the daemon's API at http://127.0.0.1:9: refused")
        status = app.query_one("#status")
        await wait_for(pilot, lambda: status.has_class("failing"), "the failure shown")
        shown = app.view  # the last view a look brought
        assert shown is not None
        failed_looks = source.looks
        await wait_for(pilot, lambda: source.looks > failed_looks + 1, "retries")
        assert text(app, "#status") == (
            "look failed, retrying (showing the view of "
            f"{time.strftime('%H:%M:%S', time.localtime(shown.at))}): "
            "cannot reach the daemon's API at http://127.0.0.1:9: refused"
        )
        assert app.view is shown
        assert _pids(app)
        source.fail = None
        await wait_for(pilot, lambda: not status.has_class("failing"), "recovery")
        assert app.view is not shown
        assert "AI processes" in text(app, "#status")


async def test_the_layout_follows_the_terminal_size(monitor: Monitor) -> None:
    app = TopApp(FedSource(monitor.look), refresh_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(_pids(app)), "a view with processes")
        models, agents, actions = (_table(app, name) for name in ("models", "agents", "actions"))
        devices, side, lower = (
            app.query_one("#devices"),
            app.query_one("#side"),
            app.query_one("#lower"),
        )
        processes = _table(app, "processes")
        assert models.region.y == agents.region.y == actions.region.y
        assert devices.region.y == side.region.y
        assert actions.display

        async def resize(width: int, height: int, *classes: str) -> None:
            await pilot.resize_terminal(width, height)
            await wait_for(
                pilot, lambda: all(app.screen.has_class(c) for c in classes), f"{classes}"
            )
            await pilot.pause()
            for panel in (devices, side, processes):
                assert panel.region.width <= width
                assert panel.region.bottom <= height - 1  # above the footer: nothing cut off
            assert processes.region.height >= 6

        await resize(80, 40, "-narrow", "-tall")
        assert side.region.y > devices.region.y
        assert models.region.y == agents.region.y
        assert not actions.display
        shown = app.view
        await wait_for(pilot, lambda: app.view is not shown, "a look after the resize")
        assert _pids(app)

        await resize(80, 24, "-narrow", "-short")
        assert not lower.display

        await resize(120, 30, "-wide", "-short")
        assert lower.display
        assert devices.region.y == side.region.y
        assert models.region.y == agents.region.y
        assert not actions.display
