"""Choosing the device for a job: the driver's IOCTL_AI_GET_OPTIMIZED_GPU_PATH.

A pure function over the devices' current state, so the policy is tested without
hardware. Every choice carries its reasons: what was chosen, why, and why each other
device was not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ainos.errors import DeviceError
from ainos.protocol import (
    CandidateVerdict,
    Device,
    DeviceKind,
    JobRequirements,
    Placement,
    PlacementPolicy,
)


@dataclass(frozen=True)
class DeviceState:
    """A device and what it has to offer right now."""

    device: Device
    free_memory_bytes: int | None = None
    utilization_percent: float | None = None


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


# Lower rank = preferred. Performance puts accelerators first; power puts them last,
# since a discrete GPU woken for a job draws far more than a CPU or an NPU.
_PERFORMANCE_RANK = {DeviceKind.GPU: 0, DeviceKind.NPU: 1, DeviceKind.CPU: 2}
_POWER_RANK = {DeviceKind.NPU: 0, DeviceKind.CPU: 1, DeviceKind.GPU: 2}
_CPU_FIRST_RANK = {DeviceKind.CPU: 0, DeviceKind.GPU: 1, DeviceKind.NPU: 2}

_SortKey = tuple[float, ...]


def _key_for(policy: PlacementPolicy) -> Callable[[DeviceState], _SortKey]:
    def busy(state: DeviceState) -> float:
        return state.utilization_percent if state.utilization_percent is not None else 50.0

    def free(state: DeviceState) -> float:
        return -float(state.free_memory_bytes or 0)

    def power(state: DeviceState) -> float:
        return state.device.power_limit_watts or 0.0

    if policy is PlacementPolicy.MAX_PERFORMANCE:
        return lambda s: (_PERFORMANCE_RANK[s.device.kind], busy(s), free(s), s.device.index)
    if policy is PlacementPolicy.PREFER_GPU:
        return lambda s: (_PERFORMANCE_RANK[s.device.kind], free(s), busy(s), s.device.index)
    if policy is PlacementPolicy.MIN_POWER:
        return lambda s: (_POWER_RANK[s.device.kind], power(s), busy(s), s.device.index)
    return lambda s: (_CPU_FIRST_RANK[s.device.kind], busy(s), free(s), s.device.index)


def _verdict(state: DeviceState, requirements: JobRequirements) -> CandidateVerdict:
    device, free = state.device, state.free_memory_bytes
    if requirements.memory_bytes and free is not None and free < requirements.memory_bytes:
        reason = f"needs {_gib(requirements.memory_bytes)}, {_gib(free)} free"
        eligible = False
    else:
        eligible = True
        reason = f"{_gib(free)} free" if free is not None else "free memory unknown"
        if state.utilization_percent is not None:
            reason += f", {state.utilization_percent:.0f}% busy"
    return CandidateVerdict(
        device_id=device.id,
        eligible=eligible,
        reason=reason,
        free_memory_bytes=free,
        utilization_percent=state.utilization_percent,
    )


def optimized_path(requirements: JobRequirements, states: Sequence[DeviceState]) -> Placement:
    """Choose the device for a job, explaining the choice.

    Devices without the memory the job needs are not eligible. Among the rest, a
    ``preferred_kind`` wins when one of that kind is eligible (else the choice falls back
    and says so); ties are broken by the policy.
    """
    verdicts = {s.device.id: _verdict(s, requirements) for s in states}
    eligible = [s for s in states if verdicts[s.device.id].eligible]
    if not eligible:
        details = "; ".join(f"{v.device_id}: {v.reason}" for v in verdicts.values())
        raise DeviceError(f"no device can hold this job ({details or 'no devices'})")

    wanted = requirements.preferred_kind
    of_wanted_kind = [s for s in eligible if wanted is None or s.device.kind is wanted]
    fallback = not of_wanted_kind
    pool = of_wanted_kind or eligible
    chosen = min(pool, key=_key_for(requirements.policy))

    why = f"{requirements.policy.value} policy: {verdicts[chosen.device.id].reason}"
    if fallback:
        why = f"no eligible {wanted} device, fell back to {chosen.device.kind}; {why}"
    elif wanted is not None:
        why = f"preferred {wanted}; {why}"
    return Placement(
        device=chosen.device,
        reason=why,
        fallback=fallback,
        candidates=list(verdicts.values()),
    )
