"""Hard-coded secrets: credentials of known kinds and secret-looking assignments.

Every text file is scanned, dotfiles such as ``.env`` included. A finding names the kind
and shows only :func:`mask_secret` of the value, never the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks._files import SourceFile, SourceTree, sorted_findings
from ainos.app.supervisor.checks._secret_patterns import (
    SCAN_HINTS,
    SECRET_PATTERNS,
    SecretPattern,
    is_reportable,
    mask_secret,
    secret_label,
)

__all__ = ["scan_secrets", "secrets_in"]


def _matches(pattern: SecretPattern, text: str) -> Iterator[re.Match[str]]:
    hint = SCAN_HINTS.get(pattern.name)
    if hint is None:
        yield from pattern.regex.finditer(text)
        return
    searched = 0  # the text before is done
    for near in hint.finditer(text):
        if near.start() < searched:
            continue
        start = text.rfind("\n", 0, near.start()) + 1
        end = text.find("\n", near.end())
        searched = len(text) if end < 0 else end
        for match in pattern.regex.finditer(text, start, searched):
            yield match
            searched = max(searched, match.end())


def _secrets_of(file: SourceFile) -> Iterator[Finding]:
    taken: list[tuple[int, int]] = []  # spans already reported: a second pattern adds nothing
    for pattern in SECRET_PATTERNS:
        for match in _matches(pattern, file.text):
            group = "secret" if "secret" in pattern.regex.groupindex else 0
            start, end = match.span(group)
            value = match.group(group)
            if not is_reportable(pattern, value) or any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            line = file.text.count("\n", 0, match.start()) + 1
            name = match.groupdict().get("name")
            where = f" assigned to {name}" if name else ""
            message = f"{secret_label(pattern)}{where}: {mask_secret(value)}"
            yield Finding("secrets", pattern.severity, file.path, line, message)


def secrets_in(tree: SourceTree) -> list[Finding]:
    return sorted_findings(finding for file in tree for finding in _secrets_of(file))


def scan_secrets(root: Path) -> list[Finding]:
    """Secrets under ``root``: private keys and cloud keys (critical), service tokens
    (critical), JWTs and secret-looking assignments (high)."""
    return secrets_in(SourceTree(root))
