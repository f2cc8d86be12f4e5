"""Mail written in a transaction goes out when it commits, and never for work rolled back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts.mailer import FolderMailer, Mail, MailAfterCommit


def _mail(to: str) -> Mail:
    return Mail(to=to, subject=f"for {to}", body="hello")


def _sent(folder: Path) -> list[str]:
    return sorted(path.name.split("-", 1)[1].removesuffix(".eml") for path in folder.glob("*.eml"))


def test_mail_goes_out_when_its_transaction_commits_not_before(session: Session, tmp_path: Path) -> None:
    mail = MailAfterCommit(FolderMailer(tmp_path), session)
    session.execute(text("SELECT 1"))
    mail.send(_mail("ada@example.org"))
    session.flush()
    assert _sent(tmp_path) == []
    session.commit()
    assert _sent(tmp_path) == ["ada@example.org"]
    session.commit()  # an empty transaction later sends nothing again
    assert _sent(tmp_path) == ["ada@example.org"]


def test_mail_of_a_rolled_back_transaction_never_goes(session: Session, tmp_path: Path) -> None:
    mail = MailAfterCommit(FolderMailer(tmp_path), session)
    mail.send(_mail("ada@example.org"))
    session.rollback()
    mail.send(_mail("bob@example.org"))
    session.commit()
    assert _sent(tmp_path) == ["bob@example.org"]


def test_mail_of_a_savepoint_given_up_is_dropped_and_the_rest_waits_for_the_commit(
    session: Session, tmp_path: Path
) -> None:
    mail = MailAfterCommit(FolderMailer(tmp_path), session)
    mail.send(_mail("ada@example.org"))
    with session.begin_nested():
        mail.send(_mail("bob@example.org"))  # released with its savepoint: goes with the transaction
    try:
        with session.begin_nested():
            mail.send(_mail("cy@example.org"))
            with session.begin_nested():
                mail.send(_mail("di@example.org"))  # inside the savepoint given up: dropped with it
            raise RuntimeError("this payment cannot be settled")
    except RuntimeError:
        pass
    assert _sent(tmp_path) == []  # releasing a savepoint is not a commit
    session.commit()
    assert _sent(tmp_path) == ["ada@example.org", "bob@example.org"]


def test_mail_of_a_session_closed_without_a_commit_never_goes(session: Session, tmp_path: Path) -> None:
    mail = MailAfterCommit(FolderMailer(tmp_path), session)
    mail.send(_mail("ada@example.org"))
    session.close()
    session.commit()  # the session begins anew; what was written before the close is not part of it
    assert _sent(tmp_path) == []


class _RefusesOne(FolderMailer):
    def send(self, mail: Mail) -> None:
        if mail.to == "ada@example.org":
            raise OSError("the mail server hung up")
        super().send(mail)


def test_a_mail_that_fails_after_the_commit_is_logged_and_the_others_still_go(
    session: Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mail = MailAfterCommit(_RefusesOne(tmp_path), session)
    mail.send(_mail("ada@example.org"))
    mail.send(_mail("bob@example.org"))
    with caplog.at_level(logging.ERROR, logger="backend.accounts.mailer"):
        session.commit()  # the change stands: the failure is not raised to the work that committed
    assert _sent(tmp_path) == ["bob@example.org"]
    assert "could not be sent" in caplog.text and "ada@example.org" in caplog.text
