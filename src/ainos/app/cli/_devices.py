"""``ainos devices``: compute devices and ONNX Runtime's view of them."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import emit_json, gpus, human_bytes, stdout
from ainos.kernel.devices import DeviceInventory


def devices(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Compute devices (CPU, NVIDIA GPUs via NVML) and ONNX Runtime execution providers."""
    with gpus() as nvml:
        inventory = DeviceInventory(nvml)
        found = inventory.devices
        ep_devices = inventory.ep_devices()
        providers = inventory.execution_providers()
    if as_json:
        emit_json(
            {
                "devices": [d.to_dict() for d in found],
                "ep_devices": [d.to_dict() for d in ep_devices],
                "execution_providers": providers,
            }
        )
        return
    table = Table(title="compute devices", title_justify="left")
    for column in ("id", "name", "vendor", "memory", "cores", "details"):
        table.add_column(column)
    for device in found:
        cores = (
            f"{device.physical_cores}/{device.logical_cores}"
            if device.logical_cores is not None
            else "-"
        )
        details = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("driver", device.driver_version),
                ("compute", device.compute_capability),
                ("pci", device.pci_bus_id),
                ("power limit", device.power_limit_watts),
            )
            if value is not None
        )
        table.add_row(
            device.id,
            escape(device.name),
            escape(device.vendor),
            human_bytes(device.memory_total_bytes),
            cores,
            details,
        )
    stdout.print(table)
    eps = Table(title="ONNX Runtime execution-provider devices", title_justify="left")
    for column in ("provider", "provider vendor", "device type", "device vendor", "metadata"):
        eps.add_column(column)
    for ep in ep_devices:
        eps.add_row(
            ep.ep_name,
            ep.ep_vendor,
            ep.device_type.value,
            ep.vendor,
            ", ".join(f"{k}={v}" for k, v in ep.ep_metadata.items()),
        )
    stdout.print(eps)
    stdout.print(f"available execution providers: {', '.join(providers) or 'none'}")


def register(app: typer.Typer) -> None:
    app.command("devices")(devices)
