"""Sending mail. Production plugs in a real transport; the development mailer writes .eml files to a folder."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class FolderMailer:
    """Writes each message as an RFC 5322 file, newest last by name, for developers and tests to open."""

    def __init__(self, folder: Path, sender: str = "permits@platepatrol.invalid") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: Mail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", mail.to)
        (self.folder / f"{stamp}-{safe_to}.eml").write_bytes(bytes(message))

    def messages_to(self, address: str) -> list[EmailMessage]:
        """The messages sent to `address`, oldest first (for the development UI and tests)."""
        from email import message_from_bytes, policy

        found = []
        for path in sorted(self.folder.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if str(message["To"]).lower() == address.lower():
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found


class MailAfterCommit:
    """The mail that work in `session` writes, held until the session's transaction commits and sent then; dropped
    if it is rolled back, or if the savepoint it was written in is. So nobody is told of a change that did not
    happen (a commit refused, an error later in the request, a payment given up), a reset link always works, and a
    slow mail server never holds a transaction open: on SQLite, holding one holds the write lock and with it the
    cars' verdicts. The price: a mail that fails after the commit is not sent (it is logged); the change stands."""

    def __init__(self, mailer: Mailer, session: Session) -> None:
        self._mailer = mailer
        self._session = session
        self._held: list[tuple[SessionTransaction, Mail]] = []
        event.listen(session, "after_commit", self._committed)
        event.listen(session, "after_soft_rollback", self._rolled_back)
        event.listen(session, "after_transaction_end", self._ended)

    def send(self, mail: Mail) -> None:
        session = self._session
        session.connection()  # begins the transaction if none has begun: the mail belongs to it
        transaction = session.get_nested_transaction() or session.get_transaction()
        assert transaction is not None
        self._held.append((transaction, mail))

    def _committed(self, session: Session) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint was released: its mail now waits for the transaction around it
        held, self._held = self._held, []
        for _, mail in held:
            try:
                self._mailer.send(mail)
            except Exception:  # the change is committed: one mail lost is logged, the rest still go
                log.exception("mail %r to %s could not be sent after its change was committed", mail.subject, mail.to)

    def _rolled_back(self, session: Session, rolled_back: SessionTransaction) -> None:
        self._held = [(written_in, mail) for written_in, mail in self._held if not _within(written_in, rolled_back)]

    def _ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            self._held = []  # closed without a commit: what is left was never committed


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
