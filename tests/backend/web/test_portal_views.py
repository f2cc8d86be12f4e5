"""The portal through the real app: vehicles, buying with the sandbox card, idempotency, declines, swaps,
renewals, the waitlist, and that a holder never sees another holder's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.accounts.models import Role
from backend.audit.models import AuditEntry
from backend.billing.models import Order, Payment
from backend.permits.models import Permit, PermitRevision, Vehicle, WaitlistEntry
from backend.web.context import WebContext
from platepatrol.verdicts import Outcome
from tests.backend.web.conftest import Clock, add_account, csrf_from, post_form, sign_in
from tests.backend.web.portal_helpers import (
    CARD_DECLINED,
    CARD_OK,
    CENTRE,
    add_type,
    add_vehicle_form,
    add_zone,
    pay_fields,
    quote_order,
)


def count(sessions: sessionmaker[Session], table: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def holder(client: TestClient, sessions: sessionmaker[Session], email: str = "ada@example.org", **extra: Any) -> str:
    account = add_account(sessions, email=email, **extra)
    sign_in(client, email)
    return account.id


def test_vehicles_are_added_normalised_and_bad_plates_named_beside_the_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    holder(client, sessions)
    bad = add_vehicle_form(client, "--")
    assert bad.status_code == 422 and 'id="plate-error"' in bad.text and "letters and digits" in bad.text
    assert count(sessions, Vehicle) == 0
    assert add_vehicle_form(client, "ab-12 cd").status_code == 303
    listing = client.get("/portal/vehicles").text
    assert '<span class="plate">AB12CD</span>' in listing
    again = add_vehicle_form(client, "AB12CD")
    assert again.status_code == 422 and "already on your list" in again.text


def test_buy_with_the_sandbox_card_and_the_next_verdict_is_permitted(
    client: TestClient, sessions: sessionmaker[Session], app: FastAPI, clock: Clock
) -> None:
    zone_id = add_zone(sessions)
    type_id = add_type(sessions, [zone_id])
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    assert "Resident monthly" in client.get("/portal/buy").text
    order_page = quote_order(client, type_id, zone_id)
    page = client.get(order_page).text
    # Nov 25, 10:00 in New York: 6 of 30 days of November left, 3100 x 6 / 30.
    assert "$31.00" in page and "Already gone: 24 of 30 days" in page and "-$24.80" in page and "$6.20" in page
    paid = post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    assert paid.status_code == 303 and paid.headers["location"].startswith("/portal/receipts/")
    receipt = client.get(paid.headers["location"]).text
    assert "•••• 4242" in receipt and "4242 4242" not in receipt and 'id="permit-code"' in receipt
    web: WebContext = app.state.web
    verdict = web.enforcement.check("NYC1234", clock.now, CENTRE)
    assert verdict.outcome is Outcome.PERMITTED
    with sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"vehicle.add", "order.create", "payment.create", "permit.issue"} <= actions


def test_the_same_pay_form_posted_twice_charges_once(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    fields = pay_fields(client, order_page, CARD_OK)
    token = csrf_from(client.get(order_page).text)
    first = client.post(f"{order_page}/pay", data={"csrf_token": token, **fields})
    second = client.post(f"{order_page}/pay", data={"csrf_token": token, **fields})
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert (count(sessions, Payment), count(sessions, Permit)) == (1, 1)


def test_a_declined_card_leaves_no_permit_and_says_so_beside_the_card(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    declined = post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_DECLINED))
    assert declined.status_code == 402
    assert 'id="card_number-error"' in declined.text and "declined" in declined.text
    assert 'value="4000' not in declined.text  # the card number is not sent back
    assert (count(sessions, Permit), count(sessions, PermitRevision)) == (0, 0)
    with sessions() as session:
        assert session.scalars(select(Order.status)).one().value == "pending"
    # The holder tries the good card: paid.
    assert (
        post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK)).status_code == 303
    )
    assert count(sessions, Permit) == 1


def test_bad_card_details_are_named_field_by_field_and_nothing_is_charged(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    fields = pay_fields(
        client, order_page, {"card_number": "4242 4242 4242 4241", "card_expiry": "10/26", "card_cvc": "1"}
    )
    response = post_form(client, order_page, f"{order_page}/pay", fields)
    assert response.status_code == 422
    for field, message in [("card_number", "typo"), ("card_expiry", "expired"), ("card_cvc", "3 or 4 digits")]:
        assert f'id="{field}-error"' in response.text and message in response.text
    assert count(sessions, Payment) == 0


def test_choosing_no_vehicle_is_named_beside_the_vehicles(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    page = client.get(f"/portal/buy/{type_id}").text
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    response = post_form(client, f"/portal/buy/{type_id}", f"/portal/buy/{type_id}", {"idempotency_key": key})
    assert response.status_code == 422 and 'id="vehicle_ids-error"' in response.text
    assert count(sessions, Order) == 0


def test_swap_a_vehicle_and_the_verdicts_follow(
    client: TestClient, sessions: sessionmaker[Session], app: FastAPI, clock: Clock
) -> None:
    type_id = add_type(sessions, max_vehicles=1)
    holder(client, sessions)
    add_vehicle_form(client, "OLD1")
    order_page = quote_order(client, type_id)
    post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    add_vehicle_form(client, "NEW1")
    with sessions() as session:
        permit = session.scalars(select(Permit)).one()
        ids = {v.plate: v.id for v in session.scalars(select(Vehicle))}
    page = f"/portal/permits/{permit.id}"
    too_many = post_form(
        client, page, f"{page}/vehicles", {f"vehicle_{ids['OLD1']}": "on", f"vehicle_{ids['NEW1']}": "on"}
    )
    assert too_many.status_code == 422 and "at most 1 vehicle" in too_many.text
    blocked = post_form(client, "/portal/vehicles", f"/portal/vehicles/{ids['OLD1']}/remove", {})
    assert blocked.status_code == 409 and "swap another vehicle in first" in blocked.text
    assert post_form(client, page, f"{page}/vehicles", {f"vehicle_{ids['NEW1']}": "on"}).status_code == 303
    web: WebContext = app.state.web
    assert web.enforcement.check("NEW1", clock.now).outcome is Outcome.PERMITTED
    assert web.enforcement.check("OLD1", clock.now).outcome is Outcome.VIOLATION
    history = client.get(page).text
    assert history.count("<td>1</td>") == 1 and "<td>2</td>" in history  # two versions listed


def test_renew_in_the_window_extends_the_permit(
    client: TestClient, sessions: sessionmaker[Session], clock: Clock
) -> None:
    type_id = add_type(sessions, renew_days_before=7)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    with sessions() as session:
        permit = session.scalars(select(Permit)).one()
    page = f"/portal/permits/{permit.id}"
    assert "See the renewal price" in client.get(page).text  # ends Dec 1: the 7-day window is open
    key = client.get(page).text.split('name="idempotency_key" value="')[1].split('"')[0]
    renewal = post_form(client, page, f"{page}/renew", {"idempotency_key": key})
    assert renewal.status_code == 303
    renewal_page = renewal.headers["location"]
    assert "$31.00" in client.get(renewal_page).text and "2026-12-01 to 2026-12-31" in client.get(renewal_page).text
    post_form(client, renewal_page, f"{renewal_page}/pay", pay_fields(client, renewal_page, CARD_OK))
    with sessions() as session:
        renewed = session.get_one(Permit, permit.id)
    assert renewed.valid_until == datetime(2027, 1, 1, 5, tzinfo=UTC) and count(sessions, Permit) == 1


def test_sold_out_offers_the_waitlist(client: TestClient, sessions: sessionmaker[Session]) -> None:
    zone_id = add_zone(sessions)
    type_id = add_type(sessions, [zone_id], cap_per_zone=1)
    holder(client, sessions)
    add_vehicle_form(client, "ADA1")
    order_page = quote_order(client, type_id, zone_id)
    post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    other = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    holder(other, sessions, "bob@example.org")
    add_vehicle_form(other, "BOB1")
    page = other.get(f"/portal/buy/{type_id}").text
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    box = page.split('name="vehicle_')[1].split('"')[0]
    sold_out = post_form(
        other, f"/portal/buy/{type_id}", f"/portal/buy/{type_id}",
        {"idempotency_key": key, f"vehicle_{box}": "on", "home_zone_id": zone_id},
    )  # fmt: skip
    assert sold_out.status_code == 409 and "Join the waitlist" in sold_out.text
    joined = post_form(other, "/portal", "/portal/waitlist", {"type_id": type_id, "home_zone_id": zone_id})
    assert joined.status_code == 303
    assert "waiting" in other.get("/portal").text and count(sessions, WaitlistEntry) == 1


def test_a_holder_gets_403_for_another_holders_records(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "ADA1")
    order_page = quote_order(client, type_id)
    post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    with sessions() as session:
        permit = session.scalars(select(Permit)).one()
        order = session.scalars(select(Order)).one()
        vehicle = session.scalars(select(Vehicle)).one()
    bob = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    holder(bob, sessions, "bob@example.org")
    for path in [
        f"/portal/permits/{permit.id}",
        f"/portal/orders/{order.id}",
        f"/portal/receipts/{order.id}",
        f"/portal/vehicles/{vehicle.id}",
        "/portal/permits/no-such-id",
        f"/api/v1/portal/permits/{permit.id}",
        f"/api/v1/portal/orders/{order.id}",
    ]:
        assert bob.get(path).status_code == 403, path
    token = csrf_from(bob.get("/portal").text)
    assert bob.post(f"/portal/vehicles/{vehicle.id}/remove", data={"csrf_token": token}).status_code == 403
    assert bob.post(f"/portal/permits/{permit.id}/vehicles", data={"csrf_token": token}).status_code == 403
    assert "ADA1" not in bob.get("/portal").text + bob.get("/portal/vehicles").text + bob.get("/portal/receipts").text
    assert count(sessions, Vehicle) == 1


def test_other_roles_cannot_open_the_portal(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions, Role.OFFICER)
    sign_in(client, "officer@example.org")
    assert client.get("/portal").status_code == 403
    assert client.get("/portal/buy").status_code == 403
    assert client.get("/api/v1/portal/vehicles").status_code == 403


def test_a_double_click_racing_itself_charges_once(client: TestClient, sessions: sessionmaker[Session]) -> None:
    """Two submits of one pay form at the same moment (two threads, one browser session): one payment."""
    import threading

    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    fields = {"csrf_token": csrf_from(client.get(order_page).text), **pay_fields(client, order_page, CARD_OK)}
    twin = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    twin.cookies.update(client.cookies)
    start = threading.Barrier(2)
    answers: list[int] = []

    def click(browser: TestClient) -> None:
        start.wait()
        answers.append(browser.post(f"{order_page}/pay", data=fields).status_code)

    threads = [threading.Thread(target=click, args=(browser,)) for browser in (client, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [303, 303]
    assert (count(sessions, Payment), count(sessions, Permit)) == (1, 1)


def test_a_vehicle_removed_after_the_quote_is_named_on_the_pay_page(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    with sessions() as session:
        vehicle = session.scalars(select(Vehicle)).one()
    assert post_form(client, "/portal/vehicles", f"/portal/vehicles/{vehicle.id}/remove", {}).status_code == 303
    response = post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    assert response.status_code == 422 and 'id="order-error"' in response.text and "your own vehicles" in response.text
    assert (count(sessions, Payment), count(sessions, Permit)) == (0, 0)


def test_a_made_up_home_zone_is_named_beside_the_field(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    page = client.get(f"/portal/buy/{type_id}").text
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    box = page.split('name="vehicle_')[1].split('"')[0]
    response = post_form(
        client, f"/portal/buy/{type_id}", f"/portal/buy/{type_id}",
        {"idempotency_key": key, f"vehicle_{box}": "on", "home_zone_id": "not-a-zone"},
    )  # fmt: skip
    assert response.status_code == 422 and 'id="home_zone_id-error"' in response.text
    assert count(sessions, Order) == 0


def test_a_card_that_fails_later_shows_pending_then_failed(
    client: TestClient, sessions: sessionmaker[Session], mailer: FolderMailer
) -> None:
    type_id = add_type(sessions)
    holder(client, sessions)
    add_vehicle_form(client, "NYC1234")
    order_page = quote_order(client, type_id)
    late = {**CARD_OK, "card_number": "4000 0000 0000 0341"}
    response = post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, late))
    assert response.status_code == 303
    receipt = response.headers["location"].split("?")[0]
    assert 'id="order-status">pending' in client.get(receipt).text and count(sessions, Permit) == 0
    assert "being confirmed" in client.get(order_page).text  # no second payment while one is pending
    assert post_form(client, receipt, f"{receipt}/check", {}).status_code == 303
    assert 'id="order-status">failed' in client.get(receipt).text and count(sessions, Permit) == 0
    assert "failed" in str(mailer.messages_to("ada@example.org")[0]["Subject"])


def test_a_holder_adds_the_address_zone_and_may_then_buy_the_resident_permit(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    zone_id = add_zone(sessions)
    add_type(sessions, [zone_id], residents_only=True)
    holder(client, sessions)
    assert "add your address zone" in client.get("/portal/buy").text
    bad = post_form(client, "/portal/account", "/portal/account", {"full_name": "", "address_zone_id": "nowhere"})
    assert bad.status_code == 422 and 'id="full_name-error"' in bad.text and 'id="address_zone_id-error"' in bad.text
    saved = post_form(client, "/portal/account", "/portal/account", {"full_name": "Ada", "address_zone_id": zone_id})
    assert saved.status_code == 303
    assert "add your address zone" not in client.get("/portal/buy").text
    with sessions() as session:
        assert "account.address" in session.scalars(select(AuditEntry.action)).all()
