from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.billing import chores
from backend.billing.chores import run_portal_chores
from backend.billing.models import Payment, PaymentStatus
from backend.billing.provider import FAILS_LATER, SUCCEEDS, Card, Charge, SandboxProvider
from backend.billing.service import create_order, pay_order, settle_pending_payments
from backend.config import WebConfig
from backend.storage.engine import begin_writing
from tests.backend.billing.helpers import (
    NOW,
    holder_with_vehicle,
    permit_type,
    vehicle_ids,
    write_from_another_connection,
)
from tests.backend.factories import a_verdict_after_every_read, another_writer

NY = "America/New_York"


def ada_paid_and_bob_pending(sessions: sessionmaker[Session]) -> None:
    """Two holders of a type whose renewal opens 10 days early: Ada's card paid, Bob's payment still pending (his
    card fails when the provider is asked later)."""
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


def test_one_pass_settles_offers_and_reminds(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    ada_paid_and_bob_pending(sessions)
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


class _AsksWhileAnotherWrites(SandboxProvider):
    """The sandbox, but while it is asked about a charge another connection writes and commits, as the cars'
    verdicts do, and fails fast if the chores held SQLite's write lock (a networked provider takes its time)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.asked = 0

    def settle(self, ref: str) -> Charge:
        write_from_another_connection(self.engine, "UPDATE accounts SET full_name = full_name || '.'")
        self.asked += 1
        return super().settle(ref)


def test_the_provider_is_asked_without_holding_up_the_writers(fresh_engine: Engine, tmp_path: Path) -> None:
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    with sessions() as session:
        kind = permit_type(session)
        for n in range(3):
            account = holder_with_vehicle(session, f"LATE{n}", f"late{n}@example.org")
            order = create_order(session, account, kind, vehicle_ids(session, account), None, f"order-{n}-1", NOW, NY)
            pay_order(
                session, account, order.id, Card(FAILS_LATER, 12, 2030, "123"), f"pay-{n}-001", NOW, SandboxProvider()
            )
        session.commit()
    provider = _AsksWhileAnotherWrites(fresh_engine)
    mailer = FolderMailer(tmp_path)
    with another_writer(fresh_engine):
        run = run_portal_chores(
            sessions, NOW + timedelta(minutes=1), WebConfig(timezone=NY), mailer, providers=lambda _name: provider
        )
    assert (run.failed, run.payments_checked, provider.asked) == ((), 3, 3)
    with sessions() as session:
        assert set(session.scalars(select(Payment.status))) == {PaymentStatus.FAILED}
    assert all(len(mailer.messages_to(f"late{n}@example.org")) == 1 for n in range(3))


def _a_payment_being_confirmed(sessions: sessionmaker[Session]) -> str:
    """late@example.org's order, paid with the card the bank confirms later (and then refuses); its id."""
    with sessions() as session:
        account = holder_with_vehicle(session, "LATE1", "late@example.org")
        order = create_order(
            session, account, permit_type(session), vehicle_ids(session, account), None, "order-1-1", NOW, NY
        )
        pay_order(session, account, order.id, Card(FAILS_LATER, 12, 2030, "123"), "pay-1-001", NOW, SandboxProvider())
        session.commit()
        return order.id


def test_a_payment_settled_meanwhile_is_left_as_it_is(fresh_engine: Engine, tmp_path: Path) -> None:
    """The provider is asked outside the transaction that writes: a payment the holder's receipt page settled in
    between is not settled (nor mailed about) twice."""
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    _a_payment_being_confirmed(sessions)
    mailer = FolderMailer(tmp_path)

    class _ReceiptPageFirst(SandboxProvider):
        def settle(self, ref: str) -> Charge:
            with sessions() as other:  # the holder presses "check again" while the schedule asks
                settle_pending_payments(other, NOW, mailer)
                other.commit()
            return super().settle(ref)

    run = run_portal_chores(
        sessions,
        NOW + timedelta(minutes=1),
        WebConfig(timezone=NY),
        mailer,
        providers=lambda _name: _ReceiptPageFirst(),
    )
    assert (run.failed, run.payments_checked) == ((), 1)
    assert len(mailer.messages_to("late@example.org")) == 1


def test_the_receipt_pages_check_asks_the_provider_without_the_write_lock(fresh_engine: Engine, tmp_path: Path) -> None:
    """The holder's "check again" runs in a request that took the write lock once its form was checked: the ask
    itself must not hold it."""
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    order_id = _a_payment_being_confirmed(sessions)
    provider = _AsksWhileAnotherWrites(fresh_engine)
    with sessions() as session:
        begin_writing(session)
        asked = settle_pending_payments(
            session, NOW, FolderMailer(tmp_path), providers=lambda _name: provider, order_id=order_id
        )
        session.commit()
    assert (asked, provider.asked) == (1, 1)
    with sessions() as session:
        assert session.scalar(select(Payment.status)) is PaymentStatus.FAILED


def test_an_unreachable_provider_or_a_failing_step_loses_nothing(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payment provider cannot be reached: the payment stays pending and is asked about next pass. A step that
    fails outright is named, and the steps after it still run."""
    ada_paid_and_bob_pending(sessions)

    def provider_gone(name: str) -> SandboxProvider:
        raise ConnectionError(f"{name} is unreachable")

    def waitlists_broken(*_: object, **__: object) -> None:
        raise RuntimeError("the waitlist step broke")

    monkeypatch.setattr(chores, "advance_waitlists", waitlists_broken)
    mailer = FolderMailer(tmp_path)
    config = WebConfig(timezone=NY)
    run = run_portal_chores(sessions, NOW + timedelta(minutes=1), config, mailer, "http://x", providers=provider_gone)
    assert run.failed == ("waitlists",) and run.reminders_sent == 1  # the reminders come after the broken step
    assert not mailer.messages_to("bob@example.org")  # his payment's failure is not known yet
    with sessions() as session:
        pending = session.scalar(select(Payment.status).where(Payment.idempotency_key == "pay-bob-001"))
    assert pending == PaymentStatus.PENDING

    monkeypatch.undo()
    later = run_portal_chores(sessions, NOW + timedelta(minutes=2), config, mailer, "http://x")
    assert (later.failed, later.payments_checked, later.reminders_sent) == ((), 1, 0)  # asked again; reminded once
    assert "failed" in str(mailer.messages_to("bob@example.org")[0]["Subject"])
