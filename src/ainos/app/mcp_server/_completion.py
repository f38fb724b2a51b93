"""Argument completion: action ids for ``ainos://actions/{id}``, thread ids for
``ainos://conversations/{threadId}``, directories for the prompts' ``path``."""

from __future__ import annotations

from pathlib import Path

import mcp_types as types

from ainos.app.mcp_server._state import ServerState

__all__ = ["complete"]


def _directories(value: str) -> list[str]:
    typed = Path(value).expanduser() if value else Path(".")
    parent, stem = (typed, "") if value.endswith("/") or not value else (typed.parent, typed.name)
    try:
        children = sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    prefix = "" if parent == Path(".") and not value.startswith("./") else f"{parent}/"
    prefix = prefix.replace("//", "/")
    return [f"{prefix}{p.name}" for p in children if p.name.startswith(stem)]


def complete(
    state: ServerState,
    ref: types.ResourceTemplateReference | types.PromptReference,
    argument: str,
    value: str,
) -> list[str]:
    if isinstance(ref, types.ResourceTemplateReference):
        if ref.uri.startswith("ainos://actions/"):
            ids = [d.id for d in state.resources.actions.runtime.action_catalog.get_all_actions()]
            return sorted(i for i in ids if i.lower().startswith(value.lower()))
        if ref.uri.startswith("ainos://conversations/"):
            threads = state.conversations.store.list_threads(limit=200)
            return [t.id for t in threads if t.id.startswith(value)]
        return []
    if argument == "path":
        return _directories(value)
    if argument == "focus":
        options = ["security", "error handling", "tests", "performance", "readability"]
        return [o for o in options if o.startswith(value.lower())]
    return []
