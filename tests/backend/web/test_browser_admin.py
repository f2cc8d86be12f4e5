"""The admin console in a real browser (Debian's Chromium): a revoke is enforced at the very next verdict a car
gets over gRPC, and zones are drawn with clicks on the map or pasted as GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Role
from backend.config import BackendConfig
from backend.devices.tokens import add_device
from backend.permits.models import Zone
from backend.permits.zones import parse_zone_geometry
from backend.server import build_server
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import add_permit, square
from tests.backend.web.conftest import PASSWORD, LiveSite, add_account

pytestmark = pytest.mark.slow


def _sign_in_as_admin(page: Any, live_site: LiveSite) -> None:
    add_account(live_site.sessions, Role.ADMIN, email="admin@example.org", full_name="Ada Admin")
    page.goto("/sign-in")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin")


@pytest.fixture
def car(web_engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Any]:
    """A patrol car's view of the backend: the real gRPC server on loopback, on the web app's database."""
    with sessions() as session:
        token = add_device(session, "car-1")
        session.commit()
    url = web_engine.url.render_as_string(hide_password=False)
    server, port = build_server(BackendConfig(database_url=url, port=0))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = pb_grpc.EnforcementStub(channel)

    def check(plate: str) -> Any:
        auth = (("authorization", f"Bearer {token}"),)
        return stub.CheckPlate(pb.PlateQuery(plate_text=plate), metadata=auth, timeout=10)

    yield check
    channel.close()
    server.stop(grace=None)


def test_an_admin_revokes_a_permit_and_the_next_verdict_is_a_violation(
    page: Any, live_site: LiveSite, car: Any
) -> None:
    with live_site.sessions() as session:
        add_permit(session, "B123ABC", code="RES-0001")
    assert car("B123ABC").outcome == pb.PERMITTED
    _sign_in_as_admin(page, live_site)
    page.click("nav.subnav >> text=Permits")
    page.fill("#q", "b 123")
    page.click("form.search button[type=submit]")
    page.click("#permits >> text=RES-0001")
    assert page.inner_text("#permit-status") == "active"
    page.fill("#reason", "reported stolen by its holder")
    page.click("#action-revoke")
    page.wait_for_selector("p.flash")
    assert "revoked" in page.inner_text("p.flash")
    assert page.inner_text("#permit-status") == "revoked"
    verdict = car("B123ABC")
    assert verdict.outcome == pb.VIOLATION


def test_a_zone_drawn_on_the_map_then_a_pasted_one(page: Any, live_site: LiveSite) -> None:
    _sign_in_as_admin(page, live_site)
    page.goto("/admin/zones/new")
    page.fill("#code", "north")
    page.fill("#name", "North side")
    box = page.locator("#zone-editor").bounding_box()
    for dx, dy in [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]:
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    assert "4 corner(s)" in page.inner_text("#draw-status")
    page.click("#draw-finish")
    drawn = json.loads(page.input_value("#geojson"))
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5
    page.click("#zone-form button[type=submit]")
    page.wait_for_url("**/admin/zones?**")
    assert page.locator("#zones-map path.leaflet-interactive").count() == 1  # the map draws it, without tiles

    page.goto("/admin/zones/new")
    page.fill("#code", "south")
    page.fill("#name", "South side")
    page.fill("#geojson", '{"type": "Polygon", "coordinates": [[[26.1, 44.4], [26.2, 44.4], [26.2, 44.5]]]}')
    page.click("#zone-form button[type=submit]")
    assert "needs at least 4" in page.inner_text("#geojson-error")
    assert page.input_value("#name") == "South side"  # what was typed is kept
    page.fill("#geojson", square(44.40, 26.10, 400))
    page.click("#zone-form button[type=submit]")
    page.wait_for_url("**/admin/zones?**")
    assert page.locator("#zones-map path.leaflet-interactive").count() == 2
    page.locator("#zones-map path.leaflet-interactive").first.click()  # a zone on the map opens its page
    page.wait_for_url("**/admin/zones/*")
    assert page.input_value("#code") in ("NORTH", "SOUTH")
    with live_site.sessions() as session:
        zones = {zone.code: zone for zone in session.scalars(select(Zone))}
    assert sorted(zones) == ["NORTH", "SOUTH"]
    assert parse_zone_geometry(zones["NORTH"].geojson).area > 0
