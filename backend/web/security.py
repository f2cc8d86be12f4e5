"""Who is asking, what they may do, and CSRF: checked on every route by FastAPI dependencies.

Signed-in browsers carry a session cookie (a random token; the database keeps its SHA-256) and echo their
session's CSRF token in every form (`csrf_token`) and unsafe API call (`X-CSRF-Token`). Anonymous forms
(sign-in, register, reset) use a double-submit cookie instead, so a login form cannot be forged either.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.accounts.mailer import MailAfterCommit, Mailer
from backend.accounts.models import Account
from backend.accounts.permissions import Permission, allowed
from backend.accounts.service import find_session
from backend.storage.engine import begin_writing
from backend.web.context import WebContext, web_context

SESSION_COOKIE = "pp_session"
ANON_CSRF_COOKIE = "pp_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequiredError(Exception):
    """No (live) session: pages redirect to the sign-in page, the API answers 401."""


class ForbiddenError(Exception):
    """Signed in, but this role or this person may not: 403."""


class CsrfRejectedError(Exception):
    """A form or unsafe API call without the right CSRF token: 403."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person for this request."""

    account: Account
    csrf_token: str

    def may(self, permission: Permission) -> bool:
        return allowed(self.account.role, permission)


def db(context: Annotated[WebContext, Depends(web_context)]) -> Iterator[Session]:
    """One database session per request; handlers commit what they change, anything else is rolled back. A request
    that changes things takes SQLite's write lock once its form or CSRF header has been checked (`form`,
    `api_csrf`; a sign-in in `open_signed_in_session`, after the password check), and reads under it from then
    on: were it taken only at the first write, another writer's commit in between (the cars' verdicts, every few
    milliseconds) would fail the request at once; taken before the checks, a slow client's body or a password
    check would hold up every writer."""
    with context.sessions() as session:
        yield session


Db = Annotated[Session, Depends(db)]


def optional_viewer(
    request: Request, session: Db, context: Annotated[WebContext, Depends(web_context)]
) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    found = find_session(session, token, context.now()) if token else None
    viewer = Viewer(found.account, found.csrf_token) if found else None
    request.state.viewer = viewer
    return viewer


def signed_in(viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> Viewer:
    if viewer is None:
        raise SignInRequiredError
    return viewer


def require(permission: Permission) -> Callable[..., Viewer]:
    """A dependency that lets through only viewers whose role holds `permission`."""

    def check(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
        if not viewer.may(permission):
            raise ForbiddenError
        return viewer

    check.__name__ = f"require_{permission.name.lower()}"
    return check


def resolve_viewer(request: Request) -> Viewer | None:
    """The viewer for pages whose handler did not ask for one (the header and forms still need it)."""
    if not hasattr(request.state, "viewer"):
        context = web_context(request)
        with context.sessions() as session:
            request.state.viewer = optional_viewer(request, session, context)
    viewer = request.state.viewer
    assert viewer is None or isinstance(viewer, Viewer)
    return viewer


def expected_csrf(request: Request) -> str:
    """The token this request's forms must carry: the session's, or the anonymous double-submit cookie's."""
    viewer = resolve_viewer(request)
    if isinstance(viewer, Viewer):
        return viewer.csrf_token
    existing = getattr(request.state, "anon_csrf", None)
    if existing is None:
        existing = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.anon_csrf = existing  # the middleware sets the cookie on the response
    assert isinstance(existing, str)
    return existing


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def sign_in_form(request: Request, _viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> dict[str, str]:
    """The posted form's text fields, after its CSRF token is checked (file fields are not accepted)."""
    data = await request.form()
    if not tokens_match(_text(data.get(CSRF_FIELD)), expected_csrf(request)):
        raise CsrfRejectedError
    return {key: value for key, value in data.items() if isinstance(value, str) and key != CSRF_FIELD}


async def form(fields: Annotated[dict[str, str], Depends(sign_in_form)], session: Db) -> dict[str, str]:
    """The posted form's checked fields; the request then holds SQLite's write lock (see `db`)."""
    begin_writing(session)
    return fields


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def api_csrf(request: Request, viewer: Annotated[Viewer, Depends(signed_in)], session: Db) -> Viewer:
    """Unsafe API calls echo the session's CSRF token in a header (a cross-site page cannot read it); checked, the
    call then holds SQLite's write lock (see `db`)."""
    if request.method in UNSAFE_METHODS:
        if not tokens_match(request.headers.get(CSRF_HEADER), viewer.csrf_token):
            raise CsrfRejectedError
        begin_writing(session)
    return viewer


def require_api(permission: Permission) -> Callable[..., Viewer]:
    """API calls: signed in, the X-CSRF-Token header on unsafe methods, and the role holds `permission`."""

    def check(viewer: Annotated[Viewer, Depends(api_csrf)]) -> Viewer:
        if not viewer.may(permission):
            raise ForbiddenError
        return viewer

    check.__name__ = f"api_require_{permission.name.lower()}"
    return check


Form = Annotated[dict[str, str], Depends(form)]
SignInForm = Annotated[dict[str, str], Depends(sign_in_form)]  # no write lock: open_signed_in_session takes it
MaybeViewer = Annotated[Viewer | None, Depends(optional_viewer)]
Context = Annotated[WebContext, Depends(web_context)]


def request_mail(session: Db, context: Context) -> Mailer:
    """The request's mail: sent once its changes commit, never for changes rolled back (MailAfterCommit)."""
    return MailAfterCommit(context.mailer, session)


RequestMail = Annotated[Mailer, Depends(request_mail)]
