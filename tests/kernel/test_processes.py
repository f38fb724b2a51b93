from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from ainos.kernel.nvml import open_nvml
from ainos.kernel.processes import ProcessMonitor, runtime_of_library, runtimes_in_maps
from ainos.protocol import DetectionSource, ProcessEventKind

# A child that runs a real ONNX Runtime model, says "ready", and exits on a line of input.
_ONNX_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"x": np.array([[-1, 2, -3, 4]], dtype=np.float32)})[0]
    assert out.tolist() == [[0, 2, 0, 4]]
    print("ready", flush=True)
    sys.stdin.readline()
    """
)

# A child that starts without any ML runtime and loads ONNX Runtime when told to.
_LATE_CHILD = textwrap.dedent(
    """
    import sys
    print("plain", flush=True)
    sys.stdin.readline()
    import onnxruntime
    print("loaded", flush=True)
    sys.stdin.readline()
    """
)


def _spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def child() -> Iterator[Any]:
    children: list[subprocess.Popen[str]] = []

    def start(code: str, expect: str) -> subprocess.Popen[str]:
        process = _spawn(code)
        children.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == expect
        return process

    yield start
    for process in children:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()


def _finish(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()
    process.wait(timeout=30)


def test_library_names_map_to_runtimes() -> None:
    assert runtime_of_library("libonnxruntime.so.1.32.0") == "onnxruntime"
    assert runtime_of_library("onnxruntime_pybind11_state.so") == "onnxruntime"
    assert runtime_of_library("libcudart.so.12") == "cuda"
    assert runtime_of_library("libcudnn_ops.so.9") == "cudnn"
    assert runtime_of_library("libtorch_cpu.so") == "torch"
    assert runtime_of_library("libggml-base.so") == "llama.cpp"
    assert runtime_of_library("libc.so.6") is None
    assert runtime_of_library("libcurl.so.4") is None  # "libcu…" is not CUDA


def test_runtimes_are_read_from_maps_text() -> None:
    maps = (
        b"7f0000000000-7f0000001000 r-xp 00000000 08:01 1 /usr/lib/libc.so.6\n"
        b"7f0000002000-7f0000003000 r-xp 00000000 08:01 2 /opt/x/libcudart.so.12.4.127\n"
        b"7f0000004000-7f0000005000 r-xp 00000000 08:01 3 /site/torch/lib/libtorch_cpu.so\n"
        b"7f0000006000-7f0000007000 rw-p 00000000 00:00 0 [heap]\n"
    )
    assert runtimes_in_maps(maps) == {"cuda", "torch"}


def test_detects_a_real_onnxruntime_process_and_its_exit(child: Any) -> None:
    monitor = ProcessMonitor()
    monitor.poll()  # baseline
    process = child(_ONNX_CHILD, "ready")

    started = [e for e in monitor.poll() if e.process.pid == process.pid]
    assert [e.kind for e in started] == [ProcessEventKind.STARTED]
    found = started[0].process
    assert "onnxruntime" in found.runtimes
    assert found.sources == [DetectionSource.MAPS]
    assert found.rss_bytes

    assert found.user == pwd.getpwuid(os.getuid()).pw_name
    assert "-c" in found.command

    again = monitor.scan()
    assert any(p.pid == process.pid for p in again.processes)
    listed = next(p for p in again.processes if p.pid == process.pid)
    assert listed.cpu_percent is not None  # measured since the previous look

    _finish(process)
    stopped = [e for e in monitor.poll() if e.process.pid == process.pid]
    assert [e.kind for e in stopped] == [ProcessEventKind.STOPPED]


def test_notices_a_runtime_loaded_after_start(child: Any) -> None:
    monitor = ProcessMonitor()
    process = child(_LATE_CHILD, "plain")
    assert all(p.pid != process.pid for p in monitor.scan().processes)
    plain = next(p for p in monitor.scan(include_all=True).processes if p.pid == process.pid)
    assert plain.runtimes == []
    assert plain.sources == []

    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "loaded"
    found = next(p for p in monitor.scan().processes if p.pid == process.pid)
    assert found.runtimes == ["onnxruntime"]


def test_unchanged_processes_are_not_reread() -> None:
    monitor = ProcessMonitor()
    first = monitor.scan(include_all=True)
    second = monitor.scan(include_all=True)
    assert first.maps_read > 0
    # Only processes whose address space changed meanwhile are read again.
    assert second.maps_read < max(1, second.scanned // 2)


def test_registered_processes_are_ai_processes(child: Any) -> None:
    monitor = ProcessMonitor()
    process = child(_LATE_CHILD, "plain")
    monitor.register(process.pid, "my-runtime")
    found = next(p for p in monitor.scan().processes if p.pid == process.pid)
    assert found.sources == [DetectionSource.REGISTERED]
    assert found.runtimes == ["my-runtime"]
    monitor.unregister(process.pid)
    assert all(p.pid != process.pid for p in monitor.scan().processes)


def test_nvml_compute_users_are_ai_processes(
    child: Any, fake_pynvml_factory: Any, fake_gpu_factory: Any
) -> None:
    process = child(_LATE_CHILD, "plain")
    fake = fake_pynvml_factory([fake_gpu_factory(processes=[(process.pid, 512 * 2**20)])])
    monitor = ProcessMonitor(open_nvml(fake))
    found = next(p for p in monitor.scan().processes if p.pid == process.pid)
    assert found.sources == [DetectionSource.NVML]
    assert found.gpu_memory_bytes == 512 * 2**20


# Started as root, the child gives up its privileges before it looks, so that other
# users' processes (root's) are out of its reach.
_SCAN_AS_OTHER_USER = textwrap.dedent(
    """
    import json, os, pwd
    from ainos.kernel.processes import ProcessMonitor
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    scan = ProcessMonitor().scan(include_all=True)
    print(json.dumps({"scanned": scan.scanned, "denied": scan.permission_denied}))
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a scan as another user")
def test_permission_errors_are_counted_not_fatal(tmp_path: Any) -> None:
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user on this machine")
    result = subprocess.run(
        [sys.executable, "-c", _SCAN_AS_OTHER_USER],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    import json

    counts = json.loads(result.stdout)
    assert counts["scanned"] > 0
    assert counts["denied"] > 0  # root's processes, at least pid 1
