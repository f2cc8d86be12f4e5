"""The portal's periodic work, for the backend's schedule: settle pending payments (and refunds whose answer was
lost), move the waitlists on, and mail renewal reminders. Each step runs in its own transaction, so one failing
does not undo the others. Its mail goes out once the step's changes commit, and the payment provider is asked
before SQLite's write lock is taken: neither a mail server nor a provider holds up the cars' verdicts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import MailAfterCommit, Mailer
from backend.billing.provider import provider_named
from backend.billing.service import (
    ProviderLookup,
    ask_about_pending_payments,
    record_settlements,
    settle_refunds_in_flight,
)
from backend.config import WebConfig
from backend.permits.sales import advance_waitlists, send_renewal_reminders
from backend.schedule import Every
from backend.storage.base import utc_now
from backend.storage.engine import begin_writing

log = logging.getLogger(__name__)
REMINDER_BATCH = 200


@dataclass(frozen=True)
class ChoresRun:
    payments_checked: int = 0
    offers_expired: int = 0
    offers_made: int = 0
    reminders_sent: int = 0
    refunds_answered: int = 0  # refunds in flight whose lost answer the provider gave again
    failed: tuple[str, ...] = ()


def run_portal_chores(
    sessions: sessionmaker[Session],
    now: datetime,
    config: WebConfig,
    mailer: Mailer,
    base_url: str = "",
    providers: ProviderLookup = provider_named,
) -> ChoresRun:
    """One pass of the portal's periodic work at `now`; returns what it did (and which steps failed)."""
    link = base_url or config.base_url or f"http://{config.host}:{config.port}"
    failed: list[str] = []
    checked = expired = offered = reminded = refunds_answered = 0

    def step(name: str, work: Callable[[Session, Mailer], None], lock_first: bool = True) -> None:
        try:
            with sessions() as session:
                if lock_first:
                    begin_writing(session)  # the step reads, then writes: on SQLite it must not race the verdicts
                work(session, MailAfterCommit(mailer, session))
                session.commit()
        except Exception:  # a failing step is logged and tried again next time; the others still run
            log.exception("portal chore %s failed", name)
            failed.append(name)

    def settle(session: Session, mail: Mailer) -> None:
        nonlocal checked
        checked, settlements = ask_about_pending_payments(session, now, providers)
        begin_writing(session)
        record_settlements(session, settlements, now, mail)

    def refunds(session: Session, _mail: Mailer) -> None:
        nonlocal refunds_answered
        refunds_answered = settle_refunds_in_flight(session, now, providers)

    def waitlists(session: Session, mail: Mailer) -> None:
        nonlocal expired, offered
        run = advance_waitlists(session, now, config.waitlist_offer_hours, mail, link)
        expired, offered = run.expired, run.offered

    def reminders(session: Session, mail: Mailer) -> None:
        # Batch by batch, each committed (and its mail sent): a failure later on never mails the committed ones again.
        nonlocal reminded
        while True:
            sent = send_renewal_reminders(session, now, mail, link, config.timezone, limit=REMINDER_BATCH)
            session.commit()
            reminded += sent
            if sent < REMINDER_BATCH:
                return
            begin_writing(session)

    step("settle payments", settle, lock_first=False)  # the provider is asked first, without the lock
    step("refunds in flight", refunds, lock_first=False)
    step("waitlists", waitlists)
    step("renewal reminders", reminders)
    return ChoresRun(checked, expired, offered, reminded, refunds_answered, tuple(failed))


def portal_chores_schedule(
    sessions: sessionmaker[Session],
    config: WebConfig,
    mailer: Mailer,
    every: timedelta,
    clock: Callable[[], datetime] = utc_now,
    base_url: str = "",
) -> Every:
    """`run_portal_chores`, every `every`, in a background thread of the backend process; links in mail point
    to `base_url`."""

    def chores() -> None:
        run = run_portal_chores(sessions, clock(), config, mailer, base_url)
        if run.offers_made or run.reminders_sent or run.payments_checked or run.refunds_answered:
            log.info("portal chores: %s", run)

    return Every("portal-chores", every, chores)
