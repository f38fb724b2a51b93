"""Which sandbox mechanisms work on this machine, and which one a policy gets.

A mechanism works only if a real probe succeeds (bubblewrap fails in many containers and
under AppArmor even when installed); probes run once per process. ``AINOS_SANDBOX``
(``auto`` | ``bubblewrap`` | ``landlock`` | ``none``) overrides the automatic choice.
"""

from __future__ import annotations

import errno
import functools
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from ainos.app.agent.sandbox import _landlock
from ainos.app.agent.sandbox._bwrap import find_bwrap, probe_bwrap
from ainos.app.agent.sandbox._policy import PROTECTED_NAMES, SandboxPolicy
from ainos.app.agent.sandbox._probe import probe_program, run_probe
from ainos.errors import InvalidArgument, SandboxUnavailable

__all__ = [
    "ENV_OVERRIDE",
    "MECHANISMS",
    "Mechanism",
    "MechanismStatus",
    "SandboxReport",
    "check_sandbox",
    "choose_mechanism",
    "sandbox_override",
]

Mechanism = Literal["bubblewrap", "landlock", "none"]
MECHANISMS: tuple[Mechanism, ...] = ("bubblewrap", "landlock")  # in the order auto tries them
ENV_OVERRIDE = "AINOS_SANDBOX"
_OVERRIDES = ("auto", "bubblewrap", "landlock", "none")
_PROTECTED = " and ".join(PROTECTED_NAMES)


@dataclass(frozen=True)
class MechanismStatus:
    name: Mechanism
    available: bool
    reason: str | None = None  # why it is not available
    version: str | None = None
    enforces: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()  # what it does not cover even when it works
    network_abi: bool = True  # whether it can deny network access (Landlock ABI ≥ 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "reason": self.reason,
            "version": self.version,
            "enforces": list(self.enforces),
            "gaps": list(self.gaps),
        }


@dataclass(frozen=True)
class SandboxReport:
    mechanisms: tuple[MechanismStatus, ...]
    override: str  # the AINOS_SANDBOX value in effect ("auto" when unset)
    auto: Mechanism | None  # what "auto" picks for a sandbox without network
    selected: Mechanism | None  # what is used, honouring the override
    refusals: tuple[str, ...] = field(default=())  # "name: why" for each one not used

    @property
    def ok(self) -> bool:
        return self.selected is not None

    def verdict(self) -> str:
        if self.selected is None:
            head = (
                f"{ENV_OVERRIDE}=none: no mechanism may be used"
                if self.override == "none"
                else "no sandbox mechanism works here"
            )
            return f"{head}; sandboxed commands will be refused ({'; '.join(self.refusals)})"
        how = (
            "chosen automatically" if self.override == "auto" else f"{ENV_OVERRIDE}={self.override}"
        )
        return f"sandboxed commands run under {self.selected} ({how})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "override": self.override,
            "auto": self.auto,
            "selected": self.selected,
            "refusals": list(self.refusals),
            "mechanisms": [m.to_dict() for m in self.mechanisms],
            "verdict": self.verdict(),
        }


def sandbox_override() -> str:
    value = os.environ.get(ENV_OVERRIDE, "").strip().lower() or "auto"
    if value not in _OVERRIDES:
        raise InvalidArgument(f"{ENV_OVERRIDE}={value!r} is not one of {', '.join(_OVERRIDES)}")
    return value


def _bubblewrap_status() -> MechanismStatus:
    enforces = (
        "filesystem writes",
        f"{_PROTECTED} stay read-only",
        "read-only mode: a scratch TMPDIR only",
        "network (own namespace)",
        "processes (own PID namespace)",
    )
    path = find_bwrap()
    if path is None:
        return MechanismStatus("bubblewrap", False, "not installed (no bwrap on PATH)")
    probe = probe_bwrap(path)
    return MechanismStatus(
        "bubblewrap", probe.works, probe.reason, probe.version, enforces if probe.works else ()
    )


@functools.cache
def _landlock_status() -> MechanismStatus:
    try:
        abi = _landlock.abi_version()
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            why = "kernel has no Landlock (ENOSYS)"
        elif exc.errno == errno.EOPNOTSUPP:
            why = "Landlock is disabled in this kernel (EOPNOTSUPP; see the lsm= boot option)"
        elif exc.errno is None:
            why = str(exc)
        else:
            code = errno.errorcode.get(exc.errno, str(exc.errno))
            why = f"landlock_create_ruleset refused: {exc.strerror} ({code})"
        return MechanismStatus("landlock", False, why)
    version = f"ABI {abi}"
    network = abi >= _landlock.NETWORK_ABI
    failure = _probe_landlock(deny_tcp=network)
    if failure is not None:
        return MechanismStatus("landlock", False, failure, version)
    enforces = ["filesystem writes"]
    gaps = [
        f"{_PROTECTED} stay writable",
        "read-only mode: a scratch TMPDIR only (as with bubblewrap)",
        "no PID namespace",
    ]
    if network:
        enforces.append("network: TCP bind/connect")
        gaps.insert(0, "network: UDP (DNS too) and other non-TCP sockets")
    else:
        gaps.insert(
            0, f"network (needs ABI {_landlock.NETWORK_ABI}, Linux 6.7): not for no-network use"
        )
    return MechanismStatus(
        "landlock", True, None, version, tuple(enforces), tuple(gaps), network_abi=network
    )


def _probe_landlock(*, deny_tcp: bool) -> str | None:
    return run_probe(_landlock.trampoline_argv([probe_program()], [], deny_tcp=deny_tcp))


def _statuses() -> tuple[MechanismStatus, ...]:
    return (_bubblewrap_status(), _landlock_status())


def _usable(status: MechanismStatus, *, network: bool) -> str | None:
    """Why ``status`` cannot serve a policy (``None``: it can)."""
    if not status.available:
        return status.reason
    if not network and not status.network_abi:
        return (
            f"{status.version} cannot deny network access "
            f"(needs ABI {_landlock.NETWORK_ABI}, Linux 6.7)"
        )
    return None


def _select(
    statuses: tuple[MechanismStatus, ...], override: str, *, network: bool
) -> tuple[Mechanism | None, list[str]]:
    reasons: list[str] = []
    for status in statuses:
        if override == "none":
            reasons.append(f"{status.name}: disabled by {ENV_OVERRIDE}=none")
            continue
        if override not in ("auto", status.name):
            reasons.append(f"{status.name}: not tried ({ENV_OVERRIDE}={override})")
            continue
        why = _usable(status, network=network)
        if why is None:
            return status.name, reasons
        reasons.append(f"{status.name}: {why}")
    return None, reasons


def check_sandbox() -> SandboxReport:
    """The state of every mechanism here, what ``auto`` picks, and what is used."""
    override = sandbox_override()
    statuses = _statuses()
    auto, _ = _select(statuses, "auto", network=False)
    selected, refusals = _select(statuses, override, network=False)
    return SandboxReport(statuses, override, auto, selected, tuple(refusals))


def choose_mechanism(policy: SandboxPolicy) -> Mechanism:
    """The mechanism that runs commands under ``policy``; ``none`` for danger-full-access.

    Raises :class:`SandboxUnavailable` naming why each mechanism cannot be used: a command
    that needs a sandbox is never run without one.
    """
    if not policy.sandboxed:
        return "none"
    selected, reasons = _select(_statuses(), sandbox_override(), network=policy.network)
    if selected is None:
        raise SandboxUnavailable(
            f"a {policy.mode} sandbox{'' if policy.network else ' without network'} is "
            f"needed and no mechanism works here: {'; '.join(reasons)}"
        )
    return selected
