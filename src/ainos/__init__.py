"""ainos: an AI-native OS layer — a local AI runtime in three layers.

Layers (imports point down only): ``app`` → ``ai`` → ``kernel`` → ``protocol``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ainos")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
