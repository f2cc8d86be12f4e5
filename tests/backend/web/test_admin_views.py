"""The admin console through the real app: role checks on every route, forms that reject bad input beside the
field and write nothing, each change audited, and the JSON API with its CSRF header."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Account, Role, WebSession
from backend.audit.models import AuditEntry
from backend.billing.models import Order, OrderKind, OrderStatus, Payment, PaymentStatus, Refund
from backend.devices.models import Device
from backend.devices.tokens import device_for_token
from backend.permits.models import HotlistEntry, Permit, PermitStatus, PermitType, Vehicle, Zone
from tests.backend.factories import a_verdict_after_every_read, another_writer, square
from tests.backend.web.conftest import Clock, add_account, csrf_from, post_form, sign_in
from tests.backend.web.review_fixtures import flagged_reads

ZONE = square(44.44, 26.10, 300)
ADMIN_PREFIXES = ("/admin", "/api/v1/admin")


def _admin(client: TestClient, sessions: sessionmaker[Session]) -> Account:
    account = add_account(sessions, Role.ADMIN, email="admin@example.org", full_name="Ada Admin")
    sign_in(client, "admin@example.org")
    return account


def _audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _add_permit(
    sessions: sessionmaker[Session],
    plate: str = "B123ABC",
    code: str = "P-1",
    holder_name: str = "Hal Holder",
    **extra: object,
) -> str:
    now = datetime.now(UTC)
    with sessions() as session:
        permit = Permit(
            code=code,
            holder_name=holder_name,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30),
            vehicles=[Vehicle(plate=plate)],
            status=PermitStatus.ACTIVE,
            **extra,
        )
        session.add(permit)
        session.commit()
        return permit.id


# ---- roles ------------------------------------------------------------------------------------------------


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every admin page and API call the app serves, with a made-up id in each path parameter."""
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):  # included routers too, however deeply nested
        if isinstance(route.original_route, APIRoute) and (route.path or "").startswith(ADMIN_PREFIXES):
            path = re.sub(r"\{[^}]+\}", "1", route.path or "")
            found.extend((method, path) for method in sorted(route.methods or ()))
    return found


