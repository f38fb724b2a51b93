"""What a hard-coded secret looks like, and how to show one without revealing it.

Each pattern matches a kind of credential; a capture group named ``secret`` marks the part
that is secret (a redactor replaces only that), otherwise the whole match is. Specific
kinds come first: where two patterns match the same text, the first names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ainos.app.supervisor._records import Severity

__all__ = [
    "SCAN_HINTS",
    "SECRET_PATTERNS",
    "SecretPattern",
    "is_placeholder",
    "is_reportable",
    "mask_secret",
    "secret_label",
]

_MASK = "…[redacted]"
_SHOWN = 4


@dataclass(frozen=True)
class SecretPattern:
    name: str
    regex: re.Pattern[str]
    severity: Severity


# The key names a generic assignment gives away: the name must end with one of them
# (``API_KEY``, ``db_password``, ``client_secret``), so ``token_url`` is not one.
_KEY_WORDS = (
    r"api[_-]?key|apikey|secret(?:[_-]?key)?|passw(?:or)?d|pwd|token|access[_-]?key"
    r"|auth[_-]?key|private[_-]?key|credentials?"
)
_NAME = rf"(?<![\w.-])(?P<name>[\w.-]*?(?i:{_KEY_WORDS}))"
_OPERATOR = r"[\"']?\s*(?::\s*[\w\[\]., |]+?\s*)?(?::=|=>|=|:)\s*"  # an annotation may sit between
_QUOTED_VALUE = r"[\"'](?P<secret>[^\"'\n]{8,})[\"']"
_ENV_NAME = (
    r"(?P<name>[A-Z0-9_]*(?:API_?KEY|SECRET|SECRET_?KEY|PASSWORD|PASSWD|PWD|TOKEN"
    r"|ACCESS_?KEY|AUTH_?KEY|PRIVATE_?KEY))"
)
# An unquoted .env / shell value: has a digit, and no character of code (parentheses).
_ENV_VALUE = r"(?P<secret>(?=[^\s#]*\d)[\w+/=.~:@!%^*-]{8,})"
_BASE64_BODY = r"(?P<secret>[A-Za-z0-9+/=]{16}(?:[A-Za-z0-9+/=\s]|\\[nr])*)"


# Tokens of known services start with a literal prefix, and each pattern starts with it; the
# word boundary before the prefix is a lookbehind after it: a pattern that starts with a
# literal is searched for many times faster than one that starts with ``\b``.


def _pattern(name: str, regex: str, severity: Severity) -> SecretPattern:
    return SecretPattern(name, re.compile(regex), severity)


SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    _pattern(
        "private-key",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[nr])*" + _BASE64_BODY,
        "critical",
    ),
    _pattern("aws-access-key-id", r"(?:AKIA|ASIA|ABIA|ACCA)(?<!\w....)[0-9A-Z]{16}\b", "critical"),
    _pattern(
        "aws-secret-access-key",
        r"(?i:aws_?secret_?access_?key)[\"']?\s*(?::=|=>|=|:)\s*[\"']?"
        r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        "critical",
    ),
    _pattern("google-api-key", r"AIza(?<!\wAIza)[\w-]{35}(?![\w-])", "critical"),
    _pattern(
        "github-token",
        r"(?:gh[pousr]_(?<!\w....)[A-Za-z0-9]{36,255}|github_pat_(?<!\wgithub_pat_)\w{22,255})\b",
        "critical",
    ),
    _pattern("gitlab-token", r"glpat-(?<!\wglpat-)[\w-]{20,}", "critical"),
    _pattern("slack-token", r"xox[abposr]-(?<!\w.....)[A-Za-z0-9-]{10,}", "critical"),
    _pattern(
        "slack-webhook",
        r"https://hooks\.slack\.com/services/T\w+/B\w+/(?P<secret>\w{16,})",
        "high",
    ),
    _pattern(
        "anthropic-api-key", r"sk-ant-(?<!\wsk-ant-)(?:api|admin)\d{2}-[\w-]{20,}", "critical"
    ),
    _pattern(
        "openai-api-key", r"sk-(?<!\wsk-)(?!ant-)(?:proj-|svcacct-|admin-)?[\w-]{20,}", "critical"
    ),
    _pattern("jwt", r"eyJ(?<!\weyJ)[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}", "high"),
    _pattern("secret-assignment", _NAME + _OPERATOR + _QUOTED_VALUE, "high"),
    _pattern(
        "env-secret",
        rf"(?m)^[ \t]*(?:export[ \t]+)?{_ENV_NAME}[ \t]*=[ \t]*{_ENV_VALUE}[ \t]*(?:#.*)?$",
        "high",
    ),
)  # fmt: skip

# Where a pattern can match: a fast necessary condition, so the scanner runs the pattern only
# on the lines around a hit of it (a pattern led by key names is slow over a whole file).
SCAN_HINTS: dict[str, re.Pattern[str]] = {
    "secret-assignment": re.compile(r"(?::=|=>|=|:)\s*[\"'][^\"'\n]{8,}[\"']"),
}

_LABELS = {
    "private-key": "private key",
    "aws-access-key-id": "AWS access key id",
    "aws-secret-access-key": "AWS secret access key",
    "google-api-key": "Google API key",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "slack-webhook": "Slack webhook URL",
    "anthropic-api-key": "Anthropic API key",
    "openai-api-key": "OpenAI API key",
    "jwt": "JSON Web Token",
    "secret-assignment": "hard-coded secret",
    "env-secret": "hard-coded secret",
}

_PLACEHOLDER_WORDS = (
    "example", "changeme", "change_me", "change-me", "placeholder", "dummy", "redacted",
    "replace_me", "replaceme", "replace-me", "your_", "your-", "yourkey", "yourtoken",
    "insert_", "insert-", "xxxx", "****", "...", "…", "<", ">", "${", "{{", "%(", "$(",
)  # fmt: skip
_WORD_LIKE = re.compile(r"[a-z]+(?:[_.-]+[a-z]+)*")  # "access_token": a name, not a secret
# A template's field ("{API_KEY}", "{0}", "%s"): filled in elsewhere.
_TEMPLATE_FIELD = re.compile(r"\{[\w.\[\]]*\}|%[sd]")
# Letters only: in an assignment a name ("challengePassword", "X-Api-Token"), not a value.
_NAME_LIKE = re.compile(r"[A-Za-z]+(?:[_.-]+[A-Za-z]+)*")
_GENERIC = frozenset({"secret-assignment", "env-secret"})  # found by the key's name alone


def secret_label(pattern: SecretPattern) -> str:
    """What a pattern finds, for people: "AWS access key id", "hard-coded secret"."""
    return _LABELS.get(pattern.name, pattern.name.replace("-", " "))


def is_placeholder(value: str) -> bool:
    """An obvious stand-in rather than a secret: "changeme", "xxxxxxxx", "<token>",
    "${API_KEY}", "{api_key}", "your_api_key_here", a word or name like "access_token", a
    phrase with spaces ("the api key"), one or two repeated characters."""
    value = value.strip()
    lowered = value.lower()
    if len(set(lowered)) <= 2 or " " in value or _WORD_LIKE.fullmatch(value):
        return True
    if _TEMPLATE_FIELD.search(value):
        return True
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def is_reportable(pattern: SecretPattern, value: str) -> bool:
    """Whether ``value``, the secret part of a match of ``pattern``, is worth a finding:
    not a placeholder, and for a pattern that goes by the key's name alone, not a name."""
    if is_placeholder(value):
        return False
    return pattern.name not in _GENERIC or not _NAME_LIKE.fullmatch(value.strip())


def mask_secret(value: str) -> str:
    """``value`` with all but its first few characters hidden: at most 4, fewer for a short
    value (a quarter of it), none past a space or control character."""
    shown = min(_SHOWN, len(value) // 4)
    prefix = value[:shown]
    for index, char in enumerate(prefix):
        if not char.isprintable() or char.isspace():
            prefix = prefix[:index]
            break
    return prefix + _MASK
