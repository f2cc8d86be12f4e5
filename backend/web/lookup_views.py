"""Plate look-up for officers, supervisors and admins: today's verdict and the permits behind it, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from backend.accounts.permissions import Permission
from backend.audit.log import audit_access
from backend.enforcement.reads import VerdictOut
from backend.enforcement.wire import InvalidReadError, plate_from_text
from backend.permits.models import Permit, Vehicle
from backend.web.pages import render
from backend.web.security import Context, Db, Viewer, require

router = APIRouter()
Officer = Annotated[Viewer, Depends(require(Permission.OFFICER_PLATES_LOOKUP))]


class PlateVerdict(BaseModel):
    plate: str
    outcome: str
    reason: str
    sentence: str
    permit_id: str | None
    permit_revision: int | None


def _look_up(session: Db, context: Context, viewer: Viewer, plate: str) -> tuple[VerdictOut, list[Permit]]:
    verdict = context.enforcement.check(plate, context.now())
    permits = list(
        session.scalars(
            select(Permit).join(Permit.vehicles).where(Vehicle.plate == plate).order_by(Permit.valid_until.desc())
        )
    )
    audit_access(session, viewer.account.id, "plate.lookup", "plate", plate, outcome=verdict.outcome.value)
    return verdict, permits


@router.get("/lookup", response_class=HTMLResponse, include_in_schema=False)
def lookup_page(request: Request, session: Db, context: Context, viewer: Officer, plate: str = "") -> Response:
    if not plate:
        return render(request, "lookup.html")
    try:
        normalised = plate_from_text(plate)
    except InvalidReadError as problem:
        return render(request, "lookup.html", 422, form={"plate": plate}, errors={"plate": str(problem)})
    verdict, permits = _look_up(session, context, viewer, normalised)
    return render(request, "lookup.html", form={"plate": plate}, verdict=verdict, permits=permits)


@router.get("/api/v1/plates/{plate}/verdict", tags=["enforcement"], responses={422: {"description": "not a plate"}})
def plate_verdict(plate: str, session: Db, context: Context, viewer: Officer) -> PlateVerdict:
    """The verdict a car would get for `plate` now, anywhere (the look-up is written to the audit log)."""
    try:
        normalised = plate_from_text(plate)
    except InvalidReadError as problem:
        raise HTTPException(status_code=422, detail=str(problem)) from None
    verdict, _ = _look_up(session, context, viewer, normalised)
    return PlateVerdict(
        plate=normalised,
        outcome=verdict.outcome.value,
        reason=verdict.reason.value,
        sentence=verdict.sentence,
        permit_id=verdict.permit_id,
        permit_revision=verdict.permit_revision,
    )
