from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.billing.chores import run_portal_chores
from backend.billing.models import Payment, PaymentStatus
from backend.billing.provider import FAILS_LATER, SUCCEEDS, Card, SandboxProvider
from backend.billing.service import create_order, pay_order
from backend.config import WebConfig
from tests.backend.billing.helpers import NOW, holder_with_vehicle, permit_type, vehicle_ids
from tests.backend.factories import a_verdict_after_every_read

NY = "America/New_York"


def test_one_pass_settles_offers_and_reminds(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        kind = permit_type(session, renew_days_before=10)
        ada = holder_with_vehicle(session, "ADA1", "ada@example.org")
        bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
        for account, number, name in [(ada, SUCCEEDS, "ada"), (bob, FAILS_LATER, "bob")]:
            order = create_order(
                session, account, kind, vehicle_ids(session, account), None, f"order-{name}-1", NOW, NY
            )
            pay_order(
                session, account, order.id, Card(number, 12, 2030, "123"), f"pay-{name}-001", NOW, SandboxProvider()
            )
        session.commit()
    mailer = FolderMailer(tmp_path)
    run = run_portal_chores(sessions, NOW + timedelta(minutes=1), WebConfig(timezone=NY), mailer, "http://x")
    assert (run.payments_checked, run.reminders_sent, run.failed) == (1, 1, ())
    assert "failed" in str(mailer.messages_to("bob@example.org")[0]["Subject"])
    [reminder] = mailer.messages_to("ada@example.org")
    assert "Renew" in str(reminder["Subject"]) and "2026-12-01 00:00 (America/New_York)" in reminder.get_content()
    again = run_portal_chores(sessions, NOW + timedelta(minutes=2), WebConfig(timezone=NY), mailer)
    assert (again.payments_checked, again.reminders_sent) == (0, 0)


def test_the_chores_run_while_the_cars_verdicts_are_written(fresh_engine: Engine, tmp_path: Path) -> None:
    """The chores read, then write, in the serving process beside the cars' verdicts: on SQLite a step that did not
    lock up front would fail whenever a verdict committed in between, and pending payments would wait forever."""
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    with sessions() as session:
        kind = permit_type(session, renew_days_before=10)
        for n in range(20):
            account = holder_with_vehicle(session, f"CAR{n}", f"holder{n}@example.org")
            order = create_order(session, account, kind, vehicle_ids(session, account), None, f"order-{n}-1", NOW, NY)
            card = Card(SUCCEEDS if n % 2 else FAILS_LATER, 12, 2030, "123")
            pay_order(session, account, order.id, card, f"pay-{n}-0001", NOW, SandboxProvider())
        session.commit()
    mailer = FolderMailer(tmp_path)
    with a_verdict_after_every_read(fresh_engine):
        run = run_portal_chores(sessions, NOW + timedelta(minutes=1), WebConfig(timezone=NY), mailer, "http://x")
    assert run.failed == ()
    assert (run.payments_checked, run.reminders_sent) == (10, 10)  # the good cards settled when paid
    with sessions() as session:
        assert not session.scalars(select(Payment).where(Payment.status == PaymentStatus.PENDING)).all()
