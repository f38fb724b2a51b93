"""Fixtures for the sandbox tests: a workspace, a directory outside every writable root, and
the mechanisms this machine really has (bubblewrap, Landlock)."""

from __future__ import annotations

import ctypes
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.app.agent.sandbox import SandboxMode


def _landlock_abi() -> int:
    """Asked of the kernel directly, not through the code under test."""
    if platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


LANDLOCK_ABI = _landlock_abi()
HAVE_BWRAP = shutil.which("bwrap") is not None
needs_landlock = pytest.mark.skipif(
    LANDLOCK_ABI < 4, reason=f"kernel Landlock ABI {LANDLOCK_ABI} < 4 (no TCP rules)"
)

MECHANISMS = [
    pytest.param(
        "bubblewrap",
        marks=pytest.mark.skipif(not HAVE_BWRAP, reason="bwrap is not installed"),
    ),
    pytest.param("landlock", marks=needs_landlock),
]


@pytest.fixture
def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 without Landlock."""
    return LANDLOCK_ABI


@pytest.fixture
def have_bwrap() -> bool:
    return HAVE_BWRAP


@pytest.fixture(params=MECHANISMS)
def mechanism(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each mechanism in turn, forced through ``AINOS_SANDBOX``."""
    name: str = request.param
    monkeypatch.setenv("AINOS_SANDBOX", name)
    return name


@pytest.fixture(params=[pytest.param("none"), *MECHANISMS])
def any_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SandboxMode:
    """Unsandboxed (danger-full-access), then workspace-write under each mechanism."""
    if request.param == "none":
        return SandboxMode.DANGER_FULL_ACCESS
    monkeypatch.setenv("AINOS_SANDBOX", request.param)
    return SandboxMode.WORKSPACE_WRITE


@pytest.fixture(autouse=True)
def _no_tmpdir(monkeypatch: pytest.MonkeyPatch) -> None:
    # $TMPDIR is a writable root: keep it from widening what the tests expect.
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.delenv("AINOS_SANDBOX", raising=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the workspace, /tmp and $TMPDIR: never writable when sandboxed."""
    path = Path(tempfile.mkdtemp(prefix="ainos-sandbox-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
