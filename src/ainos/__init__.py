"""ainos: an AI-native OS layer — a local AI runtime in three layers.

Layers (imports point down only): ``app`` → ``ai`` → ``kernel`` → ``protocol``.
"""

from typing import TYPE_CHECKING

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata costs ~35 ms, a fifth of `ainos --help`.
    if name != "__version__":
        raise AttributeError(f"module 'ainos' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ainos")
    except PackageNotFoundError:  # running from a source tree that was not installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
