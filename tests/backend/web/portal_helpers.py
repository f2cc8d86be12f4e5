"""Rows and steps shared by the portal's tests: a zone, a permit type on sale, a holder with a vehicle."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.permits.models import PermitType, Proration, Validity, Zone
from tests.backend.factories import square
from tests.backend.web.conftest import post_form

# The demo city's neighbourhood: a square of 400 m around this point.
CENTRE = (40.7128, -74.0060)
CARD_OK = {"card_number": "4242 4242 4242 4242", "card_expiry": "12/30", "card_cvc": "123"}
CARD_DECLINED = {**CARD_OK, "card_number": "4000 0000 0000 0002"}


def add_zone(sessions: sessionmaker[Session], code: str = "Z1") -> str:
    with sessions() as session:
        zone = Zone(code=code, name=f"Zone {code}", geojson=square(*CENTRE, 200))
        session.add(zone)
        session.commit()
        return zone.id


def add_type(sessions: sessionmaker[Session], zone_ids: list[str] | None = None, **terms: Any) -> str:
    values: dict[str, Any] = {
        "code": "RES",
        "name": "Resident monthly",
        "price_minor": 3100,
        "validity": Validity.MONTHS,
        "months": 1,
        "proration": Proration.DAILY,
        "timezone": "America/New_York",
        "max_vehicles": 2,
    }
    values.update(terms)
    with sessions() as session:
        permit_type = PermitType(**values)
        permit_type.zones = [session.get_one(Zone, zone_id) for zone_id in zone_ids or []]
        session.add(permit_type)
        session.commit()
        return permit_type.id


def add_vehicle_form(client: TestClient, plate: str) -> Any:
    return post_form(client, "/portal/vehicles", "/portal/vehicles", {"plate": plate, "make": "Ford", "colour": "red"})


KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
VEHICLE_BOX = re.compile(r'name="(vehicle_[^"]+)"')


def quote_order(client: TestClient, type_id: str, zone_id: str | None = None) -> str:
    """Open the type's page, tick the first vehicle and ask for the price; returns the order's page path."""
    page = client.get(f"/portal/buy/{type_id}").text
    key = KEY.search(page)
    box = VEHICLE_BOX.search(page)
    assert key and box, page
    fields = {"idempotency_key": key.group(1), box.group(1): "on"}
    if zone_id:
        fields["home_zone_id"] = zone_id
    response = post_form(client, f"/portal/buy/{type_id}", f"/portal/buy/{type_id}", fields)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert isinstance(location, str)
    return location


def pay_fields(client: TestClient, order_page: str, card: dict[str, str]) -> dict[str, str]:
    key = KEY.search(client.get(order_page).text)
    assert key
    return {"idempotency_key": key.group(1), **card}
