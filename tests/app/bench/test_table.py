"""``ainos bench table``: the window-stopping rule and the options as pure functions, the
summary on fixed rows, and one tiny real run of the command (every configuration in its own
process, two real daemons) read back from its ``--json`` output and its chart. Never
timings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ainos.app.bench._chart import write_latency_chart
from ainos.app.bench.table import (
    CELL_FIGURES,
    CONFIGS,
    DEFAULT_CHART_NAME,
    Part,
    TableBenchResult,
    TableRun,
    TableSettings,
    chart_path,
    settings_from_options,
    window_settled,
)
from ainos.errors import AinosError, InvalidArgument

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- the window rule ------------------------------------------------------------------------


def _parts(*figures: tuple[int, float | None]) -> list[Part]:
    return [Part(requests, 1.0, p50) for requests, p50 in figures]


def test_a_window_settles_when_its_last_three_parts_agree_within_ten_percent() -> None:
    steady = _parts((100, 10.0), (104, 10.4), (97, 9.8))
    assert window_settled(steady)
    # Earlier parts do not count: a warm-up transient before three steady parts is fine.
    assert window_settled(_parts((20, 80.0), (300, 1.0), *[(p.requests, p.p50_ms) for p in steady]))


def test_a_window_does_not_settle_while_throughput_or_latency_still_moves() -> None:
    assert not window_settled(_parts((100, 10.0), (100, 10.0)))  # fewer than three parts
    assert not window_settled(_parts((100, 10.0), (100, 10.0), (112, 10.0)))  # throughput
    assert not window_settled(_parts((100, 10.0), (100, 11.5), (100, 10.0)))  # latency
    assert not window_settled(_parts((100, 10.0), (0, None), (100, 10.0)))  # nothing finished
    assert not window_settled(_parts((0, None), (0, None), (0, None)))


def test_the_tolerance_and_the_number_of_parts_are_the_callers() -> None:
    parts = _parts((115, 10.0), (100, 10.0), (100, 10.0))
    assert window_settled(parts, tolerance=0.2)
    assert not window_settled(parts, tolerance=0.1)
    assert window_settled(parts, last=2)  # the last two alone agree
    assert not window_settled(_parts((50, 10.0), (100, 10.0), (100, 10.0)), last=3)


# -- options --------------------------------------------------------------------------------


def test_options_change_the_quick_settings_and_bad_ones_are_one_error() -> None:
    quick = settings_from_options(quick=True)
    assert quick == TableSettings.quick()
    chosen = settings_from_options(quick=False, repeats=4, clients="1, 3", max_window_s=2.0)
    assert (chosen.repeats, chosen.clients) == (4, (1, 3))
    assert chosen.max_parts >= 3
    assert chosen.max_window_s == pytest.approx(2.0)
    tiny = settings_from_options(quick=True, max_window_s=0.3)
    assert tiny.max_parts == 3  # the rule needs three parts, however short the window
    for bad in (
        {"clients": "two"},
        {"clients": "0,4"},
        {"clients": ""},
        {"repeats": 0},
        {"max_window_s": 0.0},
        {"max_tokens": 0},
    ):
        with pytest.raises(InvalidArgument):
            settings_from_options(quick=True, **bad)


def test_the_chart_goes_where_asked_or_into_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert chart_path(None, None) == tmp_path / DEFAULT_CHART_NAME
    assert chart_path(None, tmp_path) == tmp_path / DEFAULT_CHART_NAME
    assert chart_path(tmp_path / "x.png", None) == tmp_path / "x.png"
    for chart, directory in (
        (tmp_path / "x.png", tmp_path),  # both
        (tmp_path / "x.jpg", None),  # not a PNG
        (tmp_path / "missing" / "x.png", None),
        (None, tmp_path / "missing"),
    ):
        with pytest.raises(InvalidArgument):
            chart_path(chart, directory)


def test_bad_options_and_a_case_that_cannot_run_are_one_error_line(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "ainos", "bench", "table", "--clients", "two"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "ainos: error: --clients must be counts like 2,4,8, got 'two'"
    ]
    assert not (tmp_path / DEFAULT_CHART_NAME).exists()
    case = [sys.executable, "-m", "ainos.app.bench._table_case", "kernel", "--variant", "v"]
    failed = subprocess.run(
        [*case, "--settings", TableSettings.quick().case_json()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "the kernel configuration needs --socket and --daemon-pid"
    ]


# -- the summary on fixed rows --------------------------------------------------------------


def _run(config: str, clients: int, repeat: int, scale: float) -> TableRun:
    return TableRun(
        config=config,
        clients=clients,
        realtime_clients=1,
        repeat=repeat,
        seconds=2.0,
        parts=3,
        settled=repeat == 0,
        requests=int(100 * scale),
        embeddings=int(80 * scale),
        chats=int(20 * scale),
        realtime_requests=int(50 * scale),
        completion_tokens=int(240 * scale),
        p50_ms=10 * scale,
        p99_ms=300 * scale,
        realtime_p50_ms=8 * scale,
        realtime_p99_ms=200 * scale,
        batch_p50_ms=12 * scale,
        batch_p99_ms=None if clients == 1 else 350 * scale,
        embedding_p50_ms=9 * scale,
        chat_p50_ms=250 * scale,
        cpu_seconds=3.0 * scale,
        device="cpu",
        device_busy_fraction=0.9,
        other_cpu_fraction=0.01 * scale,
        peak_rss_bytes=int(2**30 * scale),
    )


def test_the_summary_takes_medians_with_least_and_greatest_per_configuration_and_load() -> None:
    runs = [
        _run(config, clients, repeat, scale)
        for repeat, scale in enumerate((1.0, 1.2, 0.9))
        for config in reversed(CONFIGS)
        for clients in (4, 1)
    ]
    result = TableBenchResult(
        settings=replace(TableSettings(), clients=(1, 4)), variant="v", runs=runs
    )

    assert [(c.config, c.clients) for c in result.cells] == [
        (config, clients) for config in CONFIGS for clients in (1, 4)
    ]
    cell = result.cell("platform", 4)
    p99 = cell.spread("p99_ms")
    assert p99 is not None
    assert p99.median == 300
    assert p99.low == 270
    assert p99.high == pytest.approx(360)
    rate = cell.spread("requests_per_second")
    assert rate is not None
    assert rate.median == 50
    assert cell.settled == 1
    assert cell.other_cpu_fraction == pytest.approx(0.012)
    assert result.cell("kernel", 1).spread("batch_p99_ms") is None  # no batch client


def test_a_chart_that_cannot_be_written_is_one_error(tmp_path: Path) -> None:
    runs = [_run(config, n, 0, 1.0) for config in CONFIGS for n in (1, 4)]
    result = TableBenchResult(settings=TableSettings(), variant="v", runs=runs)
    taken = tmp_path / "taken.png"
    taken.mkdir()  # a directory where the file should go
    with pytest.raises(AinosError, match="cannot write the chart"):
        write_latency_chart(result, taken)
    assert write_latency_chart(result, tmp_path / "ok.png").read_bytes()[:8] == PNG_SIGNATURE


# -- one tiny real run ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, prepared_models: Path) -> dict[str, Any]:
    """``ainos bench table --json`` on two rounds of two clients (one realtime, one batch),
    short windows and 4-token chats."""
    home = tmp_path_factory.mktemp("table-home")
    shutil.copytree(prepared_models / "cache", home / "cache")
    chart = tmp_path_factory.mktemp("table-chart") / "latency.png"
    command = [sys.executable, "-m", "ainos", "bench", "table", "--json", "--repeats", "2"]
    # Windows long enough that a loaded machine still finishes requests in each (a 4-token
    # chat took over 0.9 s with other work on both cores).
    command += ["--clients", "2", "--max-window", "1.5", "--max-tokens", "4", "--chart", str(chart)]
    done = subprocess.run(
        command,
        env={**os.environ, "AINOS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {"document": json.loads(done.stdout), "chart": chart, "stderr": done.stderr}


def test_json_output_is_one_document_on_stdout(tiny_run: dict[str, Any]) -> None:
    document = tiny_run["document"]
    assert document["benchmark"] == "table"
    assert list(document["configs"]) == list(CONFIGS)
    assert document["settings"]["max_tokens"] == 4
    assert f"chart: {tiny_run['chart']}" in tiny_run["stderr"]  # people's messages: stderr


def test_every_configuration_is_measured_in_every_round_with_every_column(
    tiny_run: dict[str, Any],
) -> None:
    document = tiny_run["document"]
    cells = document["cells"]
    assert [(c["config"], c["clients"]) for c in cells] == [(config, 2) for config in CONFIGS]
    runs = document["runs"]
    assert sorted((r["config"], r["repeat"]) for r in runs) == sorted(
        (config, repeat) for config in CONFIGS for repeat in (0, 1)
    )
    for cell in cells:
        assert cell["repeats"] == 2
        assert cell["realtime_clients"] == 1
        for figure in CELL_FIGURES:
            spread = cell[figure]
            assert spread is not None, (cell["config"], figure)
            assert spread["low"] <= spread["median"] <= spread["high"]
        assert cell["requests_per_second"]["high"] > 0
        assert cell["peak_rss_bytes"]["low"] > 0
        assert 0 <= cell["device_busy_fraction"]["median"] <= 1.0


def test_realtime_figures_are_apart_from_the_batch_ones(tiny_run: dict[str, Any]) -> None:
    for run in tiny_run["document"]["runs"]:
        assert run["realtime_requests"] <= run["requests"]
        assert run["embeddings"] + run["chats"] == run["requests"]
        assert run["parts"] >= 3
        assert 0 <= run["stalled_requests"] <= run["clients"]
        if run["realtime_requests"] and run["realtime_requests"] < run["requests"]:
            assert run["realtime_p50_ms"] is not None
            assert run["batch_p50_ms"] is not None
        if run["requests"]:
            assert run["p50_ms"] <= run["p99_ms"]
            assert run["cpu_seconds"] > 0
    # Both classes were served somewhere in every configuration.
    for config in CONFIGS:
        mine = [r for r in tiny_run["document"]["runs"] if r["config"] == config]
        assert sum(r["realtime_requests"] for r in mine) > 0, config
        assert sum(r["requests"] - r["realtime_requests"] for r in mine) > 0, config


def test_the_chart_is_a_png(tiny_run: dict[str, Any]) -> None:
    chart: Path = tiny_run["chart"]
    assert chart.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(chart) as image:
        image.verify()
        assert image.format == "PNG"
        assert image.size[0] > 400
        assert image.size[1] > 300


def test_the_cpu_busy_share_never_passes_the_whole_machine() -> None:
    import psutil

    from ainos.app.bench._table_case import _Device

    device = _Device()
    if device.kind != "cpu":
        pytest.skip("a GPU's utilisation is read from NVML")
    cores = psutil.cpu_count() or 1
    # /proc/stat counts 10 ms ticks: a 1 s window can count a tick more than it lasted.
    assert device.busy(cores * 1.01, 1.0) == 1.0
    assert device.busy(cores * 0.5, 1.0) == pytest.approx(0.5)
