"""Registering, signing in and out, CSRF, role checks and password resets, through the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.accounts.models import Account, Role, WebSession
from backend.accounts.passwords import verify_password
from backend.audit.models import AuditEntry
from backend.web.security import UNSAFE_METHODS, api_csrf, form
from tests.backend.web.conftest import PASSWORD, Clock, add_account, csrf_from, post_form, sign_in


def test_register_signs_the_holder_in_and_stores_only_a_hash(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    response = post_form(
        client,
        "/register",
        "/register",
        {"full_name": "Grace Hopper", "email": " Grace@Example.org ", "password": "a long enough secret"},
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/portal")
    assert client.get("/api/v1/me").json()["email"] == "grace@example.org"
    with sessions() as session:
        account = session.scalars(select(Account)).one()
        assert account.role is Role.HOLDER
        assert account.password_hash.startswith("$argon2id$") and "a long enough secret" not in account.password_hash
        assert session.scalars(select(AuditEntry.action)).all() == ["account.create", "account.sign_in"]


def test_bad_registration_names_each_field_and_writes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_account(sessions, email="taken@example.org")
    response = post_form(
        client, "/register", "/register", {"full_name": "", "email": "taken@example.org", "password": "short"}
    )
    assert response.status_code == 422
    assert 'id="full_name-error"' in response.text
    assert "already exists" in response.text
    assert "at least 10 characters" in response.text
    assert 'value="taken@example.org"' in response.text  # what was typed is kept, except the password
    with sessions() as session:
        assert session.scalar(select(Account).where(Account.email == "taken@example.org")) is not None
        assert len(session.scalars(select(Account)).all()) == 1


def test_forms_without_the_csrf_token_are_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions)
    client.get("/sign-in")
    forged = client.post("/sign-in", data={"email": "holder@example.org", "password": PASSWORD})
    assert forged.status_code == 403 and "Form expired" in forged.text
    wrong = client.post("/sign-in", data={"email": "holder@example.org", "password": PASSWORD, "csrf_token": "x"})
    assert wrong.status_code == 403
    with sessions() as session:
        assert session.scalars(select(WebSession)).all() == []


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions)
    wrong = post_form(client, "/sign-in", "/sign-in", {"email": "holder@example.org", "password": "not it at all"})
    unknown = post_form(client, "/sign-in", "/sign-in", {"email": "nobody@example.org", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong e-mail or password" in wrong.text and "wrong e-mail or password" in unknown.text


def test_sign_out_ends_the_session(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions)
    sign_in(client, "holder@example.org")
    token = client.get("/api/v1/me").json()["csrf_token"]
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    with sessions() as session:
        assert session.scalars(select(WebSession)).all() == []


def test_sessions_expire(client: TestClient, sessions: sessionmaker[Session], clock: Clock) -> None:
    add_account(sessions)
    sign_in(client, "holder@example.org")
    clock.advance(hours=12, seconds=1)
    assert client.get("/api/v1/me").status_code == 401


def test_pages_ask_for_sign_in_and_the_api_answers_401(client: TestClient) -> None:
    page = client.get("/lookup?plate=AB%2012")
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/lookup%3Fplate%3DAB%252012"
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_never_redirects_off_site(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions)
    token = csrf_from(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "holder@example.org", "password": PASSWORD, "next": "//evil.example"},
    )
    assert response.headers["location"] == "/portal"


def test_password_reset_by_one_time_link(
    client: TestClient, sessions: sessionmaker[Session], mailer: FolderMailer, clock: Clock
) -> None:
    add_account(sessions)
    sign_in(client, "holder@example.org")  # a session that the reset must end
    other = TestClient(client.app, base_url="http://permits.test", follow_redirects=False)
    assert post_form(other, "/forgot", "/forgot", {"email": "HOLDER@example.org"}).status_code == 200
    post_form(other, "/forgot", "/forgot", {"email": "nobody@example.org"})  # says the same, sends nothing
    (message,) = mailer.messages_to("holder@example.org")
    link = re.search(r"http://permits\.test(/reset/\S+)", message.get_content())
    assert link
    path = link.group(1)
    weak = post_form(other, path, path, {"password": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.text
    assert post_form(other, path, path, {"password": "a brand new passphrase"}).status_code == 303
    assert client.get("/api/v1/me").status_code == 401  # the old session ended
    sign_in(other, "holder@example.org", "a brand new passphrase")
    again = post_form(other, path, path, {"password": "yet another passphrase"})
    assert again.status_code == 422 and "unknown, used or expired" in again.text


def test_reset_links_expire(
    client: TestClient, sessions: sessionmaker[Session], mailer: FolderMailer, clock: Clock
) -> None:
    add_account(sessions)
    post_form(client, "/forgot", "/forgot", {"email": "holder@example.org"})
    (message,) = mailer.messages_to("holder@example.org")
    link = re.search(r"http://permits\.test(/reset/\S+)", message.get_content())
    assert link
    clock.advance(minutes=31)
    expired = post_form(client, link.group(1), link.group(1), {"password": "a brand new passphrase"})
    assert expired.status_code == 422


def test_api_sign_in_and_csrf_header(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_account(sessions, Role.SUPERVISOR)
    bad = client.post("/api/v1/session", json={"email": "supervisor@example.org", "password": "nope nope nope"})
    assert bad.status_code == 401
    me = client.post("/api/v1/session", json={"email": "supervisor@example.org", "password": PASSWORD}).json()
    assert me["role"] == "supervisor" and "supervisor:reviews:decide" in me["permissions"]
    assert "admin:zones:manage" not in me["permissions"]
    assert client.delete("/api/v1/session").status_code == 403  # no X-CSRF-Token
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in spec["paths"] and "/api/v1/session" in spec["paths"]
    assert "/sign-in" not in spec["paths"]  # pages are not API


def test_every_request_that_changes_things_takes_the_write_lock_after_its_checks(app: FastAPI) -> None:
    """A POST, PUT, PATCH or DELETE holds SQLite's write lock from its form or CSRF check on (`form`, `api_csrf`),
    or, for the two sign-ins, from after the password check (`open_signed_in_session`): none is left to fail when a
    verdict commits between its reads and its writes, and none holds the lock while a body arrives."""

    def calls(dependant: Dependant) -> Iterator[object]:
        yield dependant.call
        for dependency in dependant.dependencies:
            yield from calls(dependency)

    unlocked = sorted(
        (route.path or "", method)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in sorted(set(route.methods or ()) & UNSAFE_METHODS)
        if not {form, api_csrf} & set(calls(route.original_route.dependant))
    )
    assert unlocked == [("/api/v1/session", "POST"), ("/sign-in", "POST")]  # the sign-ins


def test_a_sign_in_checks_the_password_without_holding_up_the_writers(
    client: TestClient, sessions: sessionmaker[Session], web_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password check is slow by design (argon2): another writer must be able to commit while it runs, and
    the sign-in must then still be written, though a verdict committed after its first read."""
    add_account(sessions, email="ada@example.org")
    checked = verify_password

    def check_while_another_writes(stored_hash: str, password: str) -> bool:
        with web_engine.connect() as other:
            if other.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout = 100")  # fail fast if the sign-in held the lock
            other.execute(update(Account).values(full_name=func.upper(Account.full_name)))
            other.commit()
        return checked(stored_hash, password)

    monkeypatch.setattr("backend.accounts.service.verify_password", check_while_another_writes)
    sign_in(client, "ada@example.org")
    signed_in = client.post("/api/v1/session", json={"email": "ada@example.org", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    with sessions() as session:
        assert len(session.scalars(select(WebSession)).all()) == 2
