"""Signing in and out, registering, and resetting a forgotten password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from backend.accounts.models import Account
from backend.accounts.service import (
    FormError,
    authenticate,
    end_session,
    open_signed_in_session,
    register,
    request_password_reset,
    reset_password,
    start_session,
)
from backend.permits.models import Zone
from backend.web.context import WebContext
from backend.web.pages import redirect, render
from backend.web.security import (
    SESSION_COOKIE,
    Context,
    Db,
    Form,
    MaybeViewer,
    RequestMail,
    SignInForm,
    Viewer,
    signed_in,
)

router = APIRouter(tags=["pages: accounts"], include_in_schema=False)


def set_session_cookie(response: Response, context: WebContext, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(context.config.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=context.config.secure_cookies,
    )


def _safe_next(target: str) -> str:
    """Only local paths: an open redirect after sign-in would be a phishing tool."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def home_for(account: Account) -> str:
    from backend.accounts.models import Role

    return {Role.HOLDER: "/portal", Role.OFFICER: "/lookup", Role.SUPERVISOR: "/review", Role.ADMIN: "/admin"}[
        account.role
    ]


@router.get("/", response_class=HTMLResponse)
def index(request: Request, viewer: MaybeViewer) -> Response:
    if viewer is not None:
        return RedirectResponse(home_for(viewer.account), status_code=303)
    return render(request, "index.html")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/") -> Response:
    return render(request, "sign_in.html", next=_safe_next(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, session: Db, context: Context, form: SignInForm) -> Response:
    account = authenticate(session, form.get("email", ""), form.get("password", ""))
    target = _safe_next(form.get("next", "/"))
    if account is None:
        return render(
            request,
            "sign_in.html",
            401,
            next=target,
            form={"email": form.get("email", "")},
            errors={"password": "wrong e-mail or password"},
        )
    lifetime = timedelta(hours=context.config.session_hours)
    started = open_signed_in_session(session, account, form.get("password", ""), context.now(), lifetime)
    session.commit()
    response = RedirectResponse(home_for(account) if target == "/" else target, status_code=303)
    set_session_cookie(response, context, started.token)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: Db, _viewer: Annotated[Viewer, Depends(signed_in)], _form: Form) -> Response:
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
    response = redirect("/sign-in", flash="You are signed out.")
    response.delete_cookie(SESSION_COOKIE)
    return response


def _zones(session: Db) -> list[Zone]:
    return list(session.scalars(select(Zone).order_by(Zone.name)))


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, session: Db) -> Response:
    return render(request, "register.html", zones=_zones(session))


@router.post("/register", response_class=HTMLResponse)
def register_submit(request: Request, session: Db, context: Context, form: Form) -> Response:
    zone_id = form.get("address_zone_id") or None
    try:
        if zone_id is not None and session.get(Zone, zone_id) is None:
            raise FormError({"address_zone_id": "choose a zone from the list"})
        account = register(
            session,
            email=form.get("email", ""),
            password=form.get("password", ""),
            full_name=form.get("full_name", ""),
            address=form.get("address", ""),
            address_zone_id=zone_id,
        )
    except FormError as problem:
        session.rollback()
        kept = {key: value for key, value in form.items() if key != "password"}
        return render(request, "register.html", 422, zones=_zones(session), form=kept, errors=problem.errors)
    started = start_session(session, account, context.now(), timedelta(hours=context.config.session_hours))
    session.commit()
    response = redirect("/portal", flash="Welcome! Add a vehicle, then buy a permit for it.")
    set_session_cookie(response, context, started.token)
    return response


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html")


@router.post("/forgot", response_class=HTMLResponse)
def forgot_submit(request: Request, session: Db, context: Context, form: Form, mail: RequestMail) -> Response:
    request_password_reset(
        session,
        form.get("email", ""),
        context.now(),
        timedelta(minutes=context.config.reset_link_minutes),
        mail,
        context.base_url,
    )
    session.commit()
    return render(request, "forgot.html", sent=True)


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str) -> Response:
    return render(request, "reset.html", token=token)


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset_submit(request: Request, token: str, session: Db, context: Context, form: Form) -> Response:
    try:
        reset_password(session, token, form.get("password", ""), context.now())
    except FormError as problem:
        session.rollback()
        return render(request, "reset.html", 422, token=token, errors=problem.errors)
    session.commit()
    return redirect("/sign-in", flash="Your password is changed. Sign in with the new one.")
