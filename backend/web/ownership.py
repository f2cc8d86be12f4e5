"""What belongs to the signed-in holder: their vehicles, permits, orders and waitlist places. Anything else,
another holder's or unknown, is 403, so an id reveals nothing about whether it exists."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.billing.models import Order
from backend.permits.models import Permit, Vehicle, WaitlistEntry
from backend.web.security import ForbiddenError, Viewer


def own_vehicle(session: Session, viewer: Viewer, vehicle_id: str) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.owner_id != viewer.account.id:
        raise ForbiddenError
    return vehicle


def own_permit(session: Session, viewer: Viewer, permit_id: str) -> Permit:
    permit = session.get(Permit, permit_id)
    if permit is None or permit.holder_id != viewer.account.id:
        raise ForbiddenError
    return permit


def own_order(session: Session, viewer: Viewer, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.account_id != viewer.account.id:
        raise ForbiddenError
    return order


def own_waitlist(session: Session, viewer: Viewer, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.account_id != viewer.account.id:
        raise ForbiddenError
    return entry
