"""``ainos ctl METHOD [PARAMS]``: any method of the running daemon's control plane, its
result as JSON — the methods no other command wraps (register_runtime, boost_priority, …),
scriptable without Python. It talks to the control socket only, so it imports nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ainos.errors import InvalidArgument, NotFound
from ainos.kernel.control import Client, ControlClient, MethodNotFound, default_socket_path


def _params(text: str | None) -> dict[str, Any]:
    """The params object from the command line (``-``: read it from stdin)."""
    if text is None:
        return {}
    source = sys.stdin.read() if text == "-" else text
    try:
        params = json.loads(source)
    except ValueError as exc:
        raise InvalidArgument(f"PARAMS is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise InvalidArgument(
            f"PARAMS must be a JSON object of named params, not {type(params).__name__}"
        )
    return params


def _print(document: object, compact: bool) -> None:
    if compact:
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _list(client: ControlClient, as_json: bool) -> None:
    methods = client.list_methods().methods
    if as_json:
        _print([m.model_dump(mode="json") for m in methods], compact=True)
        return
    width = max(len(m.name) for m in methods)
    for method in methods:
        sys.stdout.write(f"{method.name:<{width}}  {method.description}\n")


def ctl(
    method: str | None = typer.Argument(
        None, help="A control-plane method (ainos ctl --list shows them)."
    ),
    params: str | None = typer.Argument(
        None, help="Its params as a JSON object, e.g. '{\"pid\": 1234}' (-: read from stdin)."
    ),
    list_methods: bool = typer.Option(
        False, "--list", help="List the daemon's methods with a line about each."
    ),
    as_json: bool = typer.Option(False, "--json", help="Compact JSON on one line, for programs."),
    socket_path: Path | None = typer.Option(None, "--socket", help="The daemon's control socket."),
) -> None:
    """Call a method of the running daemon's control plane and print its result as JSON."""
    arguments = _params(params)  # a mistake in them is reported before any connection
    with Client(socket_path or default_socket_path()) as client:
        if list_methods or method is None:
            _list(client, as_json)
            return
        try:
            result = client.call(method, arguments)
        except MethodNotFound:
            known = ", ".join(m.name for m in client.list_methods().methods)
            raise NotFound(f"the daemon has no method {method!r} (known: {known})") from None
    _print(result, compact=as_json)


def register(app: typer.Typer) -> None:
    app.command("ctl")(ctl)
