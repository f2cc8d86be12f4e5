"""Sending mail. Production plugs in a real transport; the development mailer writes .eml files to a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


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
