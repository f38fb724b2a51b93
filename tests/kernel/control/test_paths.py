"""The daemon's private socket directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ainos.errors import PermissionDenied
from ainos.kernel.control._paths import private_directory


def test_created_private_and_tightened_when_open(tmp_path: Path) -> None:
    made = private_directory(tmp_path / "run" / "ainos")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    made.chmod(0o755)
    private_directory(made)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_a_file_in_the_way_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PermissionDenied, match="is not a directory owned by this user"):
        private_directory(blocker)
    with pytest.raises(PermissionDenied, match=r"^cannot create .*/file/run: Not a directory$"):
        private_directory(blocker / "run")
