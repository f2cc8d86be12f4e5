"""Web fixtures: a fresh migrated database per test (SQLite and PostgreSQL), the app on a frozen clock,
an in-process client, and, for browser tests, the app on a loopback port driven by Debian's Chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.accounts.models import Account, Role
from backend.accounts.service import register
from backend.config import WebConfig
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from backend.web.app import create_app
from backend.web.server import WebServer
from tests.conftest import DatabaseFactory

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "PLATEPATROL_REQUIRE_BROWSER"
PASSWORD = "correct horse battery"


class Clock:
    """A settable clock the app reads instead of the wall: money and dates are tested at chosen moments."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))


@pytest.fixture
def web_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """A fresh, migrated database for each test: web requests commit, so tests cannot share one."""
    engine = make_engine(databases.new_url())
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(web_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(web_engine)


@pytest.fixture
def web_config(tmp_path: Path) -> WebConfig:
    return WebConfig(mail_dir=tmp_path / "mail", timezone="America/New_York")


@pytest.fixture
def mailer(web_config: WebConfig) -> FolderMailer:
    return FolderMailer(web_config.mail_dir)


@pytest.fixture
def app(web_config: WebConfig, sessions: sessionmaker[Session], mailer: FolderMailer, clock: Clock) -> FastAPI:
    return create_app(web_config, sessions, mailer=mailer, clock=clock, base_url="http://permits.test")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://permits.test", follow_redirects=False) as test_client:
        yield test_client


def add_account(
    sessions: sessionmaker[Session],
    role: Role = Role.HOLDER,
    email: str | None = None,
    full_name: str = "Ada Holder",
    **extra: Any,
) -> Account:
    with sessions() as session:
        account = register(session, email or f"{role.value}@example.org", PASSWORD, full_name, role=role, **extra)
        session.commit()
        session.refresh(account)
        session.expunge(account)
        return account


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def post_form(client: TestClient, page: str, action: str, fields: dict[str, str]) -> Any:
    """Open `page`, take its CSRF token, and post `fields` to `action`, as a browser would."""
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields})


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = post_form(client, "/sign-in", "/sign-in", {"email": email, "password": password})
    assert response.status_code == 303, response.text


# ---- browser tests ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveSite:
    url: str
    sessions: sessionmaker[Session]
    clock: Clock
    mailer: FolderMailer


@pytest.fixture
def live_site(app: FastAPI, sessions: sessionmaker[Session], clock: Clock, mailer: FolderMailer) -> Iterator[LiveSite]:
    server = WebServer("127.0.0.1", 0)
    server.start(app)
    yield LiveSite(server.url, sessions, clock, mailer)
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (no browser download: Playwright's driver, the system's browser)."""
    if not CHROMIUM.exists():
        if os.environ.get(REQUIRE_BROWSER_ENV):
            pytest.fail(f"{CHROMIUM} is missing but {REQUIRE_BROWSER_ENV} is set: browser tests cannot be skipped")
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live_site: LiveSite) -> Iterator[Any]:
    context = chromium.new_context(base_url=live_site.url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
