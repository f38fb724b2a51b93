"""Sizing an LLM's KV cache to the memory it will live in.

Each sequence gets the model's full trained window by default, and the engine decodes
``parallel`` of them; their KV cache is ``bytes/token x window x parallel``. For a small model
that is a few hundred MB; for a large one with a long window it can exceed the machine, and
llama.cpp would fail or the kernel would kill the daemon. Fewer parallel sequences come off
first (requests queue instead); only when one full window does not fit is the window cut,
and the cut is reported. A window the user asked for is never cut: that is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ainos.errors import ModelError

__all__ = ["KV_MEMORY_SHARE", "KvFit", "fit_kv_cache"]

KV_MEMORY_SHARE = 0.5  # of the device's free memory: the weights and the rest need room too
_WINDOW_STEP = 256
_MIN_WINDOW = 512
_GIB = 1024**3


@dataclass(frozen=True)
class KvFit:
    context_tokens: int
    parallel: int
    kv_bytes: int | None  # the cache at that size, where the model says its shape
    note: str | None  # what was reduced to fit, and why


def fit_kv_cache(
    *,
    trained_context: int,
    requested_context: int | None,
    parallel: int,
    kv_bytes_per_token: int | None,
    free_bytes: int | None,
) -> KvFit:
    context = requested_context or trained_context
    if kv_bytes_per_token is None or free_bytes is None:
        return KvFit(context, parallel, None, None)
    budget = int(free_bytes * KV_MEMORY_SHARE)
    per_sequence = kv_bytes_per_token * context
    if per_sequence * parallel <= budget:
        return KvFit(context, parallel, per_sequence * parallel, None)
    fitting = budget // per_sequence
    if fitting >= 1:
        return KvFit(
            context,
            fitting,
            per_sequence * fitting,
            f"{fitting} parallel sequences instead of {parallel}: {parallel} windows of "
            f"{context} tokens need {per_sequence * parallel / _GIB:.1f} GiB of KV cache, "
            f"{budget / _GIB:.1f} GiB is available for it",
        )
    if requested_context is not None:
        raise ModelError(
            f"a {context}-token window needs {per_sequence / _GIB:.1f} GiB of KV cache; "
            f"{budget / _GIB:.1f} GiB is available: ask for a shorter context"
        )
    window = budget // kv_bytes_per_token // _WINDOW_STEP * _WINDOW_STEP
    if window < _MIN_WINDOW:
        raise ModelError(
            f"not even a {_MIN_WINDOW}-token window fits in the "
            f"{budget / _GIB:.2f} GiB available for the KV cache"
        )
    return KvFit(
        window,
        1,
        kv_bytes_per_token * window,
        f"a {window}-token window instead of the trained {context}: one full window needs "
        f"{per_sequence / _GIB:.1f} GiB of KV cache, {budget / _GIB:.1f} GiB is available",
    )
