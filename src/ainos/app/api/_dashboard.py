"""The live dashboard on the API's port: the page at ``/`` (HTML, CSS, JS and uPlot, shipped
in ``dashboard/``, no build step, nothing fetched from elsewhere) and the stream it reads,
``GET /ainos/view/events`` (server-sent events).

The page and its assets are served to anyone who may reach the port — they hold no data;
the stream asks for the API's token like every other data route. The page reads the stream
with ``fetch()`` so the token goes in an ``Authorization`` header, never in a URL.

The stream's first event (``hello``) carries the telemetry ring buffer as chart points, so
the charts start filled, and a whole :class:`~ainos.protocol.monitor.MachineView`; then
``devices`` events carry the samples taken since (at most twice a second: the sampler ticks
faster than a chart needs redrawing) and ``view`` events a new look every two seconds (a
look scans the processes: a few milliseconds). It ends with an ``end`` event as soon as the
daemon begins to stop (``Stopping.begin``), so an open page never holds the shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ainos.app.api._common import dumps, from_ainos
from ainos.app.api._interrupt import Stopping
from ainos.errors import AinosError
from ainos.protocol import StatsSnapshot
from ainos.protocol.monitor import MachineView

__all__ = [
    "ASSETS_PATH",
    "EVENTS_PATH",
    "PAGE_HEADERS",
    "Dashboard",
    "chart_point",
    "dashboard_routes",
    "fresh_points",
]

EVENTS_PATH = "/ainos/view/events"
ASSETS_PATH = "/dashboard"
_ASSETS = ("ainos.app.api", "dashboard")
_DEVICE_PERIOD_S = 0.5
# A view (or the error of a failed look) goes out this often: the stream is never silent
# long enough for a proxy's idle cut, so it needs no keep-alive comments.
_VIEW_PERIOD_S = 2.0
_RETRY_MS = 3000

# The page runs only its own scripts and styles and talks only to this server; no other
# site may frame it (clickjacking) or learn the address it came from.
PAGE_HEADERS: Mapping[str, str] = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

Authorise = Callable[[Request], None]


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard's routes serve from, kept in the app's ``state.dashboard``."""

    look: Callable[[], MachineView]
    device_history: Callable[[], list[StatsSnapshot]]
    authorise: Authorise
    stopping: Stopping


def _percent(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 2)


def chart_point(snapshot: StatsSnapshot) -> dict[str, Any]:
    """One sample as the charts plot it: utilisation and memory use in percent, the CPU's
    and each GPU's (in the snapshot's order; ``null`` where NVML gives no reading)."""
    cpu = snapshot.cpu
    return {
        "t": snapshot.timestamp,
        "cpu": [
            round(cpu.utilization_percent, 2),
            _percent(cpu.memory_used_bytes, cpu.memory_total_bytes),
        ],
        "gpus": [
            [gpu.utilization_percent, _percent(gpu.memory_used_bytes, gpu.memory_total_bytes)]
            for gpu in snapshot.gpus
        ],
    }


def fresh_points(
    history: Sequence[StatsSnapshot], after: float
) -> tuple[list[dict[str, Any]], float]:
    """The chart points of the samples taken after time ``after``, and the new ``after``.
    A wall clock set back makes every sample look old: the newest is sent again from there."""
    if not history:
        return [], after
    newest = history[-1].timestamp
    if newest < after:
        return [chart_point(history[-1])], newest
    return [chart_point(s) for s in history if s.timestamp > after], newest


def _event(name: str, document: object) -> str:
    return f"event: {name}\ndata: {dumps(document)}\n\n"


async def _look(board: Dashboard) -> tuple[object, str | None]:
    """A new look as JSON data, or None and the ``error`` event of a look that failed (a
    store that cannot be read now: said, and tried again at the next look)."""
    try:
        view = await run_in_threadpool(board.look)
    except AinosError as exc:
        return None, _event("error", from_ainos(exc).body())
    return view.model_dump(mode="json"), None


async def _view_event(board: Dashboard) -> str:
    view, error = await _look(board)
    return error if error is not None else _event("view", view)


async def _stream(board: Dashboard) -> AsyncIterator[str]:
    history = board.device_history()
    after = history[-1].timestamp if history else 0.0
    view, error = await _look(board)
    if error is not None:
        yield error
    hello = {
        "period_s": _DEVICE_PERIOD_S,
        "history": [chart_point(s) for s in history],
        "view": view,
    }
    yield f"retry: {_RETRY_MS}\n" + _event("hello", hello)
    loop = asyncio.get_running_loop()
    next_view = loop.time() + _VIEW_PERIOD_S
    while not await board.stopping.begun_within(_DEVICE_PERIOD_S):
        points, after = fresh_points(board.device_history(), after)
        out = [_event("devices", {"points": points})] if points else []
        if loop.time() >= next_view:
            out.append(await _view_event(board))
            next_view = loop.time() + _VIEW_PERIOD_S
        if out:
            yield "".join(out)
    yield _event("end", {"reason": "the daemon is stopping"})


def _board(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


async def view_events(request: Request) -> Response:
    board = _board(request)
    board.authorise(request)
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(_stream(board), media_type="text/event-stream", headers=headers)


class _Assets(StaticFiles):
    """The page's files, with the page's headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(PAGE_HEADERS)
        return response


def _page_html(token_required: bool) -> bytes:
    """The page, told whether it must ask for a token before it connects (a fact, not the
    token: it saves a refused request, which the browser would log as an error)."""
    html = resources.files(_ASSETS[0]).joinpath(_ASSETS[1], "index.html").read_text("utf-8")
    flag = "true" if token_required else "false"
    return html.replace("{{token_required}}", flag, 1).encode()


def dashboard_routes(token_required: bool) -> Iterable[BaseRoute]:
    """The page at ``/``, its assets under ``/dashboard``, the stream; their state is the
    app's ``state.dashboard`` (a :class:`Dashboard`)."""
    page = _page_html(token_required)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html", headers=dict(PAGE_HEADERS))

    return [
        Route("/", index, methods=["GET"]),
        Route(EVENTS_PATH, view_events, methods=["GET"]),
        Mount(ASSETS_PATH, app=_Assets(packages=[_ASSETS]), name="dashboard"),
    ]
