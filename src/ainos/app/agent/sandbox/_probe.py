"""Trying a mechanism for real: run ``true`` inside it and say why it failed, if it did."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["PROBE_TIMEOUT_S", "probe_program", "run_probe"]

PROBE_TIMEOUT_S = 10.0


def probe_program() -> str:
    """What a probe runs inside the sandbox: ``true``, else this Python (which exits 0)."""
    return shutil.which("true") or sys.executable


def run_probe(argv: Sequence[str]) -> str | None:
    """Why ``argv`` (a sandbox wrapped around :func:`probe_program`) failed; None if it ran."""
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"probe timed out after {PROBE_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"probe could not start: {exc.strerror}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return "probe failed: " + (lines[0] if lines else f"exit status {done.returncode}")
    return None
