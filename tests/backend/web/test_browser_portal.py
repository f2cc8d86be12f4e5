"""The portal in a real browser (Debian's Chromium): a holder registers, adds a vehicle, buys a permit with
the sandbox card, and the very next CheckPlate from a car (the real gRPC server on loopback, same database)
says PERMITTED; another holder gets 403 on that holder's pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Engine, select

from backend.config import BackendConfig
from backend.devices.tokens import add_device
from backend.permits.models import Permit
from backend.server import build_server
from backend.storage.base import utc_now
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.web.conftest import PASSWORD, LiveSite, add_account
from tests.backend.web.portal_helpers import CENTRE, add_type, add_zone

pytestmark = pytest.mark.slow


@pytest.fixture
def car(web_engine: Engine, live_site: LiveSite) -> Iterator[tuple[Any, tuple[tuple[str, str], ...]]]:
    """A device token and a CheckPlate stub on the real gRPC server, over the web app's database."""
    with live_site.sessions() as session:
        token = add_device(session, "car-1")
        session.commit()
    url = web_engine.url.render_as_string(hide_password=False)
    server, port = build_server(BackendConfig(database_url=url, port=0, auto_migrate=False))
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield pb_grpc.EnforcementStub(channel), (("authorization", f"Bearer {token}"),)
    finally:
        server.stop(grace=None)


def test_register_add_vehicle_buy_and_the_next_check_is_permitted(page: Any, live_site: LiveSite, car: Any) -> None:
    live_site.clock.now = utc_now()  # the car's server judges by the wall clock
    zone_id = add_zone(live_site.sessions)
    add_type(live_site.sessions, [zone_id], name="Downtown monthly")
    stub, auth = car
    at = Timestamp()
    at.FromDatetime(live_site.clock.now)
    query = pb.PlateQuery(plate_text="NYC 4821", at=at, gps=pb.GpsFix(latitude=CENTRE[0], longitude=CENTRE[1]))
    assert stub.CheckPlate(query, metadata=auth, timeout=10).outcome == pb.VIOLATION

    page.goto("/register")
    page.fill("#full_name", "Grace Hopper")
    page.fill("#email", "grace@example.org")
    page.fill("#password", "a long enough secret")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal**")
    page.click("text=Vehicles")
    page.fill("#plate", "nyc-4821")
    page.fill("#make", "Ford")
    page.click("text=Add vehicle")
    page.wait_for_selector("text=NYC4821 is on your list.")
    page.click("header >> text=Buy a permit")
    page.click("#permit-types >> text=Choose")
    page.click("text=See the price")
    page.wait_for_url("**/portal/orders/**")
    assert "Downtown monthly" in page.inner_text("#quote-lines")
    page.fill("#card_number", "4000 0000 0000 0002")
    page.fill("#card_expiry", "12/30")
    page.fill("#card_cvc", "123")
    page.click("#pay")
    assert "declined" in page.inner_text("#card_number-error")
    page.fill("#card_number", "4242 4242 4242 4242")
    page.fill("#card_cvc", "123")
    page.click("#pay")
    page.wait_for_url("**/portal/receipts/**")
    assert page.inner_text("#order-status") == "paid"
    code = page.inner_text("#permit-code")

    verdict = stub.CheckPlate(query, metadata=auth, timeout=10)
    assert verdict.outcome == pb.PERMITTED
    with live_site.sessions() as session:
        permit = session.scalars(select(Permit)).one()
    assert (permit.code, verdict.permit_id, verdict.permit_revision) == (code, permit.id, 1)


def test_a_holder_cannot_open_another_holders_pages(page: Any, live_site: LiveSite) -> None:
    add_type(live_site.sessions, price_minor=0)  # a free type: a permit without paying, quick to set up
    add_account(live_site.sessions, email="ada@example.org")
    add_account(live_site.sessions, email="bob@example.org", full_name="Bob Holder")
    page.goto("/sign-in")
    page.fill("#email", "ada@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/portal/vehicles")
    page.fill("#plate", "ADA1")
    page.click("text=Add vehicle")
    page.goto("/portal/buy")
    page.click("#permit-types >> text=Choose")
    page.click("text=See the price")
    page.wait_for_url("**/portal/orders/**")
    order_url = page.url
    page.click("#pay")
    page.wait_for_url("**/portal/receipts/**")
    receipt_url = page.url
    page.click("#permit-code")
    permit_url = page.url
    page.click("text=Sign out")

    page.fill("#email", "bob@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal**")
    for url in (permit_url, receipt_url, order_url):
        response = page.goto(url)
        assert response.status == 403, url
        assert "Not allowed" in page.inner_text("h1") and "ADA1" not in page.content()
