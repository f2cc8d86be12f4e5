"""The JSON API's account endpoints. Each domain adds its own under /api/v1; FastAPI describes them all."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.accounts.service import authenticate, end_session, open_signed_in_session
from backend.web.auth_views import set_session_cookie
from backend.web.security import SESSION_COOKIE, Context, Db, Viewer, api_csrf, signed_in

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Me(BaseModel):
    id: str
    email: str
    full_name: str
    role: str
    permissions: list[str]
    csrf_token: str = Field(description="send it as X-CSRF-Token on every POST, PUT, PATCH and DELETE")


class Credentials(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


def _me(viewer: Viewer) -> Me:
    from backend.accounts.permissions import GRANTS

    account = viewer.account
    return Me(
        id=account.id,
        email=account.email,
        full_name=account.full_name,
        role=account.role.value,
        permissions=sorted(permission.value for permission in GRANTS[account.role]),
        csrf_token=viewer.csrf_token,
    )


@router.get("/me")
def me(viewer: Annotated[Viewer, Depends(signed_in)]) -> Me:
    """Who is signed in, what they may do, and the CSRF token for unsafe calls."""
    return _me(viewer)


@router.post("/session", responses={401: {"description": "wrong e-mail or password"}})
def open_session(credentials: Credentials, session: Db, context: Context) -> JSONResponse:
    """Sign in; the session cookie comes back with the answer (JSON clients keep it like a browser)."""
    account = authenticate(session, credentials.email, credentials.password)
    if account is None:
        return JSONResponse({"detail": "wrong e-mail or password"}, status_code=401)
    lifetime = timedelta(hours=context.config.session_hours)
    started = open_signed_in_session(session, account, credentials.password, context.now(), lifetime)
    session.commit()
    response = JSONResponse(_me(Viewer(account, started.csrf_token)).model_dump())
    set_session_cookie(response, context, started.token)
    return response


@router.delete("/session", status_code=204)
def close_session(request: Request, session: Db, _viewer: Annotated[Viewer, Depends(api_csrf)]) -> None:
    """Sign out."""
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
