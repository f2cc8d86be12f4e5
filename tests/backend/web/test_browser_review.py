"""The review queue in a real browser (Debian's Chromium): a supervisor rejects a flagged read with a reason,
and the statistics page counts it."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from tests.backend.web.conftest import PASSWORD, LiveSite, add_account
from tests.backend.web.review_fixtures import flagged_reads

pytestmark = pytest.mark.slow


def test_a_supervisor_rejects_a_flagged_read_and_the_statistics_count_it(page: Any, live_site: LiveSite) -> None:
    reads = flagged_reads(live_site.sessions, live_site.clock.now)
    add_account(live_site.sessions, Role.SUPERVISOR, full_name="Sue Pervisor")
    page.goto("/sign-in")
    page.fill("#email", "supervisor@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review")
    assert "3 waiting" in page.inner_text("#queue-total")
    page.click(f"a[href='/review/{reads['lookalike']}']")
    page.wait_for_url(f"**/review/{reads['lookalike']}")
    assert "B123ABC" in page.inner_text("#candidate")
    page.wait_for_selector("#read-map[data-ready=yes]")  # Leaflet drew the zone and the point, no tiles
    assert page.locator("#read-map path.leaflet-interactive").count() >= 2
    # no reason: refused beside the field, nothing decided
    page.click("#reject-form button[type=submit]")
    assert "choose a reason" in page.inner_text("#reason_code-error")
    page.select_option("#reject-form #reason_code", "misread")
    page.fill("#reject-form #note", "the 8 is a B")
    page.click("#reject-form button[type=submit]")
    page.wait_for_url("**/review?flash=*")
    assert "2 waiting" in page.inner_text("#queue-total")
    page.click("header >> text=Statistics")
    page.wait_for_url("**/review/statistics")
    assert page.inner_text("#rejected-count") == "1" and page.inner_text("#decided-count") == "1"
    assert page.inner_text("#fp-rate") == "100.0 %"
    assert page.inner_text("#by-reason tr[data-code=misread] td.num") == "1"
    assert page.locator("#chart-reasons svg rect").count() >= 1
