"""Which mechanism is chosen, what the report says, and how the refusal reads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ainos.app.agent.sandbox import (
    MechanismStatus,
    SandboxMode,
    SandboxPolicy,
    check_sandbox,
    choose_mechanism,
    run_command,
)
from ainos.app.agent.sandbox._check import _select
from ainos.errors import InvalidArgument, SandboxUnavailable


def test_report_shape(have_bwrap: bool, landlock_abi: int) -> None:
    report = check_sandbox()
    names = [m.name for m in report.mechanisms]
    assert names == ["bubblewrap", "landlock"]
    bubblewrap, landlock = report.mechanisms
    assert bubblewrap.available == have_bwrap  # bwrap works on this machine when installed
    assert landlock.available == (landlock_abi > 0)
    if landlock_abi:
        assert landlock.version == f"ABI {landlock_abi}"
        assert "filesystem writes" in landlock.enforces
        if landlock_abi >= 4:
            assert any("UDP" in gap for gap in landlock.gaps)
    assert report.override == "auto"
    assert report.auto == report.selected == ("bubblewrap" if have_bwrap else "landlock")
    assert report.ok
    document = report.to_dict()
    assert document["selected"] == report.selected
    assert [m["name"] for m in document["mechanisms"]] == names
    assert set(document["mechanisms"][0]) == {
        "name",
        "available",
        "reason",
        "version",
        "enforces",
        "gaps",
    }


def test_override_picks_the_mechanism(monkeypatch: pytest.MonkeyPatch, landlock_abi: int) -> None:
    if not landlock_abi:
        pytest.skip("the kernel has no Landlock")
    monkeypatch.setenv("AINOS_SANDBOX", "landlock")
    report = check_sandbox()
    assert report.selected == "landlock"
    assert report.refusals == ("bubblewrap: not tried (AINOS_SANDBOX=landlock)",)
    assert "AINOS_SANDBOX=landlock" in report.verdict()


def test_none_refuses_sandboxed_commands(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    monkeypatch.setenv("AINOS_SANDBOX", "none")
    with pytest.raises(SandboxUnavailable) as caught:
        run_command(["true"], cwd=workspace, policy=SandboxPolicy(SandboxMode.READ_ONLY, workspace))
    assert str(caught.value) == (
        "a read-only sandbox without network is needed and no mechanism works here: "
        "bubblewrap: disabled by AINOS_SANDBOX=none; landlock: disabled by AINOS_SANDBOX=none"
    )
    report = check_sandbox()
    assert not report.ok
    assert report.selected is None
    assert report.auto is not None  # what auto would have used is still shown
    assert "refused" in report.verdict()


def test_without_bwrap_on_path(
    monkeypatch: pytest.MonkeyPatch, workspace: Path, tmp_path: Path, landlock_abi: int
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("AINOS_SANDBOX", "bubblewrap")
    policy = SandboxPolicy(SandboxMode.WORKSPACE_WRITE, workspace)
    with pytest.raises(SandboxUnavailable, match=r"bubblewrap: not installed \(no bwrap on PATH\)"):
        choose_mechanism(policy)
    if not landlock_abi:
        return
    # auto falls back to Landlock, and still enforces.
    monkeypatch.setenv("AINOS_SANDBOX", "auto")
    result = run_command(
        [sys.executable, "-c", "open('/etc/ainos-sandbox-test', 'w')"], cwd=workspace, policy=policy
    )
    assert result.mechanism == "landlock"
    assert result.exit_code == 1
    assert result.likely_sandbox_denial


def test_a_bad_override_is_an_invalid_argument(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    monkeypatch.setenv("AINOS_SANDBOX", "firejail")
    with pytest.raises(InvalidArgument, match="AINOS_SANDBOX='firejail' is not one of auto"):
        choose_mechanism(SandboxPolicy(SandboxMode.READ_ONLY, workspace))


def test_danger_full_access_needs_no_mechanism(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    monkeypatch.setenv("AINOS_SANDBOX", "none")
    assert choose_mechanism(SandboxPolicy(SandboxMode.DANGER_FULL_ACCESS, workspace)) == "none"


def test_landlock_without_network_rules_serves_only_policies_with_network() -> None:
    # An old kernel (Landlock ABI 3) cannot exist here: its status is written out.
    old = MechanismStatus("landlock", True, version="ABI 3", network_abi=False)
    broken = MechanismStatus("bubblewrap", False, "probe failed: bwrap: setting up uid map")
    assert _select((broken, old), "auto", network=True) == (
        "landlock",
        ["bubblewrap: probe failed: bwrap: setting up uid map"],
    )
    selected, reasons = _select((broken, old), "auto", network=False)
    assert selected is None
    assert reasons[1] == "landlock: ABI 3 cannot deny network access (needs ABI 4, Linux 6.7)"
