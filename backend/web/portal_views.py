"""The permit holder's self-service portal: their permits, vehicles, purchases and renewals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from backend.accounts.permissions import Permission
from backend.permits.models import Permit
from backend.web.pages import render
from backend.web.security import Db, Viewer, require

router = APIRouter()
Holder = Annotated[Viewer, Depends(require(Permission.HOLDER_PERMITS_VIEW))]


@router.get("/portal", response_class=HTMLResponse, include_in_schema=False)
def portal_home(request: Request, session: Db, viewer: Holder) -> Response:
    permits = session.scalars(
        select(Permit).where(Permit.holder_id == viewer.account.id).order_by(Permit.valid_until.desc())
    ).all()
    return render(request, "portal/home.html", permits=permits)
