"""Giving a process the cgroup v2 CPU weight of its priority class (boost_priority).

A cgroup's ``cpu.weight`` is shared by everything in it, so the weight of the process's
current cgroup is never touched. Instead the process is moved into a class group the
daemon owns, ``ainos-<class>``, created next to the daemon inside the daemon's own
cgroup. That is the cgroup v2 delegation contract (systemd ``Delegate=yes``, the user
manager's ``user@.service``): the delegated subtree may be changed, nothing above it.

Two kernel rules shape the steps:

* "no internal processes": a cgroup other than the root that holds processes cannot
  enable controllers for its children. When the daemon is alone in its cgroup it first
  moves itself into the leaf ``ainos-daemon``; when others are there too, it refuses
  rather than move processes it does not own.
* moving a process needs write access to ``cgroup.procs`` of the common ancestor of its
  old and new cgroup, so only processes inside a subtree delegated to this user (or any
  process, for root) can be moved.

Weights divide the CPU share of the daemon's cgroup among its class groups; they do not
reach beyond it. Everything is checked before anything is created, and whatever is not
possible is one refused line, never an exception. The /proc and cgroup roots are
parameters so the logic can be exercised against a fake tree.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ainos.protocol.scheduler import Priority

__all__ = ["CPU_WEIGHT_FOR_CLASS", "PROC", "apply_cgroup_weight", "find_cgroup2_mount"]

PROC = Path("/proc")
PREFIX = "ainos-"
DAEMON_LEAF = f"{PREFIX}daemon"

# cpu.weight is 1..10000, default 100. Interactive keeps the default, so it competes like
# any ordinary cgroup. About a factor 5 between classes: under contention realtime gets
# 5x an interactive group, batch 1/5 of one, idle the minimum. Gentler than the nice
# table (nice -10 is ~9x) because one weight covers every process in the group, and the
# daemon's own leaf (100) must still get to answer control requests.
CPU_WEIGHT_FOR_CLASS: dict[Priority, int] = {
    Priority.REALTIME: 500,
    Priority.INTERACTIVE: 100,
    Priority.BATCH: 20,
    Priority.IDLE: 1,
}

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class _Refused(Exception):
    """One reason the weight cannot be applied, already phrased for the refused list."""


@dataclass(frozen=True)
class _Mount:
    root: PurePosixPath  # the cgroup the mount shows at its mount point (not / in a namespace)
    path: Path


@dataclass(frozen=True)
class _Plan:
    base: Path  # the daemon's cgroup, parent of the class groups
    group: Path  # the class group the process goes into
    source: Path  # the process's cgroup now
    weight: int
    enable_cpu: bool  # "+cpu" must still be written to base/cgroup.subtree_control
    move_self: bool  # the daemon must first leave base for the ainos-daemon leaf


def apply_cgroup_weight(
    pid: int, priority: Priority, *, proc: Path = PROC, cgroup_root: Path | None = None
) -> tuple[list[str], list[str]]:
    """Move ``pid`` into the class group with this class's cpu.weight; (applied, refused).

    ``cgroup_root`` is the cgroup v2 mount; by default it is found in /proc/self/mountinfo.
    """
    try:
        plan = _plan(pid, priority, proc, cgroup_root)
        return [_carry_out(pid, plan)], []
    except _Refused as refusal:
        return [], [f"cgroup weight: {refusal}"]


def find_cgroup2_mount(proc: Path = PROC) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or .../unified on hybrid)."""
    mount = _cgroup2_mount(proc)
    return None if mount is None else mount.path


