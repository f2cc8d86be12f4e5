"""The admin console's permit pages: search, issue, suspend, reinstate, revoke, and refund their payments."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.accounts.models import Account
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.billing.models import Order, Payment
from backend.billing.service import refund_payment, refundable_minor
from backend.permits.admin import (
    PERMIT_ACTIONS,
    SearchBy,
    audit_search,
    change_permit_status,
    issue_permit,
    price_to_minor,
    search_permits,
)
from backend.permits.models import Permit, PermitRevision, PermitType
from backend.web.pages import redirect, render
from backend.web.security import Context, Db, Form, Viewer, require

router = APIRouter(tags=["pages: admin"], include_in_schema=False)
Permits = Annotated[Viewer, Depends(require(Permission.ADMIN_PERMITS_MANAGE))]
Refunds = Annotated[Viewer, Depends(require(Permission.ADMIN_PAYMENTS_REFUND))]
SEARCH_BY = [(SearchBy.PLATE, "plate"), (SearchBy.CODE, "permit code"), (SearchBy.HOLDER, "holder name or e-mail")]


@router.get("/admin/permits", response_class=HTMLResponse)
def permits_page(
    request: Request, session: Db, viewer: Permits, q: str = "", by: str = SearchBy.PLATE, page: str = "1"
) -> Response:
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    found = search_permits(session, q[:128], by if by in SearchBy.ALL else SearchBy.PLATE, number)
    audit_search(session, viewer.account.id, q, by)
    return render(request, "admin/permits.html", found=found, q=q, by=by, search_by=SEARCH_BY, form={"q": q, "by": by})


def _types(session: Session) -> list[tuple[str, str]]:
    return [(t.id, f"{t.name} ({t.code})") for t in session.scalars(select(PermitType).order_by(PermitType.code))]


@router.get("/admin/permits/new", response_class=HTMLResponse)
def permit_new_page(request: Request, session: Db, context: Context, _viewer: Permits) -> Response:
    today = context.now().date().isoformat()
    return render(request, "admin/permit_new.html", types=_types(session), form={"valid_from": today})


@router.post("/admin/permits/new", response_class=HTMLResponse)
def permit_issue(request: Request, session: Db, context: Context, viewer: Permits, form: Form) -> Response:
    try:
        permit = issue_permit(session, form, viewer.account.id, context.now(), context.config.timezone)
    except FormError as problem:
        session.rollback()
        return render(request, "admin/permit_new.html", 422, types=_types(session), form=form, errors=problem.errors)
    session.commit()
    return redirect(f"/admin/permits/{permit.id}", flash=f"Permit {permit.code} is issued and enforced from now on.")


def _permit(session: Session, permit_id: str) -> Permit:
    permit = session.get(Permit, permit_id, options=[selectinload(Permit.vehicles), selectinload(Permit.type)])
    if permit is None:
        raise HTTPException(status_code=404)
    return permit


def _permit_page(request: Request, session: Session, permit: Permit, status: int = 200, **values: object) -> Response:
    revisions = list(
        session.scalars(
            select(PermitRevision).where(PermitRevision.permit_id == permit.id).order_by(PermitRevision.revision.desc())
        )
    )
    payments = list(
        session.scalars(
            select(Payment)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.permit_id == permit.id)
            .options(selectinload(Payment.refunds))
            .order_by(Payment.created_at)
        )
    )
    holder = session.get(Account, permit.holder_id) if permit.holder_id else None
    return render(
        request,
        "admin/permit.html",
        status,
        permit=permit,
        holder=holder,
        revisions=revisions,
        payments=[(payment, refundable_minor(payment)) for payment in payments],
        actions=_actions_for(permit),
        refund_key=secrets.token_urlsafe(18),  # a fresh idempotency key per form: a double submit refunds once
        **values,
    )


def _actions_for(permit: Permit) -> list[str]:
    allowed = {"active": ["suspend", "revoke"], "suspended": ["reinstate", "revoke"], "revoked": []}
    return [action for action in allowed[permit.status.value] if action in PERMIT_ACTIONS]


@router.get("/admin/permits/{permit_id}", response_class=HTMLResponse)
def permit_page(request: Request, permit_id: str, session: Db, _viewer: Permits) -> Response:
    return _permit_page(request, session, _permit(session, permit_id))


@router.post("/admin/permits/{permit_id}/status", response_class=HTMLResponse)
def permit_status(request: Request, permit_id: str, session: Db, viewer: Permits, form: Form) -> Response:
    permit = _permit(session, permit_id)
    action = form.get("action", "")
    try:
        change_permit_status(session, permit, action, form.get("reason", ""), viewer.account.id)
    except FormError as problem:
        session.rollback()
        permit = _permit(session, permit_id)
        return _permit_page(request, session, permit, 422, form=form, errors=problem.errors)
    session.commit()
    done = {"suspend": "suspended", "reinstate": "reinstated", "revoke": "revoked"}[action]
    return redirect(
        f"/admin/permits/{permit.id}", flash=f"Permit {permit.code} is {done}; the next verdict for its plates sees it."
    )


@router.post("/admin/permits/{permit_id}/refund", response_class=HTMLResponse)
def permit_refund(
    request: Request, permit_id: str, session: Db, context: Context, viewer: Refunds, form: Form
) -> Response:
    permit = _permit(session, permit_id)
    payment_id = form.get("payment_id", "")
    payment = session.get(Payment, payment_id)
    order = session.get(Order, payment.order_id) if payment else None
    errors: dict[str, str] = {}
    if order is None or order.permit_id != permit.id:
        errors["payment_id"] = "choose a payment of this permit"
    amount = 0
    try:
        amount = price_to_minor(form.get("amount", ""))
    except ValueError:
        errors["amount"] = "an amount like 12.50"
    try:
        if errors:
            raise FormError(errors)
        refund = refund_payment(
            session,
            payment_id,
            amount,
            form.get("refund_reason", ""),
            form.get("idempotency_key", ""),
            viewer.account.id,
            context.now(),
        )
    except FormError as problem:
        session.rollback()
        renamed = {"amount_minor": "amount", "reason": "refund_reason", "payment": "payment_id"}
        shown = {renamed.get(key, key): message for key, message in problem.errors.items()}
        permit = _permit(session, permit_id)
        return _permit_page(request, session, permit, 422, form=form, errors=shown, refund_payment_id=payment_id)
    session.commit()
    if refund.in_flight:
        word = "sent to the provider, which has not answered yet: it is asked again"
    else:
        word = "refunded" if refund.succeeded else "refused by the provider"
    return redirect(f"/admin/permits/{permit.id}", flash=f"{refund.amount_minor / 100:.2f} {word}.")
