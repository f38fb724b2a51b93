"""``ainos stats``, ``metrics``, ``devices`` and ``ps`` run for real, as child processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("ainos: error: ")
    return lines[0]


def test_stats_json_is_a_snapshot(run_ainos: Any) -> None:
    result = run_ainos("stats", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    cpu = document["cpu"]
    assert len(cpu["per_core_percent"]) == os.cpu_count()
    assert cpu["memory_total_bytes"] > 0
    assert document["gpus"] == []  # no NVML here: the no-GPU path is what runs
    assert result.stderr == ""


def test_stats_table(run_ainos: Any) -> None:
    result = run_ainos("stats")
    assert result.returncode == 0, result.stderr
    assert "cpu" in result.stdout
    assert "load" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["stats", "--interval", "0"], "--interval must be a number of seconds above 0"),
        (["stats", "--interval", "-3"], "--interval must be a number of seconds above 0"),
        (["stats", "--interval", "nan"], "--interval must be a number of seconds above 0"),
        (["stats", "--interval", "abc"], "Invalid value for '--interval'"),
        (["ps", "--interval", "1e9"], "at most 3600"),
        (["stats", "--bogus"], "No such option: --bogus"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
)
def test_bad_input_is_one_clear_line(run_ainos: Any, args: list[str], expected: str) -> None:
    result = run_ainos(*args)
    assert result.returncode == 2
    assert expected in _one_error_line(result.stderr)
    assert result.stdout == ""


def test_json_into_a_closed_pipe_is_one_line(run_ainos: Any) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run_ainos("stats", "--json", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert "broken pipe" in _one_error_line(result.stderr)


def test_stats_watch_streams_json_lines_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ainos", "stats", "--watch", "--json", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        timestamps = [json.loads(process.stdout.readline())["timestamp"] for _ in range(3)]
        assert timestamps == sorted(timestamps)
        assert len(set(timestamps)) >= 2  # the sampler moved on between lines
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    # Ctrl-C is how a watch ends: the conventional status, and no traceback.
    assert process.returncode == 130
    assert stderr.strip() == "ainos: error: interrupted"


def test_metrics_are_prometheus_text(run_ainos: Any) -> None:
    result = run_ainos("metrics")
    assert result.returncode == 0, result.stderr
    names = {family.name for family in text_string_to_metric_families(result.stdout)}
    assert {"ainos_cpu_utilization_percent", "ainos_memory_used_bytes"} <= names
    assert "ainos_telemetry_samples" in names


def test_devices_json_lists_cpu_and_onnxruntime(run_ainos: Any) -> None:
    result = run_ainos("devices", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [d["id"] for d in document["devices"]] == ["cpu:0"]
    assert "CPUExecutionProvider" in document["execution_providers"]
    assert any(ep["ep_name"] == "CPUExecutionProvider" for ep in document["ep_devices"])


def test_devices_table(run_ainos: Any) -> None:
    result = run_ainos("devices")
    assert result.returncode == 0, result.stderr
    assert "cpu:0" in result.stdout
    assert "CPUExecutionProvider" in result.stdout


def test_ps_all_lists_this_process(run_ainos: Any) -> None:
    result = run_ainos("ps", "--json", "--all")
    assert result.returncode == 0, result.stderr
    scan = json.loads(result.stdout)
    assert scan["scanned"] >= len(scan["processes"]) > 0
    assert os.getpid() in {p["pid"] for p in scan["processes"]}


def test_ps_finds_an_onnxruntime_process(run_ainos: Any) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import onnxruntime, sys; print('up', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "up"
        result = run_ainos("ps", "--json")
        assert result.returncode == 0, result.stderr
        found = {p["pid"]: p for p in json.loads(result.stdout)["processes"]}
        assert found[child.pid]["runtimes"] == ["onnxruntime"]
        table = run_ainos("ps")
        assert str(child.pid) in table.stdout
    finally:
        child.kill()
        child.communicate()


def test_version_and_bare_command(run_ainos: Any) -> None:
    version = run_ainos("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("ainos ")
    bare = run_ainos()
    assert bare.returncode == 2
    assert "Usage" in bare.stdout + bare.stderr
    assert "Traceback" not in bare.stderr


def test_bench_telemetry_json(run_ainos: Any) -> None:
    result = run_ainos("bench", "telemetry", "--json", "--seconds", "0.3")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["benchmark"] == "telemetry"
    configurations = [(r["configuration"], r["rate_hz"]) for r in document["rows"]]
    assert configurations == [
        ("idle ticker", 10.0),
        ("plain loop", 10.0),
        ("sampler", 10.0),
        ("idle ticker", 100.0),
        ("plain loop", 100.0),
        ("sampler", 100.0),
    ]
    assert document["nvml"] in ("nvml", "fake NVML (H200 latencies)")
    assert {call["function"] for call in document["calls"]} >= {"nvmlDeviceGetPcieThroughput"}


def test_bench_rejects_a_bad_duration(run_ainos: Any) -> None:
    result = run_ainos("bench", "telemetry", "--seconds", "0")
    assert result.returncode == 2
    assert "--seconds must be above 0" in _one_error_line(result.stderr)
