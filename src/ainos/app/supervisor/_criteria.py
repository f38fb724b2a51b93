"""Judging a sub-agent's success criteria without a model: did the run *address* each one?

A criterion counts as met when the run produced evidence for it: at least one check ran to
completion, and most (``MET_PERCENT``, 60 %) of the criterion's content words occur in what
the run produced — the result text, the findings' messages and the names of the checks
that ran or found something (``dangerous-calls`` gives "dangerous" and "calls").

Content words are the criterion's lower-cased words minus stop words and the generic words
of a task ("report", "every", "all", "each", "list", …). Words are compared by a crude
stem (plural and ``-ed``/``-ing`` endings and a final "e" dropped, so "secrets" ≈ "secret",
"functions" ≈ "function", "coded" ≈ "code") and through a few synonyms (``SYNONYMS``:
"untested" is "test", "fixme" is "todo", "credential" is "secret", …). When the run has
findings, "file", "line", "path" and "location" count as present: every finding names one.

This is a heuristic of *addressed*, not of *true*: a summary that says "no secrets found"
addresses "report every secret" as well as one that lists them, and a finding can be wrong.
It is deterministic and its ``evidence`` says which words were found and which were not, so
a reader can see why a criterion was judged met.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ainos.app.supervisor._records import CriterionResult, Finding, SubAgentStatus

__all__ = ["GENERIC_WORDS", "MET_PERCENT", "STOP_WORDS", "SYNONYMS", "assess", "score"]

MET_PERCENT = 60  # share of a criterion's content words the run's output must contain

_STOP_WORDS = """a an and any are as at be been being but by can could do does for from has
have how if in into is it no nor not of on or so such than that the their them then there
these they this those to was were what when where which while who whom why will would you
your our we i me my us"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Words that say what to do rather than what about; they carry no evidence of their own.
_GENERIC_WORDS = """report reports every all each list with its find identify mention
mentions include includes give provide describe explain show should must least one more
most some please make sure also only name names"""
GENERIC_WORDS = frozenset(_GENERIC_WORDS.split())

# A few words a criterion uses for what a check calls by another name (before stemming).
SYNONYMS: dict[str, str] = {
    "untested": "test",
    "coverage": "test",
    "fixme": "todo",
    "credential": "secret",
    "password": "secret",
    "unsafe": "dangerous",
}

# A finding always names these, so a criterion asking for them is answered by any finding.
_LOCATION_WORDS = ("file", "line", "path", "location")

_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """A crude stem, the same on both sides of a comparison: plural, ``-ed``/``-ing`` and a
    final "e" dropped ("secrets" → "secret", "matches" → "match", "coded" → "cod")."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


_CANONICAL = {_stem(word): _stem(meaning) for word, meaning in SYNONYMS.items()}


def _canonical(word: str) -> str:
    stem = _stem(word)
    return _CANONICAL.get(stem, stem)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if any(c.isalpha() for c in w)]


def _content_words(criterion: str) -> dict[str, str]:
    """The criterion's content words: canonical form → the first word that had it."""
    content: dict[str, str] = {}
    for word in _words(criterion):
        if len(word) < 2 or word in STOP_WORDS or word in GENERIC_WORDS:
            continue
        content.setdefault(_canonical(word), word)
    return content


def _vocabulary(result_text: str, findings: Sequence[Finding], checks: Sequence[str]) -> set[str]:
    texts = [result_text, *checks]
    for finding in findings:
        texts += (finding.message, finding.check)
    vocabulary = {_canonical(word) for text in texts for word in _words(text)}
    if findings:
        vocabulary.update(_canonical(word) for word in _LOCATION_WORDS)
    return vocabulary


def _judge(criterion: str, vocabulary: set[str], ran: bool) -> CriterionResult:
    content = _content_words(criterion)
    found = [word for canonical, word in content.items() if canonical in vocabulary]
    missing = [word for canonical, word in content.items() if canonical not in vocabulary]
    parts = [f"found: {', '.join(found) or 'none'}"]
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    evidence = f"{len(found)}/{len(content)} words; " + "; ".join(parts)
    if not content:
        evidence = "no content words to look for"
    if not ran:
        return CriterionResult(criterion, False, f"no check ran to completion; {evidence}")
    met = len(found) * 100 >= len(content) * MET_PERCENT  # in integers: no float rounding
    return CriterionResult(criterion, met, evidence)


def assess(
    criteria: Sequence[str],
    result_text: str,
    findings: Sequence[Finding],
    checks: Sequence[str],
) -> tuple[CriterionResult, ...]:
    """Each criterion judged against the run's output (see the module's docstring)."""
    vocabulary = _vocabulary(result_text, findings, checks)
    return tuple(_judge(criterion, vocabulary, bool(checks)) for criterion in criteria)


def score(criteria_results: Sequence[CriterionResult], status: SubAgentStatus) -> float:
    """The share of criteria met; 1.0 for a completed run without criteria, 0.0 for a run
    that failed or was stopped."""
    if status != "completed":
        return 0.0
    if not criteria_results:
        return 1.0
    return sum(result.met for result in criteria_results) / len(criteria_results)
