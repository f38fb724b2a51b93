"""What the live view's tests share: a runtime config, view sources fed from a real
monitor, and a way to wait for the screen without fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.kernel.control import ServicesConfig
from ainos.protocol import ClientIdentity
from ainos.protocol.monitor import MachineView

CONFIG = RuntimeConfig(kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False))


class FedSource:
    """A view source whose looks are taken by ``look`` (a real monitor, possibly changed by
    the test); ``fail`` makes the next looks raise it, as a vanished daemon would."""

    where = "fed by the test"

    def __init__(self, look: Callable[[], MachineView]) -> None:
        self.look = look
        self.fail: Exception | None = None
        self.looks = 0

    def __call__(self) -> MachineView:
        self.looks += 1
        if self.fail is not None:
            raise self.fail
        return self.look()


def load_embedding_model(runtime: Runtime) -> None:
    runtime.embeddings.embed(
        DEFAULT_EMBEDDING_MODEL, ["hello", "world"], client=ClientIdentity(name="tui-test")
    )


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, timeout: float = 60.0
) -> None:
    """Let the app run until ``condition`` holds (looks are taken in a worker thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text(app: App[None], selector: str) -> str:
    """What a Static of the app shows."""
    return str(app.query_one(selector, Static).content)


def column(table: DataTable[str], index: int) -> list[str]:
    """A table's cells of one column, top to bottom."""
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]
