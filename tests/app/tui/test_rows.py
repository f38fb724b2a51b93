"""The pieces under the screen: the process order and filter, the mean batch size, the
pace steps and their bounds, and the bounded history the sparklines draw."""

from __future__ import annotations

import math

import pytest

from ainos.app.monitor import Monitor
from ainos.app.tui import MAX_REFRESH_S, MIN_REFRESH_S, check_refresh
from ainos.app.tui._history import DeviceHistory
from ainos.app.tui._refresh import faster, slower
from ainos.app.tui._rows import ProcessOrder, mean_batch_size, shown_processes
from ainos.errors import InvalidArgument


def test_a_key_sorts_in_its_natural_direction_and_again_reverses() -> None:
    order = ProcessOrder()
    assert (order.key, order.descending) == ("cpu", True)
    assert order.pressed("memory") == ProcessOrder("memory", True)
    assert order.pressed("pid") == ProcessOrder("pid", False)
    assert order.pressed("name").pressed("name") == ProcessOrder("name", True)
    assert order.pressed("cpu") == ProcessOrder("cpu", False)


def test_the_filter_matches_name_or_command_in_any_case(monitor: Monitor) -> None:
    processes = monitor.look().processes
    assert processes
    everyone = shown_processes(processes, ProcessOrder("pid", False))
    assert [p.pid for p in everyone] == sorted(p.pid for p in processes)
    first = everyone[0]
    by_name = shown_processes(processes, ProcessOrder(), first.name.upper())
    assert first in by_name
    assert all(first.name.casefold() in (p.name + p.command).casefold() for p in by_name)
    assert shown_processes(processes, ProcessOrder(), "no process is called this") == []


def test_the_mean_batch_size_weighs_each_size_by_its_batches() -> None:
    assert mean_batch_size({}) is None
    assert mean_batch_size({1: 3, 4: 1}) == pytest.approx(7 / 4)
    assert mean_batch_size({8: 2}) == 8


def test_plus_and_minus_step_within_the_bounds() -> None:
    assert faster(1.0) == 0.5
    assert slower(1.0) == 2.0
    assert faster(1.5) == 1.0  # a pace given on the command line joins the steps
    assert slower(1.5) == 2.0
    assert faster(MIN_REFRESH_S) == MIN_REFRESH_S
    assert slower(MAX_REFRESH_S) == MAX_REFRESH_S
    pace = MAX_REFRESH_S
    while faster(pace) != pace:
        pace = faster(pace)
        assert check_refresh(pace) == pace


@pytest.mark.parametrize("seconds", [0.0, 0.09, 60.5, -1.0, math.nan, math.inf])
def test_a_pace_out_of_bounds_is_refused(seconds: float) -> None:
    with pytest.raises(InvalidArgument, match="--refresh must be a number of seconds"):
        check_refresh(seconds)


def test_the_history_keeps_the_last_points_of_each_device(monitor: Monitor) -> None:
    history = DeviceHistory(points=3)
    views = [monitor.look() for _ in range(5)]
    for view in views:
        history.record(view)
    assert history.utilization("cpu") == [
        v.stats.devices.cpu.utilization_percent for v in views[-3:]
    ]
    memory = [v.stats.devices.cpu for v in views[-3:]]
    assert history.memory("cpu") == [
        pytest.approx(100 * c.memory_used_bytes / c.memory_total_bytes) for c in memory
    ]
    assert history.utilization("gpu:0") == []  # no GPU here
