"""Rendering pages: every template gets the viewer, the CSRF token, the city's time zone and money helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from backend.web.context import web_context
from backend.web.security import expected_csrf, resolve_viewer


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    context = web_context(request)
    values.setdefault("errors", {})
    values.setdefault("form", {})
    values.update(
        request=request,
        csrf_token=expected_csrf(request),
        viewer=resolve_viewer(request),
        flash=request.query_params.get("flash", ""),
    )
    return context.templates.TemplateResponse(request, template, values, status_code=status_code)


def redirect(url: str, flash: str = "") -> RedirectResponse:
    """After a successful POST: see-other, so a reload does not post again."""
    if flash:
        from urllib.parse import quote

        url = f"{url}{'&' if '?' in url else '?'}flash={quote(flash)}"
    return RedirectResponse(url, status_code=303)


def money(amount_minor: int, currency: str = "USD") -> str:
    """'$12.50', '€3.00', or '12.50 XYZ'. Two-decimal currencies only (USD, EUR, GBP, BRL...)."""
    symbols = {"USD": "$", "EUR": "€", "GBP": "£", "BRL": "R$", "CAD": "CA$", "AUD": "A$"}
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    number = f"{whole:,}.{cents:02d}"
    symbol = symbols.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def local_time(value: datetime | None, timezone: str, with_time: bool = True) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")
