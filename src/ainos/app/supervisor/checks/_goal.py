"""The key terms of a goal in plain words: what a code search for it should look for."""

from __future__ import annotations

import re

__all__ = ["MAX_TERMS", "goal_terms"]

MAX_TERMS = 5

# Quotes around a phrase, not an apostrophe inside a word ("Let's", "project's").
# Also typographic quotes: \u201c \u201d \u2018 \u2019.
_QUOTED = re.compile(
    r"(?<!\w)[\"'`\u201c\u2018]([^\"'`\u201c\u201d\u2018\u2019\n]{2,80})[\"'`\u201d\u2019](?!\w)"
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r".*(?:_|\.|[a-z][A-Z]).*|[A-Z0-9]{2,}")  # snake, dotted, camel, CAPS
_MIN_WORD = 3


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS = _words(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    either else etc few for from further get gets got had has have having he her here hers
    him his how however i if in into is it its itself just let lets like may me might more
    most much must my myself no nor not now of off on once only or other our ours ourselves
    out over own per same she should so some such than that the their theirs them then there
    these they this those through thus to too under until up upon us very via was we were
    what when where whether which while who whom whose why will with within without would
    yet you your yours yourself
    """
)
# What a request says about the work, not about the code it is about.
_REQUEST_WORDS = _words(
    """
    analyse analyze analysed analyzed analysis analyses assess assessment audit audits
    bug bugs check checks code codebase codes complete comprehensive deep deeply describe
    detail detailed details explain explore file files find finding findings fix fixes full
    function functions give go handle handles help identify implement implemented
    implementation improve improvement improvements inspect investigate issue issues keep
    list look looks make module modules need needs overview please possible potential problem
    problems project provide quality quick report repo repository review reviews run scan search
    secure security see show source stuff summarise summarize summary tell test tests thing
    things thorough thoroughly understand use used uses using vulnerabilities vulnerability
    want way work works write
    """
)


def _is_key(word: str) -> bool:
    lowered = word.lower()
    return (
        len(word) >= _MIN_WORD
        and lowered not in _STOP_WORDS
        and lowered not in _REQUEST_WORDS
        and not word.isdigit()
    )


def goal_terms(goal: str) -> list[str]:
    """At most 5 terms of ``goal``: quoted phrases first, then identifiers (``parse_config``,
    ``ainos.kernel``, ``maskSecret``, ``GPU``), then other words, each group in the order
    given; stop words and words about the request itself ("review", "code", "please") left
    out. Identifiers keep their case; plain words are lower-cased."""
    quoted = [match.group(1).strip() for match in _QUOTED.finditer(goal)]
    rest = _QUOTED.sub(" ", goal)
    words = [word for word in _WORD.findall(rest) if _is_key(word)]
    identifiers = [word for word in words if _IDENTIFIER.fullmatch(word)]
    plain = [word.lower() for word in words if not _IDENTIFIER.fullmatch(word)]
    terms: list[str] = []
    seen: set[str] = set()
    for term in (*quoted, *identifiers, *plain):
        if term and term.lower() not in seen:
            seen.add(term.lower())
            terms.append(term)
    return terms[:MAX_TERMS]