@pytest.mark.parametrize("role", [Role.HOLDER, Role.OFFICER, Role.SUPERVISOR])
def test_every_admin_route_refuses_other_roles(
    role: Role, app: FastAPI, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    routes = admin_routes(app)
    assert len(routes) > 30 and ("POST", "/admin/permits/1/status") in routes
    add_account(sessions, role)
    sign_in(client, f"{role.value}@example.org")
    me = client.get("/api/v1/me").json()
    page_token = csrf_from(client.get("/lookup").text if role is not Role.HOLDER else client.get("/portal").text)
    for method, path in routes:
        if path.startswith("/api/"):
            # With the right CSRF header, so only the permission check can refuse.
            response = client.request(method, path, headers={"X-CSRF-Token": me["csrf_token"]}, json={})
            assert response.status_code == 403, (method, path, response.text)
            assert response.json() == {"detail": "your account may not do this"}, (method, path)
        else:
            response = client.request(method, path, data={"csrf_token": page_token} if method == "POST" else None)
            assert response.status_code == 403, (method, path, response.text)
            assert "may not open this page" in response.text, (method, path)
    assert _count(sessions, AuditEntry) == 2  # the account and its sign-in; nothing else was written


def test_admin_routes_need_a_signed_in_account(app: FastAPI, client: TestClient) -> None:
    for method, path in admin_routes(app):
        response = client.request(method, path)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code in (303, 403), (method, path)  # GET: to sign-in; POST: CSRF first


def test_the_dashboard_counts(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    _add_permit(sessions)
    page = client.get("/admin")
    assert page.status_code == 200
    assert "permits" in page.text and "account.sign_in" in page.text


# ---- zones ------------------------------------------------------------------------------------------------


def test_a_zone_is_created_from_pasted_geojson_and_audited(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    fields = {"code": "old-town", "name": "Old Town", "geojson": ZONE, "time_limit_minutes": "120"}
    response = post_form(client, "/admin/zones/new", "/admin/zones/new", fields)
    assert response.status_code == 303, response.text
    with sessions() as session:
        zone = session.scalars(select(Zone)).one()
        assert (zone.code, zone.time_limit_minutes) == ("OLD-TOWN", 120)
    assert _audit_actions(sessions)[-1] == "zone.create"
    listing = client.get("/admin/zones")
    assert "OLD-TOWN" in listing.text and "Old Town" in listing.text and 'data-zones="' in listing.text
    edited = post_form(
        client, f"/admin/zones/{zone.id}", f"/admin/zones/{zone.id}", {**fields, "time_limit_minutes": ""}
    )
    assert edited.status_code == 303
    with sessions() as session:
        assert session.get_one(Zone, zone.id).time_limit_minutes is None


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ("", "paste a GeoJSON Polygon or draw the zone on the map"),
        ("{", "this is not JSON"),
        ('{"type": "Point", "coordinates": [26.1, 44.4]}', "must be a &#34;Polygon&#34; or &#34;MultiPolygon&#34;"),
        ('{"type": "Polygon", "coordinates": [[[26.1, 44.4], [26.2, 44.4], [26.2, 44.5]]]}', "needs at least 4"),
        (
            '{"type": "Polygon", "coordinates": [[[44.4, 126.1], [44.5, 126.1], [44.5, 126.2], [44.4, 126.1]]]}',
            "swapped",
        ),
    ],
)
def test_a_bad_zone_is_refused_beside_the_field_and_nothing_is_written(
    geojson: str, message: str, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _admin(client, sessions)
    before = _audit_actions(sessions)
    fields = {"code": "bad code!", "name": "", "geojson": geojson, "time_limit_minutes": "0"}
    response = post_form(client, "/admin/zones/new", "/admin/zones/new", fields)
    assert response.status_code == 422
    for name in ("code", "name", "geojson", "time_limit_minutes"):
        assert f'id="{name}-error"' in response.text, name
    error = re.search(r'id="geojson-error"[^>]*>([^<]*)<', response.text)
    assert error and message in error.group(1)
    assert _count(sessions, Zone) == 0 and _audit_actions(sessions) == before


# ---- permit types -----------------------------------------------------------------------------------------


def _type_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "code": "RES-A",
        "name": "Residents A",
        "price": "25.50",
        "currency": "USD",
        "validity": "months",
        "months": "12",
        "proration": "monthly",
        "role_holder": "on",
        "max_vehicles": "2",
        "renew_days_before": "30",
        "timezone": "America/New_York",
        "hours": '[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]',
        "on_sale": "on",
    }
    return {**fields, **overrides}


def test_a_permit_type_with_its_sale_fields(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    with sessions() as session:
        zone = Zone(code="A", name="A", geojson=ZONE)
        session.add(zone)
        session.commit()
        zone_id = zone.id
    fields = _type_fields(**{f"zone_{zone_id}": "on", "residents_only": "on", "cap_per_zone": "40"})
    response = post_form(client, "/admin/types/new", "/admin/types/new", fields)
    assert response.status_code == 303, response.text
    with sessions() as session:
        created = session.scalars(select(PermitType)).one()
        assert created.price_minor == 2550 and created.cap_per_zone == 40 and created.residents_only
        assert [zone.id for zone in created.zones] == [zone_id] and created.eligible_roles == ["holder"]
        assert created.hours == [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]
        type_id = created.id
    edit = client.get(f"/admin/types/{type_id}")
    assert 'value="25.50"' in edit.text and "checked" in edit.text
    changed = post_form(client, f"/admin/types/{type_id}", f"/admin/types/{type_id}", _type_fields(price="30"))
    assert changed.status_code == 303
    with sessions() as session:
        assert session.get_one(PermitType, type_id).price_minor == 3000
    assert _audit_actions(sessions)[-2:] == ["permit_type.create", "permit_type.update"]


def test_a_bad_permit_type_names_each_field(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    fields = _type_fields(
        price="12.345",
        validity="rolling",
        days="",
        proration="daily",
        role_holder="",
        max_vehicles="11",
        hours='[{"days": [7], "start": "8", "end": "18:00"}]',
        residents_only="on",
        timezone="Mars/Olympus",
    )
    del fields["role_holder"]
    response = post_form(client, "/admin/types/new", "/admin/types/new", fields)
    assert response.status_code == 422
    for name in ("price", "days", "proration", "eligible_roles", "max_vehicles", "hours", "residents_only", "timezone"):
        assert f'id="{name}-error"' in response.text, name
    assert 'value="12.345"' in response.text  # what was typed is kept
    assert _count(sessions, PermitType) == 0


# ---- permits ----------------------------------------------------------------------------------------------


def test_permits_are_searched_by_plate_code_and_holder(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    holder = add_account(sessions, email="hal@example.org", full_name="Hal Holder")
    _add_permit(sessions, "B123ABC", "P-1", holder_id=holder.id)
    _add_permit(sessions, "CJ99XYZ", "Q-2", holder_name="Zed Other")
    for query, by, shown, hidden in [
        ("b 123", "plate", "P-1", "Q-2"),
        ("q-", "code", "Q-2", "P-1"),
        ("hal@", "holder", "P-1", "Q-2"),
        ("hal", "holder", "P-1", "Q-2"),
        ("", "plate", "P-1", "nothing"),
    ]:
        page = client.get("/admin/permits", params={"q": query, "by": by})
        assert page.status_code == 200
        assert shown in page.text and hidden not in page.text, (query, by)
    with sessions() as session:  # every search by a person is in the audit log; the empty list is not a search
        searched = session.scalars(select(AuditEntry.target_id).where(AuditEntry.action == "permit.search")).all()
    assert searched == ["b 123", "q-", "hal@", "hal"]


def test_the_permit_list_pages(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    for n in range(51):
        _add_permit(sessions, f"PL{n:03d}", f"C-{n:03d}")
    first = client.get("/admin/permits", params={"by": "code"})
    assert "C-049" in first.text and "C-050" not in first.text and 'rel="next"' in first.text
    second = client.get("/admin/permits", params={"by": "code", "page": "2"})
    assert "C-050" in second.text and 'rel="next"' not in second.text and 'rel="prev"' in second.text


def test_issue_suspend_reinstate_revoke(client: TestClient, sessions: sessionmaker[Session], clock: Clock) -> None:
    _admin(client, sessions)
    add_account(sessions, email="hal@example.org", full_name="Hal Holder")
    fields = {"plates": "b-123 abc, CJ 01 XYZ", "holder_email": "HAL@example.org", "valid_from": "2026-11-25"}
    response = post_form(client, "/admin/permits/new", "/admin/permits/new", {**fields, "valid_until": "2026-12-31"})
    assert response.status_code == 303, response.text
    with sessions() as session:
        permit = session.scalars(select(Permit)).one()
        assert sorted(v.plate for v in permit.vehicles) == ["B123ABC", "CJ01XYZ"]
        assert permit.holder_name == "Hal Holder"
        # Local dates in the city (New York): midnight EST is 05:00 UTC; the last day is included.
        assert permit.valid_from == datetime(2026, 11, 25, 5, tzinfo=UTC)
        assert permit.valid_until == datetime(2027, 1, 1, 5, tzinfo=UTC)
        permit_id = permit.id
    page = f"/admin/permits/{permit_id}"
    for action, status in [("suspend", "suspended"), ("reinstate", "active"), ("revoke", "revoked")]:
        done = post_form(client, page, f"{page}/status", {"action": action, "reason": "checked by phone"})
        assert done.status_code == 303, done.text
        with sessions() as session:
            assert session.get_one(Permit, permit_id).status.value == status
    assert _audit_actions(sessions)[-4:] == ["permit.issue", "permit.suspend", "permit.reinstate", "permit.revoke"]
    final = client.get(page)
    assert "stays revoked" in final.text and 'id="action-' not in final.text
    with sessions() as session:
        assert session.get_one(Permit, permit_id).revision == 4


def test_a_status_change_needs_a_reason_and_a_legal_move(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    permit_id = _add_permit(sessions)
    page = f"/admin/permits/{permit_id}"
    no_reason = post_form(client, page, f"{page}/status", {"action": "revoke", "reason": " "})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    illegal = post_form(client, page, f"{page}/status", {"action": "reinstate", "reason": "x"})
    assert illegal.status_code == 422 and "cannot be active" in illegal.text
    with sessions() as session:
        permit = session.get_one(Permit, permit_id)
        assert (permit.status, permit.revision) == (PermitStatus.ACTIVE, 1)


def test_bad_permit_issue_writes_nothing(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    fields = {"plates": "!!", "holder_email": "nobody@example.org", "valid_from": "2026-12-31", "valid_until": "x"}
    response = post_form(client, "/admin/permits/new", "/admin/permits/new", fields)
    assert response.status_code == 422
    for name in ("plates", "holder_email", "valid_until"):
        assert f'id="{name}-error"' in response.text, name
    assert _count(sessions, Permit) == 0 and _count(sessions, Vehicle) == 0


def _paid_permit(sessions: sessionmaker[Session], holder_id: str) -> tuple[str, str]:
    permit_id = _add_permit(sessions, holder_id=holder_id)
    now = datetime.now(UTC)
    with sessions() as session:
        permit_type = PermitType(code="T", name="T")
        session.add(permit_type)
        session.flush()
        order = Order(
            account_id=holder_id,
            kind=OrderKind.NEW,
            type_id=permit_type.id,
            permit_id=permit_id,
            period_start=now,
            period_end=now + timedelta(days=30),
            amount_minor=2500,
            currency="USD",
            status=OrderStatus.PAID,
            idempotency_key="order-key-1",
        )
        session.add(order)
        session.flush()
        payment = Payment(
            order_id=order.id,
            provider="sandbox",
            provider_ref="sbx_1",
            amount_minor=2500,
            currency="USD",
            status=PaymentStatus.SUCCEEDED,
            idempotency_key="payment-key-1",
        )
        session.add(payment)
        session.commit()
        return permit_id, payment.id


def test_a_refund_from_the_permit_page_once_per_form(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    holder = add_account(sessions, email="hal@example.org")
    permit_id, payment_id = _paid_permit(sessions, holder.id)
    page = client.get(f"/admin/permits/{permit_id}")
    assert "$25.00" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    fields = {
        "csrf_token": csrf_from(page.text),
        "payment_id": payment_id,
        "amount": "10.00",
        "refund_reason": "moved away",
        "idempotency_key": key.group(1),
    }
    too_much = client.post(f"/admin/permits/{permit_id}/refund", data={**fields, "amount": "30"})
    assert too_much.status_code == 422 and 'id="amount-error"' in too_much.text
    for _ in range(2):  # a double submit refunds once
        done = client.post(f"/admin/permits/{permit_id}/refund", data=fields)
        assert done.status_code == 303, done.text
    with sessions() as session:
        refunds = session.scalars(select(Refund)).all()
        assert [(r.amount_minor, r.reason) for r in refunds] == [(1000, "moved away")]
    assert "payment.refund" in _audit_actions(sessions)


# ---- accounts, devices, hotlist, audit --------------------------------------------------------------------


def test_change_a_role_and_disable_an_account(client: TestClient, sessions: sessionmaker[Session]) -> None:
    admin = _admin(client, sessions)
    other = add_account(sessions, email="ollie@example.org", full_name="Ollie Officer")
    other_client = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    sign_in(other_client, "ollie@example.org")
    listing = client.get("/admin/accounts", params={"q": "ollie"})
    assert "ollie@example.org" in listing.text and "admin@example.org" not in listing.text
    assert (
        post_form(client, "/admin/accounts", f"/admin/accounts/{other.id}/role", {"role": "officer"}).status_code == 303
    )
    assert (
        post_form(client, "/admin/accounts", f"/admin/accounts/{other.id}/disable", {"disabled": "1"}).status_code
        == 303
    )
    with sessions() as session:
        changed = session.get_one(Account, other.id)
        assert changed.role is Role.OFFICER and changed.disabled_at is not None
        assert session.scalars(select(WebSession).where(WebSession.account_id == other.id)).all() == []
    assert other_client.get("/api/v1/me").status_code == 401  # signed out at once
    own = post_form(client, "/admin/accounts", f"/admin/accounts/{admin.id}/role", {"role": "holder"})
    assert own.status_code == 303 and "cannot+change+your+own+role" in own.headers["location"].replace("%20", "+")
    with sessions() as session:
        assert session.get_one(Account, admin.id).role is Role.ADMIN
    assert _audit_actions(sessions)[-2:] == ["account.role", "account.disable"]


def test_a_device_token_is_shown_once_and_can_be_revoked(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    issued = post_form(client, "/admin/devices", "/admin/devices", {"name": "car-12"})
    assert issued.status_code == 200
    token = re.search(r'<code id="new-token">([^<]+)</code>', issued.text)
    assert token
    with sessions() as session:
        device = device_for_token(session, token.group(1))
        assert device is not None and device.name == "car-12"
        device_id = device.id
    assert token.group(1) not in client.get("/admin/devices").text
    again = post_form(client, "/admin/devices", "/admin/devices", {"name": "car-12"})
    assert again.status_code == 422 and 'id="name-error"' in again.text
    assert post_form(client, "/admin/devices", f"/admin/devices/{device_id}/revoke", {}).status_code == 303
    with sessions() as session:
        assert device_for_token(session, token.group(1)) is None
        assert session.get_one(Device, device_id).revoked_at is not None
    assert _audit_actions(sessions)[-2:] == ["device.issue", "device.revoke"]


def test_hotlist_add_and_remove(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    bad = post_form(
        client, "/admin/hotlist", "/admin/hotlist", {"plate": "--", "reason": "", "expires_on": "2020-01-01"}
    )
    assert bad.status_code == 422
    for name in ("plate", "reason", "expires_on"):
        assert f'id="{name}-error"' in bad.text
    assert _count(sessions, HotlistEntry) == 0
    added = post_form(client, "/admin/hotlist", "/admin/hotlist", {"plate": "b 77 xyz", "reason": "stolen"})
    assert added.status_code == 303
    with sessions() as session:
        entry = session.scalars(select(HotlistEntry)).one()
        assert (entry.plate, entry.reason, entry.expires_at) == ("B77XYZ", "stolen", None)
        entry_id = entry.id
    assert post_form(client, "/admin/hotlist", f"/admin/hotlist/{entry_id}/remove", {}).status_code == 303
    assert _count(sessions, HotlistEntry) == 0
    assert _audit_actions(sessions)[-2:] == ["hotlist.add", "hotlist.remove"]


def test_the_audit_log_filters_and_pages(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    with sessions() as session:
        admin_id = session.scalars(select(Account.id)).one()
        for n in range(60):
            session.add(AuditEntry(actor_id=admin_id, action="plate.lookup", target_type="plate", target_id=f"X{n}"))
        session.add(AuditEntry(actor_id=None, action="zone.create", target_type="zone", target_id="Z1"))
        session.commit()
    first = client.get("/admin/audit", params={"action": "plate.lookup"})
    assert ">X59<" in first.text and ">X9<" not in first.text and "<code>zone.create</code>" not in first.text
    older = re.search(r'href="\?([^"]+)" rel="next"', first.text)
    assert older
    second = client.get("/admin/audit?" + older.group(1).replace("&amp;", "&"))
    assert ">X9<" in second.text and ">X59<" not in second.text
    assert "Z1" in client.get("/admin/audit", params={"action": "zone."}).text
    by_target = client.get("/admin/audit", params={"target": "X3"})
    assert ">X3<" in by_target.text and "X30" not in by_target.text
    unknown = client.get("/admin/audit", params={"actor": "nobody@example.org"})
    assert 'id="actor-error"' in unknown.text
    mine = client.get("/admin/audit", params={"actor": "ADMIN@example.org", "action": "account.sign_in"})
    assert "<code>account.sign_in</code>" in mine.text


# ---- the JSON API -----------------------------------------------------------------------------------------


def test_the_api_creates_a_zone_with_the_csrf_header(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    token = client.get("/api/v1/me").json()["csrf_token"]
    body = {"code": "API-1", "name": "From the API", "geojson": ZONE, "time_limit_minutes": 60}
    assert client.post("/api/v1/admin/zones", json=body).status_code == 403  # no header
    created = client.post("/api/v1/admin/zones", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "API-1"
    bad = client.post(
        "/api/v1/admin/zones", json={**body, "code": "API-2", "geojson": "{}"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422 and "geojson" in bad.json()["detail"]
    assert [zone["code"] for zone in client.get("/api/v1/admin/zones").json()] == ["API-1"]


def test_the_api_revokes_a_permit_and_lists_the_audit(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _admin(client, sessions)
    permit_id = _add_permit(sessions)
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    found = client.get("/api/v1/admin/permits", params={"q": "B12"}).json()
    assert [p["id"] for p in found["permits"]] == [permit_id] and not found["has_next"]
    revoked = client.post(
        f"/api/v1/admin/permits/{permit_id}/status", json={"action": "revoke", "reason": "fraud"}, headers=headers
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    entries = client.get("/api/v1/admin/audit", params={"action": "permit."}).json()["entries"]
    assert [(e["action"], e["detail"].get("reason") or e["target_id"]) for e in entries] == [
        ("permit.revoke", "fraud"),
        ("permit.search", "B12"),  # the look-up is audited too
    ]
    device = client.post("/api/v1/admin/devices", json={"name": "car-9"}, headers=headers).json()
    assert device["token"].startswith("ppd_")
    patched = client.patch(
        f"/api/v1/admin/accounts/{add_account(sessions).id}", json={"role": "officer"}, headers=headers
    )
    assert patched.json()["role"] == "officer"
    typed = client.post(
        "/api/v1/admin/permit-types",
        json={"code": "DAY", "name": "Day pass", "price": "3.50", "validity": "rolling", "days": 1, "months": None},
        headers=headers,
    )
    assert typed.status_code == 201, typed.text
    assert typed.json()["price_minor"] == 350
    hot = client.post("/api/v1/admin/hotlist", json={"plate": "ab 12", "reason": "wanted"}, headers=headers)
    assert hot.status_code == 201
    assert client.delete(f"/api/v1/admin/hotlist/{hot.json()['id']}", headers=headers).status_code == 204
    assert json.loads(client.get("/api/v1/openapi.json").text)["paths"]["/api/v1/admin/permits"]


def test_admin_changes_are_saved_while_the_cars_verdicts_are_written(
    client: TestClient, sessions: sessionmaker[Session], web_engine: Engine
) -> None:
    """A request that reads (its sign-in) and then writes, even only to the audit log: on SQLite its writing
    transaction must take the write lock from its start, or the first commit of another writer in between (the
    cars' verdicts, every few milliseconds) fails it at once."""
    _admin(client, sessions)
    permit_id = _add_permit(sessions)
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    with another_writer(web_engine):
        for action in ["suspend", "reinstate"] * 5:
            answer = client.post(
                f"/api/v1/admin/permits/{permit_id}/status", json={"action": action, "reason": "check"}, headers=headers
            )
            assert answer.status_code == 200, answer.text
        for _ in range(10):  # a search only reads, but writes who searched to the audit log
            found = client.get("/api/v1/admin/permits", params={"q": "B12"})
            assert found.status_code == 200 and [p["id"] for p in found.json()["permits"]] == [permit_id]
    with sessions() as session:
        assert session.get_one(Permit, permit_id).status is PermitStatus.ACTIVE


def test_every_page_an_admin_opens_works_while_the_cars_verdicts_are_written(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], web_engine: Engine
) -> None:
    """Every GET the app serves (a real permit and flagged read in the path where it takes one, a made-up id
    elsewhere, and the audited searches) while another connection commits right after each read that took no
    write lock: a page that reads and then writes (an audit of who looked) without locking up front fails on
    SQLite, here every time."""
    _admin(client, sessions)
    read_id = flagged_reads(sessions, datetime.now(UTC))["violation"]
    with sessions() as session:
        permit_id = session.scalars(select(Permit.id)).one()
    ids = {"permit_id": permit_id, "read_id": read_id}
    gets = sorted(
        re.sub(r"\{([^}]+)\}", lambda match: ids.get(match.group(1), "1"), route.path or "")
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and "GET" in (route.methods or ())
    )
    assert len(gets) > 40 and f"/api/v1/admin/permits/{permit_id}" in gets and f"/review/{read_id}" in gets
    searches = ["/api/v1/admin/permits?q=B12", "/admin/permits?q=B12", "/lookup?plate=B12", "/api/v1/plates/B1/verdict"]
    with a_verdict_after_every_read(web_engine):
        answers = {path: client.get(path, follow_redirects=False).status_code for path in gets + searches}
    assert {path: code for path, code in answers.items() if code >= 500} == {}
    assert answers[f"/review/{read_id}"] == 200 and answers[f"/api/v1/admin/permits/{permit_id}"] == 200
    audited = _audit_actions(sessions)
    assert audited.count("permit.search") == 2 and {"plate.lookup", "review.view"} <= set(audited)


def test_the_api_names_each_bad_field_and_writes_nothing(client: TestClient, sessions: sessionmaker[Session]) -> None:
    """Each admin write of the JSON API refused the way the forms are: 422, the field and what is wrong with it."""
    _admin(client, sessions)
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    api = "/api/v1/admin"
    zone = client.post(f"{api}/zones", json={"code": "Z1", "name": "Zone", "geojson": ZONE}, headers=headers).json()
    kind = client.post(f"{api}/permit-types", json={"code": "RES", "name": "Resident", "price": "5"}, headers=headers)
    assert kind.status_code == 201, kind.text
    writes_before = _audit_actions(sessions)
    refused = {
        "geojson": client.put(
            f"{api}/zones/{zone['id']}", json={**zone, "geojson": '{"type": "Point"}'}, headers=headers
        ),
        "price": client.post(
            f"{api}/permit-types", json={"code": "BAD", "name": "Bad", "price": "-1"}, headers=headers
        ),
        "price on an update": client.put(
            f"{api}/permit-types/{kind.json()['id']}",
            json={"code": "RES", "name": "Resident", "price": "abc"},
            headers=headers,
        ),
        "valid_until": client.post(
            f"{api}/permits",
            json={"plates": ["B12XYZ"], "valid_from": "2026-12-10", "valid_until": "2026-12-01"},
            headers=headers,
        ),
        "payment": client.post(
            f"{api}/payments/no-such-payment/refunds",
            json={"amount_minor": 100, "reason": "goodwill", "idempotency_key": "refund-key-1"},
            headers=headers,
        ),
        "name": client.post(f"{api}/devices", json={"name": ""}, headers=headers),
        "plate": client.post(f"{api}/hotlist", json={"plate": "!!", "reason": "stolen"}, headers=headers),
    }
    for field, response in refused.items():  # keyed by the field each one must name
        assert response.status_code == 422, (field, response.text)
        [(named, why)] = response.json()["detail"].items()
        assert named == field.split()[0] and why, (field, named, why)
    assert _audit_actions(sessions) == writes_before  # nothing refused was written, nor audited


def test_the_api_updates_a_zone_and_a_type_and_revokes_a_device(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _admin(client, sessions)
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    api = "/api/v1/admin"
    zone = client.post(f"{api}/zones", json={"code": "Z1", "name": "Zone", "geojson": ZONE}, headers=headers).json()
    renamed = client.put(f"{api}/zones/{zone['id']}", json={**zone, "name": "Old Town"}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Old Town"
    kind = client.post(f"{api}/permit-types", json={"code": "RES", "name": "Resident", "price": "5"}, headers=headers)
    repriced = client.put(
        f"{api}/permit-types/{kind.json()['id']}",
        json={"code": "RES", "name": "Resident", "price": "7.25"},
        headers=headers,
    )
    assert repriced.status_code == 200, repriced.text
    assert [t["price_minor"] for t in client.get(f"{api}/permit-types").json() if t["code"] == "RES"] == [725]
    device = client.post(f"{api}/devices", json={"name": "car-1"}, headers=headers).json()["device"]
    revoked = client.post(f"{api}/devices/{device['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.post(f"{api}/devices/no-such-device/revoke", headers=headers).status_code == 404
    assert {"zone.update", "permit_type.update", "device.revoke"} <= set(_audit_actions(sessions))
