"""What every request handler needs, built once per app: config, database sessions, mailer, clock, templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import Mailer
from backend.config import WebConfig
from backend.enforcement.service import EnforcementService

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class WebContext:
    config: WebConfig
    sessions: sessionmaker[Session]
    mailer: Mailer
    clock: Callable[[], datetime]  # aware UTC; tests pass a frozen one
    templates: Jinja2Templates
    base_url: str  # for links in mail
    enforcement: EnforcementService  # the same verdicts the cars get, for look-ups and checks

    def now(self) -> datetime:
        return self.clock()


def web_context(request: Request) -> WebContext:
    context = request.app.state.web
    assert isinstance(context, WebContext)
    return context
