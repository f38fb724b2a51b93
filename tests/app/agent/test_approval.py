"""The approval gate: Codex's four policies, stored rules, allow-list-only, session and
project grants, patches inside and outside the writable roots; and which commands are known
to only read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ainos.app.agent._approval import (
    ApprovalDecision,
    ApprovalGate,
    ApprovalRequest,
    NoApprover,
    is_known_safe,
)
from ainos.app.agent._config import ApprovalPolicy
from ainos.app.agent._rules import ApprovalRules
from ainos.protocol.agent import FileUpdateChange

UNTRUSTED = ApprovalPolicy.UNTRUSTED
ON_FAILURE = ApprovalPolicy.ON_FAILURE
ON_REQUEST = ApprovalPolicy.ON_REQUEST
NEVER = ApprovalPolicy.NEVER

SAFE = ["ls", "-la"]
UNSAFE = ["rm", "-rf", "build"]


@dataclass
class Person:
    """Stands in for the person at the terminal: answers scripted decisions in order and
    records every question."""

    answers: list[ApprovalDecision] = field(default_factory=list)
    asked: list[ApprovalRequest] = field(default_factory=list)

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        self.asked.append(request)
        assert self.answers, f"unexpected question: {request.describe()}"
        return self.answers.pop(0)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def rules(tmp_path: Path) -> ApprovalRules:
    return ApprovalRules(tmp_path / "rules.sqlite3")


def gate_for(
    policy: ApprovalPolicy,
    person: Person,
    project: Path,
    rules: ApprovalRules | None = None,
    *,
    allow_list_only: bool = False,
) -> ApprovalGate:
    return ApprovalGate(policy, person, project, rules, allow_list_only=allow_list_only)


# -- commands under each policy ----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "argv", "escalate", "asks", "allowed", "sandboxed"),
    [
        # untrusted: only known read-only commands run without a question
        (UNTRUSTED, SAFE, False, False, True, True),
        (UNTRUSTED, UNSAFE, False, True, True, True),
        (UNTRUSTED, SAFE, True, True, True, False),
        # on-failure: everything runs sandboxed; asking comes after a sandbox denial
        (ON_FAILURE, SAFE, False, False, True, True),
        (ON_FAILURE, UNSAFE, False, False, True, True),
        (ON_FAILURE, UNSAFE, True, True, True, False),
        # on-request: the model asks (escalate) when it needs more than the sandbox
        (ON_REQUEST, SAFE, False, False, True, True),
        (ON_REQUEST, UNSAFE, False, False, True, True),
        (ON_REQUEST, UNSAFE, True, True, True, False),
        # never: nobody is asked; an escalation is refused outright
        (NEVER, SAFE, False, False, True, True),
        (NEVER, UNSAFE, False, False, True, True),
        (NEVER, UNSAFE, True, False, False, True),
    ],
)
def test_policy_decides_whether_to_ask(
    project: Path,
    policy: ApprovalPolicy,
    argv: list[str],
    escalate: bool,
    asks: bool,
    allowed: bool,
    sandboxed: bool,
) -> None:
    person = Person([ApprovalDecision.APPROVED] if asks else [])
    gate = gate_for(policy, person, project)

    verdict = gate.check_exec(argv, "call_1", project, escalate=escalate, reason="needs it")

    assert verdict.allowed is allowed
    assert len(person.asked) == (1 if asks else 0)
    if allowed:
        assert verdict.sandboxed is sandboxed
    else:
        assert "policy is never" in verdict.reason
    if asks:
        request = person.asked[0]
        assert (request.kind, request.call_id, request.cwd) == ("exec", "call_1", project)
        assert request.command == tuple(argv)
        assert request.reason == "needs it"


@pytest.mark.parametrize("decision", [ApprovalDecision.DENIED, ApprovalDecision.ABORT])
def test_a_declined_command_is_not_run_and_abort_ends_the_turn(
    project: Path, decision: ApprovalDecision
) -> None:
    gate = gate_for(UNTRUSTED, Person([decision]), project)

    verdict = gate.check_exec(UNSAFE, "call_1", project, escalate=False, reason=None)

    assert not verdict.allowed
    assert verdict.reason == "the user declined it"
    assert verdict.abort is (decision is ApprovalDecision.ABORT)


def test_nobody_to_ask_denies_and_says_how_to_allow_it(project: Path) -> None:
    gate = ApprovalGate(UNTRUSTED, NoApprover(), project)

    verdict = gate.check_exec(UNSAFE, "call_1", project, escalate=False, reason=None)

    assert not verdict.allowed
    assert not verdict.abort
    assert "nobody can answer" in verdict.reason
    assert "ainos approvals add" in verdict.reason
    # a known-safe command needs no answer, so it still runs
    assert gate.check_exec(SAFE, "call_2", project, escalate=False, reason=None).allowed


# -- grants --------------------------------------------------------------------------------


def test_a_session_grant_covers_the_same_command_only(project: Path) -> None:
    person = Person([ApprovalDecision.APPROVED_FOR_SESSION])
    gate = gate_for(UNTRUSTED, person, project)

    assert gate.check_exec(UNSAFE, "call_1", project, escalate=False, reason=None).allowed
    assert gate.check_exec(UNSAFE, "call_2", project, escalate=False, reason=None).allowed
    assert len(person.asked) == 1

    person.answers.append(ApprovalDecision.DENIED)
    other = ["rm", "-rf", "dist"]
    assert not gate.check_exec(other, "call_3", project, escalate=False, reason=None).allowed
    assert len(person.asked) == 2

    # a new session starts without the grant
    fresh = Person([ApprovalDecision.DENIED])
    again = gate_for(UNTRUSTED, fresh, project)
    assert not again.check_exec(UNSAFE, "call_4", project, escalate=False, reason=None).allowed
    assert len(fresh.asked) == 1


@pytest.mark.parametrize(
    "argv", [["make", "install"], ["bash", "-lc", "make install"]], ids=["argv", "bash-lc"]
)
def test_a_project_grant_is_stored_and_matches_next_time(
    project: Path, rules: ApprovalRules, argv: list[str]
) -> None:
    person = Person([ApprovalDecision.APPROVED_FOR_PROJECT])
    gate = gate_for(UNTRUSTED, person, project, rules)

    assert gate.check_exec(argv, "call_1", project, escalate=False, reason=None).allowed
    stored = rules.list_rules(project)
    assert [(r.kind, r.scope) for r in stored] == [("exec", project.resolve())]

    # another session, the same rules file: no question
    later = Person()
    next_gate = gate_for(UNTRUSTED, later, project, ApprovalRules(rules.path))
    assert next_gate.check_exec(argv, "call_2", project, escalate=False, reason=None).allowed
    assert later.asked == []
    # the rule is the project's: elsewhere the question comes back
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    other = Person([ApprovalDecision.DENIED])
    other_gate = gate_for(UNTRUSTED, other, elsewhere, ApprovalRules(rules.path))
    assert not other_gate.check_exec(argv, "call_3", elsewhere, escalate=False, reason=None).allowed
    assert len(other.asked) == 1


def test_a_stored_rule_approves_without_asking_even_an_escalation(
    project: Path, rules: ApprovalRules
) -> None:
    rules.add("exec", ["cargo", "build"], project=project)
    person = Person()
    gate = gate_for(UNTRUSTED, person, project, rules)

    plain = gate.check_exec(
        ["cargo", "build", "--release"], "c1", project, escalate=False, reason=None
    )
    escalated = gate.check_exec(["cargo", "build"], "c2", project, escalate=True, reason="net")

    assert plain.allowed
    assert plain.sandboxed
    assert escalated.allowed
    assert not escalated.sandboxed
    assert person.asked == []


# -- allow-list-only -----------------------------------------------------------------------


def test_allow_list_only_refuses_whatever_no_rule_matches(
    project: Path, rules: ApprovalRules
) -> None:
    rules.add("exec", ["git", "status"], project=None)
    person = Person()
    gate = gate_for(ON_REQUEST, person, project, rules, allow_list_only=True)

    ruled = gate.check_exec(["git", "status", "-s"], "c1", project, escalate=False, reason=None)
    safe = gate.check_exec(SAFE, "c2", project, escalate=False, reason=None)
    escalated = gate.check_exec(UNSAFE, "c3", project, escalate=True, reason="please")

    assert ruled.allowed
    assert not safe.allowed
    assert "allow-list-only" in safe.reason
    assert not escalated.allowed
    assert "allow-list-only" in escalated.reason
    assert not gate.retry_unsandboxed(UNSAFE, "c4", project, "Read-only file system").allowed
    assert person.asked == []


# -- on-failure retries ----------------------------------------------------------------------


def test_only_on_failure_offers_a_retry_outside_the_sandbox(project: Path) -> None:
    output = "pyenv: noise\ntouch: cannot touch '/etc/x': Read-only file system\n"
    for policy in (UNTRUSTED, ON_REQUEST, NEVER):
        person = Person()
        gate = gate_for(policy, person, project)
        assert not gate.retry_unsandboxed(["touch", "/etc/x"], "c1", project, output).allowed
        assert person.asked == []

    person = Person([ApprovalDecision.APPROVED, ApprovalDecision.DENIED])
    gate = gate_for(ON_FAILURE, person, project)
    assert gate.retry_unsandboxed(["touch", "/etc/x"], "c1", project, output).allowed
    assert not gate.retry_unsandboxed(["touch", "/etc/x"], "c2", project, output).allowed
    request = person.asked[0]
    assert request.command == ("touch", "/etc/x")
    assert request.reason is not None
    assert request.reason.endswith("touch: cannot touch '/etc/x': Read-only file system")


def test_a_session_grant_at_a_retry_covers_the_next_retry(project: Path) -> None:
    person = Person([ApprovalDecision.APPROVED_FOR_SESSION])
    gate = gate_for(ON_FAILURE, person, project)
    argv = ["touch", "/etc/x"]

    assert gate.retry_unsandboxed(argv, "c1", project, "Read-only file system").allowed
    assert gate.check_exec(argv, "c2", project, escalate=False, reason=None).allowed
    assert gate.retry_unsandboxed(argv, "c2", project, "Read-only file system").allowed
    assert len(person.asked) == 1


# -- patches -------------------------------------------------------------------------------


def patch_request(cwd: Path, *paths: str) -> ApprovalRequest:
    changes = tuple(FileUpdateChange(path=p, kind="add") for p in paths)
    return ApprovalRequest("patch", "call_p", cwd, changes=changes, diff="+x\n")


def test_a_patch_inside_the_writable_roots_needs_no_question(project: Path) -> None:
    target = project / "src" / "new.py"
    for policy in (ON_FAILURE, ON_REQUEST, NEVER):
        person = Person()
        verdict = gate_for(policy, person, project).check_patch(
            [target], [project], patch_request(project, "src/new.py")
        )
        assert verdict.allowed
        assert person.asked == []


def test_untrusted_asks_even_inside(project: Path) -> None:
    person = Person([ApprovalDecision.DENIED])
    gate = gate_for(UNTRUSTED, person, project)

    verdict = gate.check_patch([project / "a.py"], [project], patch_request(project, "a.py"))

    assert not verdict.allowed
    assert verdict.reason == "the user declined the patch"
    assert person.asked[0].describe() == "add a.py"


def test_a_patch_outside_the_writable_roots_asks_or_is_refused_under_never(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "x.txt"
    request = patch_request(project, str(outside))

    person = Person([ApprovalDecision.APPROVED])
    assert gate_for(ON_REQUEST, person, project).check_patch([outside], [project], request).allowed
    assert person.asked == [request]

    nobody = Person()
    refused = gate_for(NEVER, nobody, project).check_patch([outside], [project], request)
    assert not refused.allowed
    assert "outside the writable roots" in refused.reason
    assert nobody.asked == []

    aborting = Person([ApprovalDecision.ABORT])
    aborted = gate_for(ON_FAILURE, aborting, project).check_patch([outside], [project], request)
    assert not aborted.allowed
    assert aborted.abort


def test_patch_grants_for_the_session_and_the_project(project: Path, rules: ApprovalRules) -> None:
    inside_project = project / "docs" / "a.md"
    read_only_roots: list[Path] = []  # a read-only sandbox: every patch needs an approval

    person = Person([ApprovalDecision.APPROVED_FOR_SESSION])
    gate = gate_for(ON_REQUEST, person, project, rules)
    request = patch_request(project, "docs/a.md")
    assert gate.check_patch([inside_project], read_only_roots, request).allowed
    assert gate.check_patch([project / "b.md"], read_only_roots, request).allowed
    assert len(person.asked) == 1
    assert rules.list_rules() == []

    person = Person([ApprovalDecision.APPROVED_FOR_PROJECT])
    gate = gate_for(ON_REQUEST, person, project, rules)
    assert gate.check_patch([inside_project], read_only_roots, request).allowed
    assert [(r.kind, r.pattern) for r in rules.list_rules(project)] == [("patch", ("**",))]

    later = Person()
    next_gate = gate_for(ON_REQUEST, later, project, ApprovalRules(rules.path))
    assert next_gate.check_patch([project / "c" / "d.py"], read_only_roots, request).allowed
    assert later.asked == []


def test_allow_list_only_patches_need_a_rule(project: Path, rules: ApprovalRules) -> None:
    gate = gate_for(ON_REQUEST, Person(), project, rules, allow_list_only=True)
    request = patch_request(project, "src/a.py")

    refused = gate.check_patch([project / "src" / "a.py"], [project], request)
    assert not refused.allowed
    assert "allow-list-only" in refused.reason

    rules.add("patch", ["src/**"], project=project)
    assert gate.check_patch([project / "src" / "a.py"], [project], request).allowed
    assert not gate.check_patch([project / "setup.py"], [project], request).allowed


def test_nobody_to_ask_about_a_patch(project: Path, tmp_path: Path) -> None:
    gate = ApprovalGate(ON_REQUEST, NoApprover(), project)
    outside = tmp_path / "x.txt"

    verdict = gate.check_patch([outside], [project], patch_request(project, str(outside)))

    assert not verdict.allowed
    assert "ainos approvals add" in verdict.reason


# -- tools of registered MCP servers ---------------------------------------------------------


def mcp_request(project: Path, tool: str = "write") -> ApprovalRequest:
    return ApprovalRequest(
        "mcp", "call_m", project, server="files", tool=tool, arguments={"path": "a.txt"}
    )


@pytest.mark.parametrize(
    ("policy", "read_only", "contained", "asks", "allowed"),
    [
        # untrusted: only a tool the server marks read-only runs without a question
        (UNTRUSTED, True, False, False, True),
        (UNTRUSTED, False, True, True, True),
        # on-request, on-failure: read-only or contained is like a sandboxed command
        (ON_REQUEST, True, False, False, True),
        (ON_REQUEST, False, True, False, True),
        (ON_REQUEST, False, False, True, True),
        (ON_FAILURE, False, False, True, True),
        # never: nobody is asked; a tool acting outside any sandbox is refused
        (NEVER, False, True, False, True),
        (NEVER, False, False, False, False),
    ],
)
def test_policy_decides_whether_to_ask_about_an_mcp_tool(
    project: Path,
    policy: ApprovalPolicy,
    read_only: bool,
    contained: bool,
    asks: bool,
    allowed: bool,
) -> None:
    person = Person([ApprovalDecision.APPROVED] if asks else [])
    gate = gate_for(policy, person, project)

    verdict = gate.check_mcp(mcp_request(project), read_only=read_only, contained=contained)

    assert (bool(person.asked), verdict.allowed) == (asks, allowed)
    if not allowed:
        assert "runs uncontained; the policy is never" in verdict.reason


def test_an_mcp_question_describes_the_call(project: Path) -> None:
    request = mcp_request(project)
    assert request.describe() == 'write of MCP server files with {"path": "a.txt"}'
    long = ApprovalRequest("mcp", "c", project, server="s", tool="t", arguments={"x": "y" * 500})
    assert len(long.describe()) < 240


def test_mcp_grants_for_the_session_and_the_project(project: Path, rules: ApprovalRules) -> None:
    person = Person([ApprovalDecision.APPROVED_FOR_SESSION, ApprovalDecision.APPROVED_FOR_PROJECT])
    gate = gate_for(UNTRUSTED, person, project, rules)

    assert gate.check_mcp(mcp_request(project), read_only=False, contained=False).allowed
    assert gate.check_mcp(mcp_request(project), read_only=False, contained=False).allowed
    assert len(person.asked) == 1  # the same tool, granted for the session
    assert gate.check_mcp(mcp_request(project, "delete"), read_only=False, contained=False).allowed
    assert len(person.asked) == 2  # another tool is asked about

    stored = rules.match_mcp("files", "delete", project)
    assert stored is not None
    assert (stored.kind, stored.pattern) == ("mcp", ("files", "delete"))
    fresh = gate_for(UNTRUSTED, Person(), project, rules)
    assert fresh.check_mcp(mcp_request(project, "delete"), read_only=False, contained=False).allowed


def test_declining_or_nobody_to_ask_refuses_the_mcp_call(project: Path) -> None:
    gate = gate_for(ON_REQUEST, Person([ApprovalDecision.ABORT]), project)
    aborted = gate.check_mcp(mcp_request(project), read_only=False, contained=False)
    assert (aborted.allowed, aborted.abort, aborted.reason) == (
        False, True, "the user declined the tool call",
    )  # fmt: skip

    nobody = ApprovalGate(ON_REQUEST, NoApprover(), project)
    verdict = nobody.check_mcp(mcp_request(project), read_only=False, contained=False)
    assert not verdict.allowed
    assert "ainos approvals add" in verdict.reason


def test_allow_list_only_mcp_calls_need_a_rule(project: Path, rules: ApprovalRules) -> None:
    gate = gate_for(NEVER, Person(), project, rules, allow_list_only=True)
    assert not gate.check_mcp(mcp_request(project), read_only=True, contained=True).allowed

    rules.add("mcp", ["files"], project=None)  # every tool of the server, everywhere
    assert gate.check_mcp(mcp_request(project), read_only=False, contained=False).allowed


# -- known-safe commands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "-la"],
        ["cat", "README.md"],
        ["/usr/bin/grep", "-rn", "TODO", "."],
        ["git", "status"],
        ["git", "log", "--oneline", "-5"],
        ["git", "diff", "HEAD~1"],
        ["git", "branch", "-a"],
        ["find", ".", "-name", "*.py"],
        ["rg", "-n", "parse_patch"],
        ["sed", "-n", "10,20p", "src/a.py"],
        ["sed", "-n", "5p"],
        ["bash", "-lc", "ls -la && wc -l src/*.py"],
        ["bash", "-lc", "git status | head -5"],
        ["sh", "-c", "cat a.txt; echo done"],
    ],
)
def test_read_only_commands_are_known_safe(argv: list[str]) -> None:
    assert is_known_safe(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["rm", "-rf", "/"],
        ["python", "-c", "print(1)"],
        ["git", "push"],
        ["git", "-c", "core.pager=sh", "log"],
        ["git", "branch", "-D", "main"],
        ["git", "branch", "new-feature"],
        ["git", "log", "--output=/tmp/x"],
        ["find", ".", "-delete"],
        ["find", ".", "-exec", "rm", "{}", ";"],
        ["find", ".", "-fls", "out.txt"],
        ["rg", "--pre", "sh", "x"],
        ["rg", "--pre=sh", "x"],
        ["sed", "-i", "s/a/b/", "f"],
        ["sed", "-n", "1p", "-i", "f"],
        ["sed", "-n", "s/a/b/w out", "f"],
        ["sort", "-o", "out.txt", "in.txt"],
        ["sort", "--output=out.txt", "in.txt"],
        ["uniq", "in.txt", "out.txt"],
        ["date", "-s", "2020-01-01"],
        ["tree", "-o", "out.txt"],
        ["bash", "-lc", "ls > listing.txt"],
        ["bash", "-lc", "cat $(which rm)"],
        ["bash", "-lc", "ls `rm x`"],
        ["bash", "-lc", "ls && rm -rf build"],
        ["bash", "-lc", "ls & rm -rf build"],
        ["bash", "-lc", "echo hi;rm -rf build"],
        ["bash", "-lc", "cat a|sh"],
        ["bash", "-lc", "ls&&rm -rf build"],
        ["bash", "-lc", "echo hi\nrm -rf build"],
        ["bash", "-lc", "(rm -rf build)"],
        ["bash", "-lc", "echo 'unbalanced"],
        ["bash", "-lc", ""],
    ],
)
def test_anything_that_may_write_or_run_more_is_not(argv: list[str]) -> None:
    assert not is_known_safe(argv)
