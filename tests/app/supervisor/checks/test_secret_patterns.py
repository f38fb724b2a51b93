"""The secret patterns one kind at a time, and masking. Planted values are put together at
run time, so this file itself holds no string a secret scanner would flag."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ainos.app.supervisor.checks import SECRET_PATTERNS, SecretPattern, mask_secret
from ainos.app.supervisor.checks._secret_patterns import is_placeholder, is_reportable

MASK = "…[redacted]"
PEM_BODY = "MIIEow" + "IBAAKCAQEAx7" * 5


def pattern(name: str) -> SecretPattern:
    return next(p for p in SECRET_PATTERNS if p.name == name)


def match_of(found_by: SecretPattern, text: str) -> tuple[str, str] | None:
    """What the pattern matched in ``text``, and the secret part of it."""
    match = found_by.regex.search(text)
    if match is None:
        return None
    return match.group(0), match.group("secret" if "secret" in found_by.regex.groupindex else 0)


@pytest.mark.parametrize(
    ("name", "text", "secret"),
    [
        (
            "aws-access-key-id",
            "key = '" + "AKIA" + "Q3ZT7WX2M9KD4LPB" + "'",
            "AKIA" + "Q3ZT7WX2M9KD4LPB",
        ),
        (
            "aws-secret-access-key",
            "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Zq3k9Lm2Pw",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Zq3k9Lm2Pw",
        ),
        (
            "private-key",
            "-----BEGIN RSA " + "PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----",
            PEM_BODY + "\n",
        ),
        (
            "private-key",
            'KEY = "-----BEGIN ' + "PRIVATE KEY-----\\n" + PEM_BODY + '\\n-----END"',
            PEM_BODY + "\\n",
        ),
        ("google-api-key", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", None),
        ("github-token", "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", None),
        ("github-token", "github" + "_pat_" + "11ABCDEFG0123456789_abcdefghijkl", None),
        ("gitlab-token", "gl" + "pat-" + "xY7zQ1wE3rT5yU9iO2pA", None),
        ("slack-token", "xo" + "xb-" + "123456789012-abcdefGHIJ", None),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/" + "T0123ABCD/B0456EFGH/" + "a1b2c3d4e5f6g7h8i9j0",
            "a1b2c3d4e5f6g7h8i9j0",
        ),
        ("anthropic-api-key", "sk-" + "ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2", None),
        ("openai-api-key", "sk-" + "proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2", None),
        ("jwt", "eyJ" + "hbGciOiJIUzI1NiJ9." + "eyJ" + "zdWIiOiIxMjM0In0." + "dBjftJeZ4CVP", None),
        ("secret-assignment", 'API_KEY = "' + "q8Wd2LmX" + 'zP0r"', "q8Wd2LmX" + "zP0r"),
        ("secret-assignment", "password: '" + "Tr0ub4dor" + "&3'", "Tr0ub4dor" + "&3"),
        ("secret-assignment", '"client_secret": "' + "9f8e7d6c5b" + '4a"', "9f8e7d6c5b" + "4a"),
        ("secret-assignment", 'db_password: str = "' + "n0tAW0rd" + '!!"', "n0tAW0rd" + "!!"),
        ("secret-assignment", 'SECRET_TOKEN="' + "h7Gk2Pq9" + 'Lm"', "h7Gk2Pq9" + "Lm"),
        ("env-secret", "export DB_PASSWORD=" + "s3cretPassw0rd", "s3cretPassw0rd"),
    ],
)
def test_each_kind_is_found_and_its_secret_marked(name: str, text: str, secret: str | None) -> None:
    found = match_of(pattern(name), text)
    assert found is not None
    matched, marked = found
    assert marked == (secret if secret is not None else matched)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("aws-access-key-id", "xAKIA" + "Q3ZT7WX2M9KD4LPB"),  # inside a longer word
        ("github-token", "gh" + "p_short"),
        ("openai-api-key", "task-" + "abcdefghijklmnopqrstuvwxyz"),  # ends in "sk-": a word
        ("private-key", "-----BEGIN RSA " + "PRIVATE KEY-----"),  # a header with no key
        ("secret-assignment", 'token_url = "' + "https://auth.host/oauth/token" + '"'),
        ("secret-assignment", 'if password == "' + "letmein99" + '":'),
        ("secret-assignment", 'API_KEY = "short"'),
        ("env-secret", "API_TOKEN=os.environ.get(" + "'X1')"),
        ("env-secret", "DB_PASSWORD=nodigitsatall"),
    ],
)
def test_look_alikes_are_not_found(name: str, text: str) -> None:
    assert match_of(pattern(name), text) is None


def test_patterns_have_unique_names_and_sensible_severities() -> None:
    names = [p.name for p in SECRET_PATTERNS]
    assert len(names) == len(set(names))
    severities = {p.name: p.severity for p in SECRET_PATTERNS}
    assert severities["private-key"] == severities["aws-access-key-id"] == "critical"
    assert severities["google-api-key"] == "critical"
    assert severities["secret-assignment"] == severities["env-secret"] == "high"


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "CHANGEME",
        "xxxxxxxxxxxx",
        "XXXX-XXXX-XXXX",
        "<your-api-key>",
        "${API_KEY}",
        "{{ secrets.token }}",
        "{OPENAI_API_KEY}",
        "Bearer%s",
        "key-{0}-suffix",
        "your_api_key_here",
        "sk-example-0123456789abcdef",
        "AKIAIOSFODNN7EXAMPLE",
        "access_token",
        "the api key",
        "********",
        "aaaaaaaaaaaa",
        "abababababab",
    ],
)
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["hunter2Rocks99", "Q3ZT7WX2M9KD4LPB", "s3cretPassw0rd"])
def test_secrets_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_mask_secret_shows_at_most_four_characters() -> None:
    assert mask_secret("AKIA" + "Q3ZT7WX2M9KD4LPB") == "AKIA" + MASK
    assert mask_secret("hunter2x") == "hu" + MASK  # a short value shows less
    assert mask_secret("abc") == MASK
    assert mask_secret("") == MASK
    assert mask_secret("a\nbcdefghijklmnop") == "a" + MASK  # never past a line break


@given(st.text())
def test_mask_secret_reveals_only_a_short_prefix(value: str) -> None:
    masked = mask_secret(value)
    assert masked.endswith(MASK)
    shown = masked[: -len(MASK)]
    assert value.startswith(shown)
    assert len(shown) <= min(4, len(value) // 4)
    assert "\n" not in masked


@pytest.mark.parametrize(
    ("name", "value", "reportable"),
    [
        ("secret-assignment", "challengePassword", False),  # a name, not a value
        ("secret-assignment", "X-Api-Access-Token", False),
        ("secret-assignment", "hf_oauth__refresh_token", False),
        ("secret-assignment", "hunter2Rocks99", True),
        ("aws-access-key-id", "AKIA" + "QWERTYUIOPASDFGH", True),  # letters only: still a key
        ("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE", False),
    ],
)
def test_is_reportable(name: str, value: str, reportable: bool) -> None:
    assert is_reportable(pattern(name), value) is reportable
