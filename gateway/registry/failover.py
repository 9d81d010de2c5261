"""set_failover_role: the appliance answering the command API takes the primary or backup role; its failover
peer (another appliance with a failover role) takes the other one. check_health and get_appliances read the
same appliance rows, so both show the change. Plain Python: no Flask, no SQL."""

from __future__ import annotations

from dataclasses import replace

from gateway.errors import ParameterError
from gateway.registry.model import Appliance
from gateway.registry.service import Registry

ROLES = ("primary", "backup")
SYNC_STARTED = "Successfully started data sync. Role change will occur upon successful completion."
CHANGED = "Successfully changed role."


def set_failover_role(
    registry: Registry, this: Appliance, role: str, *, data_sync_first: bool, force: bool, now: int
) -> str:
    """Set the role of ``this`` (the appliance check_health describes; stored if it was not); the success
    message the vendor documents. The emulated data sync completes at once (its time and status are what
    check_health reports next)."""
    if role not in ROLES:
        raise ParameterError("Invalid role: use primary or backup.")
    appliances = registry.appliances()
    peers = [a for a in appliances if a.id != this.id and a.failover_role != "none"]
    if role == "backup" and this.failover_role == "primary" and not peers and not force:
        raise ParameterError(
            "The peer B Series Appliance cannot be contacted; set force=1 to become the backup anyway."
        )
    changed = [replace(this, failover_role=role)]
    other = "backup" if role == "primary" else "primary"
    changed += [replace(peer, failover_role=other) for peer in peers[:1]]
    if data_sync_first:
        changed = [replace(a, last_data_sync_time=now, last_data_sync_status="Success") for a in changed]
    registry.upsert_appliances(changed)
    return SYNC_STARTED if data_sync_first else CHANGED
