"""The portal's JSON API: CSRF header, idempotency keys, 402 on a decline, 403 for others' ids, 422 per field."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.billing.models import Payment
from backend.permits.models import Permit
from tests.backend.web.conftest import PASSWORD, add_account
from tests.backend.web.portal_helpers import CARD_DECLINED, CARD_OK, add_type

API = "/api/v1/portal"


def api_holder(client: TestClient, sessions: sessionmaker[Session], email: str = "ada@example.org") -> dict[str, str]:
    add_account(sessions, email=email)
    me = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert me.status_code == 200
    return {"X-CSRF-Token": me.json()["csrf_token"]}


def count(sessions: sessionmaker[Session], table: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def buy(client: TestClient, headers: dict[str, str], type_id: str, vehicle_id: str, key: str) -> Any:
    order = client.post(
        f"{API}/orders",
        json={"type_id": type_id, "vehicle_ids": [vehicle_id]},
        headers={**headers, "Idempotency-Key": key},
    )
    assert order.status_code == 201, order.text
    return order.json()


def test_the_api_buys_a_permit_once_per_key(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    headers = api_holder(client, sessions)
    assert client.post(f"{API}/vehicles", json={"plate": "ny 123"}).status_code == 403  # no CSRF header
    vehicle = client.post(f"{API}/vehicles", json={"plate": "ny 123", "make": "Ford"}, headers=headers)
    assert vehicle.status_code == 201 and vehicle.json()["plate"] == "NY123"
    order = buy(client, headers, type_id, vehicle.json()["id"], "order-key-0001")
    assert buy(client, headers, type_id, vehicle.json()["id"], "order-key-0001")["id"] == order["id"]
    assert [line["amount_minor"] for line in order["lines"]] == [3100, -2480] and order["amount_minor"] == 620

    pay_headers = {**headers, "Idempotency-Key": "pay-key-0001"}
    declined = client.post(f"{API}/orders/{order['id']}/payments", json=CARD_DECLINED, headers=pay_headers)
    assert declined.status_code == 402 and declined.json()["status"] == "pending"
    assert count(sessions, Permit) == 0
    pay_headers["Idempotency-Key"] = "pay-key-0002"
    paid = client.post(f"{API}/orders/{order['id']}/payments", json=CARD_OK, headers=pay_headers)
    again = client.post(f"{API}/orders/{order['id']}/payments", json=CARD_OK, headers=pay_headers)
    assert paid.status_code == again.status_code == 200
    assert paid.json()["status"] == "paid" and paid.json()["permit_id"] == again.json()["permit_id"]
    assert (count(sessions, Payment), count(sessions, Permit)) == (2, 1)  # the decline, then one charge
    [permit] = client.get(f"{API}/permits").json()
    assert permit["plates"] == ["NY123"] and permit["live"] and permit["status"] == "active"
    assert len(client.get(f"{API}/orders").json()[0]["payments"]) == 2


def test_the_api_names_bad_fields(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    headers = api_holder(client, sessions)
    bad = client.post(f"{API}/vehicles", json={"plate": "!!", "colour": "x" * 40}, headers=headers)
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"plate"}
    no_vehicle = client.post(
        f"{API}/orders", json={"type_id": type_id, "vehicle_ids": []}, headers={**headers, "Idempotency-Key": "k" * 10}
    )
    assert no_vehicle.status_code == 422 and "vehicle_ids" in no_vehicle.json()["errors"]
    no_key = client.post(f"{API}/orders", json={"type_id": type_id, "vehicle_ids": []}, headers=headers)
    assert no_key.status_code == 422  # the Idempotency-Key header is required


def test_another_holders_ids_are_403_in_the_api(client: TestClient, sessions: sessionmaker[Session]) -> None:
    type_id = add_type(sessions)
    headers = api_holder(client, sessions)
    vehicle = client.post(f"{API}/vehicles", json={"plate": "ADA1"}, headers=headers).json()
    order = buy(client, headers, type_id, vehicle["id"], "order-key-0001")
    bob = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    bob_headers = api_holder(bob, sessions, "bob@example.org")
    assert bob.put(f"{API}/vehicles/{vehicle['id']}", json={"plate": "BOB1"}, headers=bob_headers).status_code == 403
    assert bob.delete(f"{API}/vehicles/{vehicle['id']}", headers=bob_headers).status_code == 403
    pay = bob.post(
        f"{API}/orders/{order['id']}/payments", json=CARD_OK, headers={**bob_headers, "Idempotency-Key": "k" * 10}
    )
    assert pay.status_code == 403
    stolen = bob.post(
        f"{API}/orders",
        json={"type_id": type_id, "vehicle_ids": [vehicle["id"]]},
        headers={**bob_headers, "Idempotency-Key": "b" * 10},
    )
    assert stolen.status_code == 422  # not his vehicle
    assert bob.get(f"{API}/vehicles").json() == [] and bob.get(f"{API}/orders").json() == []
    assert count(sessions, Payment) == 0


def test_permit_types_say_who_may_buy_and_the_price_today(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_type(sessions)
    add_type(sessions, code="OFF", name="Officers only", eligible_roles=["officer"])
    api_holder(client, sessions)
    types = {found["code"]: found for found in client.get(f"{API}/permit-types").json()}
    assert types["RES"]["eligible"] and types["RES"]["today_minor"] == 620
    assert not types["OFF"]["eligible"] and types["OFF"]["reason"] == "not sold to your kind of account"


def test_the_openapi_description_lists_the_portal(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {f"{API}/vehicles", f"{API}/orders", f"{API}/orders/{{order_id}}/payments"} <= set(paths)


def test_the_api_swaps_vehicles_on_a_live_permit_and_renews_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """What a holder does after buying: swap the car on the permit, edit and drop the old one, renew (once per key)."""
    type_id = add_type(sessions)
    headers = api_holder(client, sessions)
    old = client.post(f"{API}/vehicles", json={"plate": "ADA1"}, headers=headers).json()
    new = client.post(f"{API}/vehicles", json={"plate": "ada 2", "make": "Fiat"}, headers=headers).json()
    order = buy(client, headers, type_id, old["id"], "order-key-0001")
    paid = client.post(
        f"{API}/orders/{order['id']}/payments", json=CARD_OK, headers={**headers, "Idempotency-Key": "pay-key-0001"}
    ).json()
    permit_id = paid["permit_id"]

    on_permit = client.delete(f"{API}/vehicles/{old['id']}", headers=headers)
    assert on_permit.status_code == 422 and "swap another vehicle in first" in on_permit.json()["errors"]["vehicle"]
    swapped = client.put(f"{API}/permits/{permit_id}/vehicles", json={"vehicle_ids": [new["id"]]}, headers=headers)
    assert swapped.status_code == 200 and swapped.json()["plates"] == ["ADA2"]
    too_many = client.put(f"{API}/permits/{permit_id}/vehicles", json={"vehicle_ids": [new["id"]] * 3}, headers=headers)
    assert too_many.status_code == 422 and "vehicle_ids" in too_many.json()["errors"]
    edited = client.put(f"{API}/vehicles/{old['id']}", json={"plate": "ada 9", "make": "Ford"}, headers=headers)
    assert edited.status_code == 200 and (edited.json()["plate"], edited.json()["make"]) == ("ADA9", "Ford")
    assert client.delete(f"{API}/vehicles/{old['id']}", headers=headers).status_code == 204
    assert [v["plate"] for v in client.get(f"{API}/vehicles").json()] == ["ADA2"]
    assert client.get(f"{API}/permits/{permit_id}").json()["plates"] == ["ADA2"]
    assert client.get(f"{API}/orders/{order['id']}").json()["status"] == "paid"

    renew_headers = {**headers, "Idempotency-Key": "renew-key-0001"}
    renewal = client.post(f"{API}/permits/{permit_id}/renewal", headers=renew_headers)
    assert renewal.status_code == 201, renewal.text
    assert renewal.json()["kind"] == "renewal" and renewal.json()["vehicle_ids"] == [new["id"]]
    again = client.post(f"{API}/permits/{permit_id}/renewal", headers=renew_headers)
    assert again.status_code == 201 and again.json()["id"] == renewal.json()["id"]  # one order per key
    assert renewal.json()["period_start"] == client.get(f"{API}/permits/{permit_id}").json()["valid_until"]


def test_the_waitlist_and_orders_name_what_does_not_exist(client: TestClient, sessions: sessionmaker[Session]) -> None:
    headers = api_holder(client, sessions)
    type_id = add_type(sessions)
    no_type = client.post(f"{API}/waitlist", json={"type_id": "no-such-type"}, headers=headers)
    assert no_type.status_code == 422 and no_type.json()["errors"] == {"type_id": "no such permit type"}
    no_zone = client.post(f"{API}/waitlist", json={"type_id": type_id, "home_zone_id": "nowhere"}, headers=headers)
    assert no_zone.status_code == 422 and no_zone.json()["errors"] == {"home_zone_id": "no such zone"}
    order = client.post(
        f"{API}/orders",
        json={"type_id": type_id, "vehicle_ids": [], "home_zone_id": "nowhere"},
        headers={**headers, "Idempotency-Key": "order-key-0009"},
    )
    assert order.status_code == 422 and order.json()["errors"] == {"home_zone_id": "no such zone"}
    assert client.get(f"{API}/orders/no-such-order").status_code == 403  # as for another's: ids are not probed
