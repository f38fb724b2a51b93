"""Writing a text file whole: a temporary sibling renamed over it, so a reader sees the old
content or the new, never half of it, and a failure leaves no partial file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomically"]


def write_text_atomically(path: Path, text: str, *, parents: bool = False) -> None:
    """``text`` (UTF-8) into ``path``, replaced whole; ``parents``: create missing
    directories first."""
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
