"""The agent's sandbox for shell commands, in the spirit of Codex CLI's.

A :class:`SandboxPolicy` says what a command may write and whether it may use the network
(modes ``read-only``, ``workspace-write``, ``danger-full-access``); :func:`run_command` runs
an argv under it and returns a :class:`CommandResult`; :func:`check_sandbox` reports which
mechanisms work here (``ainos sandbox check``).

Mechanisms on Linux, tried in this order:

- **bubblewrap** (``bwrap`` on ``PATH``): mount, PID and network namespaces. Enforces
  writes, protected ``.git``/``.ainos``, a private ``/tmp`` in read-only mode, and no network.
- **Landlock** (kernel ≥ 5.13; raw system calls): writes beneath the writable roots only;
  with Landlock ABI ≥ 4 (Linux 6.7) TCP bind/connect are refused, but UDP and other
  sockets are *not* covered; ``.git`` is not protected.

A mechanism counts only if a real probe succeeds (cached per process). When a policy needs
a sandbox and no mechanism works, :class:`ainos.errors.SandboxUnavailable` says why each
failed — a command is never run unsandboxed silently.

The environment variable ``AINOS_SANDBOX`` overrides the choice:

- ``auto`` (default): the first mechanism that works;
- ``bubblewrap`` or ``landlock``: only that one;
- ``none``: none at all — every sandboxed command is refused (``danger-full-access`` still
  runs), which is how the refusal is tested.

Commands run under a sandbox see ``AINOS_SANDBOXED=<mechanism>`` and, without network,
``AINOS_SANDBOX_NETWORK_DISABLED=1`` in their environment.
"""

from ainos.app.agent.sandbox._check import (
    ENV_OVERRIDE,
    Mechanism,
    MechanismStatus,
    SandboxReport,
    check_sandbox,
    choose_mechanism,
)
from ainos.app.agent.sandbox._policy import PROTECTED_NAMES, SandboxMode, SandboxPolicy
from ainos.app.agent.sandbox._run import CommandResult, run_command

__all__ = [
    "ENV_OVERRIDE",
    "PROTECTED_NAMES",
    "CommandResult",
    "Mechanism",
    "MechanismStatus",
    "SandboxMode",
    "SandboxPolicy",
    "SandboxReport",
    "check_sandbox",
    "choose_mechanism",
    "run_command",
]