def _cgroup2_mount(proc: Path) -> _Mount | None:
    # mountinfo: id parent dev root mountpoint options [optional fields] - fstype source ...
    try:
        lines = (proc / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        fields = before.split()
        if after.split()[:1] == ["cgroup2"] and len(fields) >= 5:
            return _Mount(PurePosixPath(_unescape(fields[3])), Path(_unescape(fields[4])))
    return None


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def _plan(pid: int, priority: Priority, proc: Path, cgroup_root: Path | None) -> _Plan:
    """Every check, before anything is changed."""
    mount = _cgroup2_mount(proc) if cgroup_root is None else _Mount(PurePosixPath("/"), cgroup_root)
    if mount is None:
        raise _Refused("no cgroup v2 hierarchy is mounted (cgroup v1 only)")
    base = _base(mount, _cgroup_dir(mount, _membership(proc / "self" / "cgroup", "the daemon")))
    source = _cgroup_dir(mount, _membership(proc / str(pid) / "cgroup", f"process {pid}"))
    _check_delegated(base)
    enable_cpu = "cpu" not in _words(base / "cgroup.subtree_control")
    # The root cgroup is exempt from the "no internal processes" rule.
    move_self = enable_cpu and base != mount.path and _daemon_alone_in(base)
    group = base / f"{PREFIX}{priority.value}"
    if source != group:
        _check_move(pid, source, group)
    return _Plan(base, group, source, CPU_WEIGHT_FOR_CLASS[priority], enable_cpu, move_self)


def _base(mount: _Mount, own: Path) -> Path:
    """The parent of the class groups: the daemon's cgroup, or, once the daemon moved into
    one of its own groups, that group's parent. Exact names only: a unit named
    ainos-something.service is no group of ours."""
    ours = {DAEMON_LEAF} | {f"{PREFIX}{p.value}" for p in Priority}
    return own.parent if own.name in ours and own != mount.path else own


def _check_delegated(base: Path) -> None:
    """The cpu controller reaches base, and base may be changed by this user."""
    controllers = _words(base / "cgroup.controllers")
    if "cpu" not in controllers:
        raise _Refused(
            f"the cgroup v2 cpu controller is not available in {base} (controllers: "
            f"{' '.join(sorted(controllers)) or 'none'}; on a hybrid system it may be "
            "bound to cgroup v1)"
        )
    for needed in (base, base / "cgroup.subtree_control", base / "cgroup.procs"):
        if not os.access(needed, os.W_OK):
            raise _Refused(
                f"cgroup v2 cpu controller not delegated to this user ({needed} not writable)"
            )


def _daemon_alone_in(base: Path) -> bool:
    """Whether the daemon must leave base before its children get the cpu controller;
    refused when other processes are there, which are not the daemon's to move."""
    inside = _words(base / "cgroup.procs")
    if inside - {str(os.getpid())}:
        raise _Refused(
            f"{base} holds {len(inside)} processes, not all the daemon's, so its children "
            "cannot get the cpu controller (cgroup v2 'no internal processes' rule); run "
            "the daemon in a delegated cgroup of its own"
        )
    return bool(inside)


def _membership(cgroup_file: Path, who: str) -> PurePosixPath:
    """The cgroup v2 path from a /proc/<pid>/cgroup file (its ``0::`` line)."""
    try:
        lines = cgroup_file.read_text().splitlines()
    except FileNotFoundError:
        raise _Refused(f"{who} has ended") from None
    except OSError as exc:
        raise _Refused(f"cannot read {cgroup_file}: {exc.strerror or exc}") from None
    for line in lines:
        if line.startswith("0::"):
            return PurePosixPath(line[3:].strip())
    raise _Refused(f"{who} is in no cgroup v2 group (cgroup v1 only)")


def _cgroup_dir(mount: _Mount, cgroup: PurePosixPath) -> Path:
    # In a cgroup namespace, groups outside it show as /../..; those cannot be reached.
    if ".." in cgroup.parts or not cgroup.is_relative_to(mount.root):
        raise _Refused(f"cgroup {cgroup} is not reachable from the mount at {mount.path}")
    return mount.path.joinpath(*cgroup.relative_to(mount.root).parts)


def _check_move(pid: int, source: Path, group: Path) -> None:
    """The kernel wants cgroup.procs of the common ancestor writable to move a process."""
    common = Path(os.path.commonpath([source, group]))
    if not os.access(common / "cgroup.procs", os.W_OK):
        raise _Refused(
            f"process {pid} is in {source}, outside the daemon's delegated cgroup; moving "
            f"it needs write access to {common / 'cgroup.procs'}"
        )


def _words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror or exc}") from None


def _carry_out(pid: int, plan: _Plan) -> str:
    """Make the changes in the order the kernel accepts them; one line saying what."""
    step = ""
    try:
        if plan.move_self:
            step = f"moving the daemon into {plan.base / DAEMON_LEAF}"
            _move(os.getpid(), plan.base / DAEMON_LEAF)
        if plan.enable_cpu:
            step = f"enabling the cpu controller in {plan.base}"
            (plan.base / "cgroup.subtree_control").write_text("+cpu")
        step = f"creating {plan.group}"
        plan.group.mkdir(exist_ok=True)
        step = f"writing {plan.group / 'cpu.weight'}"
        (plan.group / "cpu.weight").write_text(str(plan.weight))
        if plan.source != plan.group:
            step = f"moving process {pid} into {plan.group}"
            _move(pid, plan.group)
    except OSError as exc:
        raise _Refused(f"{step}: {exc.strerror or exc}") from None
    where = "moved into" if plan.source != plan.group else "already in"
    return f"cgroup cpu.weight {plan.weight}: {where} {plan.group}"


def _move(pid: int, group: Path) -> None:
    group.mkdir(exist_ok=True)
    (group / "cgroup.procs").write_text(str(pid))
