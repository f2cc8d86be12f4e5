"""The web application: pages and the JSON API, with sign-in, roles and CSRF on every route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer, Mailer
from backend.config import EnforcementPolicy, WebConfig
from backend.enforcement.service import EnforcementService
from backend.storage.base import utc_now
from backend.web import admin_views, api_views, auth_views, lookup_views, portal_views, review_views
from backend.web.context import STATIC, TEMPLATES, WebContext
from backend.web.pages import local_time, money, render
from backend.web.security import ANON_CSRF_COOKIE, CsrfRejectedError, ForbiddenError, SignInRequiredError

API_PREFIX = "/api/v1"


def create_app(
    config: WebConfig,
    sessions: sessionmaker[Session],
    mailer: Mailer | None = None,
    clock: Callable[[], datetime] = utc_now,
    base_url: str = "",
    policy: EnforcementPolicy | None = None,
) -> FastAPI:
    app = FastAPI(
        title="PlatePatrol permit office",
        version="1",
        description="Permits, vehicles, zones, payments and the review queue. Sign in first; unsafe calls "
        "need the X-CSRF-Token header from GET /api/v1/me.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=TEMPLATES)  # autoescapes HTML
    templates.env.filters["money"] = money
    templates.env.globals["local_time"] = lambda value, with_time=True: local_time(value, config.timezone, with_time)
    templates.env.globals["city_timezone"] = config.timezone
    app.state.web = WebContext(
        config=config,
        sessions=sessions,
        mailer=mailer or FolderMailer(config.mail_dir),
        clock=clock,
        templates=templates,
        base_url=base_url or config.base_url or f"http://{config.host}:{config.port}",
        enforcement=EnforcementService(sessions, policy),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_error_pages(app)
    _add_anonymous_csrf_cookie(app, secure=config.secure_cookies)
    _add_security_headers(app)
    for router in _routers():
        app.include_router(router)
    return app


def _routers() -> list[APIRouter]:
    """Each audience's pages and the JSON API, assembled in one place."""
    return [
        auth_views.router,
        lookup_views.router,
        portal_views.router,
        admin_views.router,
        review_views.router,
        api_views.router,
    ]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, _: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, _: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "your account may not do this"}, status_code=403)
        return render(request, "error.html", 403, title="Not allowed", message="Your account may not open this page.")

    @app.exception_handler(CsrfRejectedError)
    async def _csrf(request: Request, _: Exception) -> Response:
        message = "The form was out of date or sent from another site. Reload the page and try again."
        if _is_api(request):
            return JSONResponse({"detail": "missing or wrong X-CSRF-Token header"}, status_code=403)
        return render(request, "error.html", 403, title="Form expired", message=message)


def _add_anonymous_csrf_cookie(app: FastAPI, secure: bool) -> None:
    @app.middleware("http")
    async def _set_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        token = getattr(request.state, "anon_csrf", None)
        if token and request.cookies.get(ANON_CSRF_COOKIE) != token:
            response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure)
        return response


def _add_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Everything is served from here (Leaflet is bundled): no script, style or image from elsewhere.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return response
