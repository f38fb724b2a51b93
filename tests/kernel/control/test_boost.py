"""boost_priority's OS side: nice, policy and affinity on a real process's threads; cgroup
v2 weight against the real hierarchy (refused on machines without delegation) and
against a fake cgroup tree in a temporary directory (the success path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ainos.kernel.control import _cgroup
from ainos.kernel.control._boost import affinity_for_class, apply_os_priority
from ainos.kernel.control._cgroup import apply_cgroup_weight, find_cgroup2_mount
from ainos.protocol.scheduler import Priority

CHILD = """
import threading, time
for _ in range(2):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
time.sleep(60)
"""


@pytest.fixture
def child() -> Iterator[int]:
    """A real process with three threads, all asleep."""
    process = subprocess.Popen([sys.executable, "-c", CHILD])
    try:
        deadline = time.monotonic() + 10
        while len(_tids(process.pid)) < 3:
            assert time.monotonic() < deadline, "the child did not start its threads"
            time.sleep(0.02)
        yield process.pid
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def no_cgroup(tmp_path: Path) -> Path:
    """An empty directory as the cgroup root, so the per-thread tests never move a process
    into a real cgroup on a machine where that is permitted."""
    return tmp_path / "no-cgroup"


def _tids(pid: int) -> list[int]:
    return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]


def test_batch_confines_every_thread_and_realtime_restores_all_cpus(
    child: int, no_cgroup: Path
) -> None:
    allowed = os.sched_getaffinity(os.getpid())
    if len(allowed) < 2:
        pytest.skip("one CPU: there is nothing to keep for foreground work")
    applied, _ = apply_os_priority(child, Priority.BATCH, cgroup_root=no_cgroup)
    confined = allowed - {min(allowed)}
    assert all(os.sched_getaffinity(tid) == confined for tid in _tids(child))
    assert any(line.startswith("affinity cpus ") and "of 3 threads" in line for line in applied)
    apply_os_priority(child, Priority.REALTIME, cgroup_root=no_cgroup)
    assert all(os.sched_getaffinity(tid) == allowed for tid in _tids(child))


def test_lowering_priority_shows_in_nice_and_raising_is_applied_or_refused(
    child: int, no_cgroup: Path
) -> None:
    applied, _ = apply_os_priority(child, Priority.BATCH, cgroup_root=no_cgroup)
    assert "nice 10 on 3 of 3 threads" in applied
    assert all(os.getpriority(os.PRIO_PROCESS, tid) == 10 for tid in _tids(child))
    # Raising needs CAP_SYS_NICE (or RLIMIT_NICE): either done, or a refused line.
    applied, refused = apply_os_priority(child, Priority.REALTIME, cgroup_root=no_cgroup)
    if "nice -10 on 3 of 3 threads" in applied:
        assert all(os.getpriority(os.PRIO_PROCESS, tid) == -10 for tid in _tids(child))
    else:
        assert any(line.startswith("nice -10: ") for line in refused)


def test_idle_uses_sched_idle(child: int, no_cgroup: Path) -> None:
    applied, _ = apply_os_priority(child, Priority.IDLE, cgroup_root=no_cgroup)
    assert "SCHED_IDLE on 3 threads" in applied
    assert all(os.sched_getscheduler(tid) == os.SCHED_IDLE for tid in _tids(child))


def test_affinity_keeps_one_cpu_for_foreground_unless_there_is_only_one() -> None:
    assert affinity_for_class(Priority.BATCH, {0, 1, 2}) == ({1, 2}, True)
    assert affinity_for_class(Priority.IDLE, {3}) == ({3}, False)
    assert affinity_for_class(Priority.REALTIME, {2, 5}) == ({2, 5}, False)


def test_the_real_cgroup_hierarchy_gives_a_clear_refusal(child: int) -> None:
    try:
        _cgroup._plan(child, Priority.BATCH, _cgroup.PROC, None)  # checks only, no changes
    except _cgroup._Refused:
        pass
    else:
        pytest.skip("cgroup v2 cpu is delegated here; tests do not move real processes")
    applied, refused = apply_os_priority(child, Priority.BATCH)
    lines = [line for line in refused if line.startswith("cgroup weight: ")]
    assert len(lines) == 1
    assert any(word in lines[0] for word in ("cgroup v1", "not available", "not delegated"))
    assert not any(line.startswith("cgroup") for line in applied)


# --- a fake cgroup v2 tree: plain files in a temporary directory ---------------------------


TARGET = 4242  # a made-up pid; the fake tree never touches the real process


@dataclass
class FakeCgroupTree:
    """A fake /proc (mountinfo, self/cgroup, <pid>/cgroup) and a fake cgroup v2 mount."""

    proc: Path
    mount: Path

    def cgroup(self, path: str) -> Path:
        return self.mount / path.strip("/")


def fake_cgroup_tree(
    tmp_path: Path,
    *,
    daemon: str = "/app.slice/ainos.service",
    target: str = "/app.slice/ainos.service/worker",
    controllers: str = "cpu memory pids",
    subtree_control: str = "",
    base_procs: tuple[int, ...] = (),
    cgroup2: bool = True,
) -> FakeCgroupTree:
    proc, mount = tmp_path / "fake-proc", tmp_path / "fake-cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / str(TARGET)).mkdir()
    fstype = "cgroup2 cgroup2 rw" if cgroup2 else "cgroup cgroup rw,cpu"
    (proc / "self" / "mountinfo").write_text(
        f"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        f"41 31 0:38 / {mount} rw,relatime - {fstype}\n"
    )
    (proc / "self" / "cgroup").write_text(f"1:cpu:/\n0::{daemon}\n")
    (proc / str(TARGET) / "cgroup").write_text(f"0::{target}\n")
    tree = FakeCgroupTree(proc, mount)
    for group in {"/", daemon, target}:
        tree.cgroup(group).mkdir(parents=True, exist_ok=True)
        (tree.cgroup(group) / "cgroup.procs").write_text("")
    base = tree.cgroup(daemon).parent if "/ainos-" in daemon else tree.cgroup(daemon)
    (base / "cgroup.controllers").write_text(controllers)
    (base / "cgroup.subtree_control").write_text(subtree_control)
    (base / "cgroup.procs").write_text("".join(f"{pid}\n" for pid in base_procs))
    return tree


def _weigh(tree: FakeCgroupTree, priority: Priority) -> tuple[list[str], list[str]]:
    return apply_cgroup_weight(TARGET, priority, proc=tree.proc)


def test_fake_tree_daemon_moves_to_a_leaf_and_the_process_gets_its_class_weight(
    tmp_path: Path,
) -> None:
    tree = fake_cgroup_tree(tmp_path, base_procs=(os.getpid(),))
    base = tree.cgroup("/app.slice/ainos.service")
    applied, refused = _weigh(tree, Priority.BATCH)
    assert refused == []
    assert applied == [f"cgroup cpu.weight 20: moved into {base / 'ainos-batch'}"]
    assert (base / "ainos-daemon" / "cgroup.procs").read_text() == str(os.getpid())
    assert (base / "cgroup.subtree_control").read_text() == "+cpu"
    assert (base / "ainos-batch" / "cpu.weight").read_text() == "20"
    assert (base / "ainos-batch" / "cgroup.procs").read_text() == str(TARGET)
    # the cgroup the process came from, shared with others, keeps its weight
    assert not (base / "worker" / "cpu.weight").exists()


def test_fake_tree_class_groups_are_reused_next_to_the_daemon_leaf(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(
        tmp_path,
        daemon="/app.slice/ainos.service/ainos-daemon",
        target="/app.slice/ainos.service/ainos-batch",
        subtree_control="cpu memory",
    )
    base = tree.cgroup("/app.slice/ainos.service")
    applied, refused = _weigh(tree, Priority.REALTIME)
    assert refused == []
    assert applied == [f"cgroup cpu.weight 500: moved into {base / 'ainos-realtime'}"]
    assert (base / "ainos-realtime" / "cpu.weight").read_text() == "500"
    assert (base / "cgroup.subtree_control").read_text() == "cpu memory"  # left alone
    (tree.proc / str(TARGET) / "cgroup").write_text("0::/app.slice/ainos.service/ainos-realtime\n")
    assert _weigh(tree, Priority.REALTIME)[0] == [
        f"cgroup cpu.weight 500: already in {base / 'ainos-realtime'}"
    ]


def test_fake_tree_the_root_cgroup_needs_no_leaf(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(tmp_path, daemon="/", target="/", base_procs=(1, os.getpid()))
    applied, refused = _weigh(tree, Priority.IDLE)
    assert refused == []
    assert applied == [f"cgroup cpu.weight 1: moved into {tree.mount / 'ainos-idle'}"]
    assert (tree.mount / "ainos-idle" / "cpu.weight").read_text() == "1"
    assert not (tree.mount / "ainos-daemon").exists()


def _only_refusal(tree: FakeCgroupTree) -> str:
    applied, refused = _weigh(tree, Priority.BATCH)
    assert applied == []
    assert len(refused) == 1
    assert not list(tree.mount.rglob("ainos-*")), "a refusal changes nothing"
    return refused[0]


def test_fake_tree_cgroup_v1_only_is_refused(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(tmp_path, cgroup2=False)
    assert find_cgroup2_mount(tree.proc) is None
    assert _only_refusal(tree) == (
        "cgroup weight: no cgroup v2 hierarchy is mounted (cgroup v1 only)"
    )


def test_fake_tree_without_the_cpu_controller_is_refused(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(tmp_path, controllers="hugetlb")
    assert "cpu controller is not available" in _only_refusal(tree)


def test_fake_tree_other_processes_in_the_daemon_cgroup_are_refused(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(tmp_path, base_procs=(os.getpid(), 77))
    assert "'no internal processes' rule" in _only_refusal(tree)


def _deny_writes(monkeypatch: pytest.MonkeyPatch, denied: Callable[[Path], bool]) -> None:
    """Stand in for file modes, which root (as the tests may run) ignores."""
    real_access = os.access

    def access(path: str | os.PathLike[str], mode: int) -> bool:
        if mode == os.W_OK and denied(Path(path)):
            return False
        return real_access(path, mode)

    monkeypatch.setattr(os, "access", access)


def test_fake_tree_not_delegated_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = fake_cgroup_tree(tmp_path)
    _deny_writes(monkeypatch, lambda path: path.name == "cgroup.subtree_control")
    refusal = _only_refusal(tree)
    assert refusal.startswith("cgroup weight: cgroup v2 cpu controller not delegated")
    assert "cgroup.subtree_control not writable" in refusal


def test_fake_tree_a_process_outside_the_delegated_subtree_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = fake_cgroup_tree(tmp_path, target="/user.slice/session-3.scope")
    _deny_writes(monkeypatch, lambda path: path == tree.mount / "cgroup.procs")
    assert "outside the daemon's delegated cgroup" in _only_refusal(tree)


def test_fake_tree_an_os_error_while_applying_is_a_refused_line(tmp_path: Path) -> None:
    tree = fake_cgroup_tree(tmp_path)
    base = tree.cgroup("/app.slice/ainos.service")
    (base / "ainos-batch").write_text("a file where the group should be")
    applied, refused = _weigh(tree, Priority.BATCH)
    assert applied == []
    assert refused == [f"cgroup weight: creating {base / 'ainos-batch'}: File exists"]


def test_cgroup2_mount_is_found_on_a_hybrid_system_and_escapes_are_decoded(
    tmp_path: Path,
) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "41 31 0:38 / /sys/fs/cgroup/un\\040ified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
    )
    assert find_cgroup2_mount(tmp_path) == Path("/sys/fs/cgroup/un ified")
