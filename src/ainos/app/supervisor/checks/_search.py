"""Where terms occur in the text files under a root: a case-insensitive whole-word search."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks._files import SourceTree, sorted_findings, trimmed

__all__ = ["MAX_HITS_PER_TERM", "search_in", "search_terms"]

MAX_HITS_PER_TERM = 20


def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def search_in(tree: SourceTree, terms: Sequence[str]) -> list[Finding]:
    wanted = list(dict.fromkeys(term.strip() for term in terms if term.strip()))
    patterns = {term: _pattern(term) for term in wanted}
    hits: dict[str, list[Finding]] = {term: [] for term in wanted}
    if not wanted:
        return []
    for file in tree:
        for term, pattern in patterns.items():
            found = hits[term]
            if len(found) >= MAX_HITS_PER_TERM or not pattern.search(file.text):
                continue
            for number, line in enumerate(file.text.splitlines(), 1):
                if pattern.search(line):
                    message = f"{term}: {trimmed(line)}"
                    found.append(Finding("search", "info", file.path, number, message))
                    if len(found) >= MAX_HITS_PER_TERM:
                        break
        if all(len(found) >= MAX_HITS_PER_TERM for found in hits.values()):
            break
    return sorted_findings(finding for found in hits.values() for finding in found)


def search_terms(root: Path, terms: Sequence[str]) -> list[Finding]:
    """Where each of ``terms`` occurs under ``root`` as a whole word, any case (info): at
    most 20 places per term, the first in path order; each message quotes the line."""
    return search_in(SourceTree(root), terms)
