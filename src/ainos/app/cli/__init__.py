"""The ``ainos`` command."""

from ainos.app.cli._main import app, main

__all__ = ["app", "main"]
