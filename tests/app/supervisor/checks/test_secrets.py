"""Secrets planted in a project tree: found, masked, and placeholders left alone. Planted
values are put together at run time, so this file itself holds none."""

from __future__ import annotations

import json

from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks import scan_secrets

AWS_KEY_ID = "AKIA" + "Q3ZT7WX2M9KD4LPB"
OPENAI_KEY = "sk-" + "proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
DB_PASSWORD = "hunter2" + "Rocks99"
ENV_PASSWORD = "s3cret" + "Passw0rd"
ENV_TOKEN = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PEM_BODY = "MIIEow" + "IBAAKCAQEAx7" * 5
PRIVATE_KEY = (
    "-----BEGIN RSA "
    + "PRIVATE KEY-----\n"
    + f"{PEM_BODY}\n{PEM_BODY}\n"
    + "-----END RSA PRIVATE KEY-----\n"
)
IN_HIDDEN_DIR = "zz9Plural" + "Z4lpha"
PLANTED = (AWS_KEY_ID, OPENAI_KEY, DB_PASSWORD, ENV_PASSWORD, ENV_TOKEN, PEM_BODY)


def secret(severity: Severity, path: str, line: int, message: str) -> Finding:
    return Finding("secrets", severity, path, line, message)


def planted_project() -> dict[str, str]:
    config = f'''
        import os

        AWS_KEY = "{AWS_KEY_ID}"
        API_KEY = "{OPENAI_KEY}"
        DB_PASSWORD = "{DB_PASSWORD}"
        token_url = "https://accounts.host.test/oauth/token"
        DEFAULT_PASSWORD = "changeme"
        API_TOKEN = "<your-api-token>"
        SECRET_KEY = "${{SECRET_KEY}}"
        ACCESS_KEY = "xxxxxxxxxxxxxxxx"
        token_name = "access_token"
        AWS_EXAMPLE = "AKIAIOSFODNN7EXAMPLE"
        password = os.environ["PASSWORD"]
    '''
    return {
        "src/app/config.py": config,
        "deploy/key.pem": PRIVATE_KEY,
        ".env": f"DATABASE_PASSWORD={ENV_PASSWORD}\nGITHUB_TOKEN={ENV_TOKEN}\nDEBUG=true\n",
        ".env.example": "DATABASE_PASSWORD=changeme\nAPI_KEY=your_api_key_here\n",
        ".git/config": f'password = "{IN_HIDDEN_DIR}"\n',
        "docs/keys.md": "A key starts with `-----BEGIN RSA " + "PRIVATE KEY-----`.\n",
    }


def test_planted_secrets_are_found_and_placeholders_are_not(write_tree: WriteTree) -> None:
    root = write_tree(planted_project())
    assert scan_secrets(root) == [
        secret("critical", ".env", 2, "GitHub token: ghp_…[redacted]"),
        secret("critical", "deploy/key.pem", 1, "private key: MIIE…[redacted]"),
        secret("critical", "src/app/config.py", 3, "AWS access key id: AKIA…[redacted]"),
        secret("critical", "src/app/config.py", 4, "OpenAI API key: sk-p…[redacted]"),
        secret(
            "high", ".env", 1, "hard-coded secret assigned to DATABASE_PASSWORD: s3c…[redacted]"
        ),
        secret(
            "high",
            "src/app/config.py",
            5,
            "hard-coded secret assigned to DB_PASSWORD: hun…[redacted]",
        ),
    ]


def test_no_finding_holds_a_planted_secret(write_tree: WriteTree) -> None:
    root = write_tree(planted_project())
    dumped = json.dumps([finding.to_dict() for finding in scan_secrets(root)])
    for value in PLANTED:
        assert value not in dumped
        assert value[:8] not in dumped


def test_a_key_split_over_lines_is_reported_at_its_first_line(write_tree: WriteTree) -> None:
    root = write_tree({"a.txt": "intro\n\n" + PRIVATE_KEY})
    assert scan_secrets(root) == [secret("critical", "a.txt", 3, "private key: MIIE…[redacted]")]


def test_one_place_is_reported_once_by_the_most_specific_pattern(write_tree: WriteTree) -> None:
    root = write_tree({"settings.py": f'OPENAI_API_KEY = "{OPENAI_KEY}"\n'})
    assert scan_secrets(root) == [
        secret("critical", "settings.py", 1, "OpenAI API key: sk-p…[redacted]")
    ]


def test_binary_and_unparsable_files_do_not_stop_the_scan(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "blob.bin": b"\x00\x01" + AWS_KEY_ID.encode(),
            "broken.py": f'def f(:\n    KEY = "{AWS_KEY_ID}"\n',
            "latin1.cfg": f"caf\xe9 = 1\nkey = {AWS_KEY_ID}\n".encode("latin-1"),
        }
    )
    assert [(f.path, f.line) for f in scan_secrets(root)] == [("broken.py", 2), ("latin1.cfg", 2)]
