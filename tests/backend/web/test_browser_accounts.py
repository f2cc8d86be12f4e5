"""Accounts in a real browser (Debian's Chromium): registering, signing out, and signing in again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.backend.web.conftest import LiveSite

pytestmark = pytest.mark.slow


def test_register_sign_out_and_back_in(page: Any, live_site: LiveSite) -> None:
    page.goto("/register")
    page.fill("#full_name", "Grace Hopper")
    page.fill("#email", "grace@example.org")
    page.fill("#password", "short")
    page.click("button[type=submit]")
    assert "at least 10 characters" in page.inner_text("#password-error")
    assert page.input_value("#email") == "grace@example.org"  # kept; the password is not
    page.fill("#password", "a long enough secret")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal**")
    assert "Grace Hopper (holder)" in page.inner_text("header")
    page.click("text=Sign out")
    page.wait_for_url("**/sign-in**")
    assert "You are signed out." in page.inner_text("main")
    page.fill("#email", "grace@example.org")
    page.fill("#password", "a long enough secret")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal**")
