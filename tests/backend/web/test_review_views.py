"""The supervisors' review pages and API through the real app: roles, evidence, decisions, citations, statistics."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Role
from backend.audit.models import AuditEntry
from backend.review.models import Citation, Decision, ReviewDecision
from backend.web.review_views import bar_chart, date_range
from tests.backend.factories import JPEG
from tests.backend.web.conftest import Clock, add_account, csrf_from, post_form, sign_in
from tests.backend.web.review_fixtures import flagged_reads


@pytest.fixture
def reads(sessions: sessionmaker[Session], clock: Clock) -> dict[str, str]:
    return flagged_reads(sessions, clock.now)


@pytest.fixture
def supervisor(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    add_account(sessions, Role.SUPERVISOR, full_name="Sue Pervisor")
    sign_in(client, "supervisor@example.org")
    return client


@pytest.mark.parametrize("role", [Role.HOLDER, Role.OFFICER])
def test_holders_and_officers_may_not_review(
    client: TestClient, sessions: sessionmaker[Session], reads: dict[str, str], role: Role
) -> None:
    add_account(sessions, role)
    sign_in(client, f"{role.value}@example.org")
    read = reads["violation"]
    for path in ("/review", "/review/statistics", f"/review/{read}", f"/review/{read}/crop.jpg", "/citations/PP-1"):
        assert client.get(path).status_code == 403, path
    for path in ("/api/v1/review/queue", "/api/v1/review/statistics", "/api/v1/review/reasons"):
        assert client.get(path).status_code == 403, path
    token = client.get("/api/v1/me").json()["csrf_token"]
    decided = client.post(
        f"/api/v1/review/reads/{read}/decision", json={"decision": "accept"}, headers={"X-CSRF-Token": token}
    )
    assert decided.status_code == 403
    with sessions() as session:
        assert session.scalar(select(ReviewDecision)) is None


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, reads: dict[str, str]) -> None:
    response = client.get(f"/review/{reads['violation']}/crop.jpg")
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
    assert client.get("/api/v1/review/queue").status_code == 401


def test_the_queue_lists_flagged_reads_and_filters_them(supervisor: TestClient, reads: dict[str, str]) -> None:
    page = supervisor.get("/review")
    assert page.status_code == 200
    text = page.text
    assert "3 waiting" in text
    assert text.index("CJ99XYZ") < text.index("B123A8C") < text.index("TM11QQQ")  # oldest first
    assert "Old Town" in text and "car-1/front" in text
    assert "0 waiting" in supervisor.get("/review?camera=car-9/front").text
    assert "3 waiting" in supervisor.get("/review?camera=car-1/front&zone=").text
    api = supervisor.get("/api/v1/review/queue", params={"page_size": 2}).json()
    assert (api["total"], api["pages"], len(api["items"])) == (3, 2, 2)
    assert api["items"][1]["candidate_plate"] == "B123ABC"


def test_a_read_shows_its_evidence_and_the_look_up_is_audited(
    supervisor: TestClient, sessions: sessionmaker[Session], reads: dict[str, str]
) -> None:
    page = supervisor.get(f"/review/{reads['violation']}")
    assert page.status_code == 200
    for expected in ("CJ99XYZ", "CJ99XY2", "Old Town", "90.0 %", "read-map", "No permit covered", "reject-form"):
        assert expected in page.text, expected
    assert 'class="char doubtful"' in page.text  # the 0.55 character
    crop = supervisor.get(f"/review/{reads['violation']}/crop.jpg")
    assert crop.content == JPEG and crop.headers["content-type"] == "image/jpeg"
    assert "no-store" in crop.headers["cache-control"]
    assert supervisor.get(f"/review/{reads['violation']}/context.jpg").status_code == 404
    lookalike = supervisor.get(f"/review/{reads['lookalike']}").text
    assert "B123ABC" in lookalike and "P-B123ABC" in lookalike  # the candidate and its permit, as known then
    assert supervisor.get("/review/no-such-read").status_code == 404
    with sessions() as session:
        assert "review.view" in session.scalars(select(AuditEntry.action)).all()


def test_reject_needs_a_listed_reason_beside_the_field_then_counts(
    supervisor: TestClient, sessions: sessionmaker[Session], reads: dict[str, str]
) -> None:
    read = reads["lookalike"]
    bad = post_form(
        supervisor, f"/review/{read}", f"/review/{read}/decision", {"decision": "reject", "reason_code": "x"}
    )
    assert bad.status_code == 422 and 'id="reason_code-error"' in bad.text and "choose a reason" in bad.text
    done = post_form(
        supervisor,
        f"/review/{read}",
        f"/review/{read}/decision",
        {"decision": "reject", "reason_code": "misread", "note": "an 8, clearly a B"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/review?")
    assert "2 waiting" in supervisor.get("/review").text
    again = post_form(supervisor, f"/review/{read}", f"/review/{read}/decision", {"decision": "accept"})
    assert again.status_code == 409 and "already rejected" in again.text
    page = supervisor.get(f"/review/{read}").text
    assert "The plate was read wrongly" in page and "an 8, clearly a B" in page and "Sue Pervisor" in page
    stats = supervisor.get("/review/statistics")
    assert stats.status_code == 200
    assert '<strong id="rejected-count">1</strong>' in stats.text and "<svg" in stats.text
    with sessions() as session:
        decision = session.scalars(select(ReviewDecision)).one()
        assert (decision.decision, decision.reason_code) == (Decision.REJECTED, "misread")
        assert session.scalar(select(Citation)) is None


def test_accept_issues_a_printable_citation(
    supervisor: TestClient, sessions: sessionmaker[Session], reads: dict[str, str]
) -> None:
    read = reads["violation"]
    done = post_form(supervisor, f"/review/{read}", f"/review/{read}/decision", {"decision": "accept"})
    assert done.status_code == 303 and done.headers["location"].startswith("/citations/PP-2026-000001")
    page = supervisor.get("/citations/PP-2026-000001")
    assert page.status_code == 200
    assert "CJ99XYZ" in page.text and "$50.00" in page.text and "/static/review/print.js" in page.text
    assert supervisor.get("/citations/PP-2026-999999").status_code == 404
    with sessions() as session:
        citation = session.scalars(select(Citation)).one()
        assert (citation.plate, citation.amount_minor, citation.read_id) == ("CJ99XYZ", 5000, read)


def test_the_api_decides_once_with_the_csrf_header(
    supervisor: TestClient, sessions: sessionmaker[Session], reads: dict[str, str]
) -> None:
    url = f"/api/v1/review/reads/{reads['doubtful']}/decision"
    assert supervisor.post(url, json={"decision": "reject", "reason_code": "misread"}).status_code == 403
    headers = {"X-CSRF-Token": supervisor.get("/api/v1/me").json()["csrf_token"]}
    bad = supervisor.post(url, json={"decision": "reject", "reason_code": "nope"}, headers=headers)
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"reason_code"}
    assert supervisor.post(url, json={"decision": "maybe"}, headers=headers).status_code == 422
    done = supervisor.post(url, json={"decision": "reject", "reason_code": "not_parked"}, headers=headers)
    assert done.status_code == 201 and done.json() == {
        "read_id": reads["doubtful"],
        "decision": "reject",
        "reason_code": "not_parked",
        "citation_number": None,
    }
    assert supervisor.post(url, json={"decision": "accept"}, headers=headers).status_code == 409
    missing = supervisor.post("/api/v1/review/reads/nope/decision", json={"decision": "accept"}, headers=headers)
    assert missing.status_code == 404
    accepted = supervisor.post(
        f"/api/v1/review/reads/{reads['violation']}/decision", json={"decision": "accept"}, headers=headers
    )
    assert accepted.json()["citation_number"] == "PP-2026-000001"
    stats = supervisor.get("/api/v1/review/statistics").json()
    assert (stats["decided"], stats["rejected"], stats["false_positive_rate"]) == (2, 1, 0.5)
    assert stats["by_zone"][0]["label"] == "Old Town"
    assert {r["code"]: r["count"] for r in stats["by_reason"]}["not_parked"] == 1
    assert supervisor.get("/api/v1/review/statistics?start=2026-11-26&end=2026-11-26").json()["decided"] == 0
    bad_dates = supervisor.get("/api/v1/review/statistics?start=yesterday")
    assert bad_dates.status_code == 422 and "start" in bad_dates.json()["errors"]
    assert "/api/v1/review/queue" in supervisor.get("/api/v1/openapi.json").json()["paths"]


def test_statistics_page_dates_are_checked_beside_the_field(supervisor: TestClient) -> None:
    page = supervisor.get("/review/statistics?start=2026-11-20&end=2026-11-01")
    assert page.status_code == 422 and 'id="end-error"' in page.text
    assert "No decisions in this range." in supervisor.get("/review/statistics").text


def test_a_session_posting_without_the_token_is_refused(supervisor: TestClient, reads: dict[str, str]) -> None:
    read = reads["violation"]
    csrf_from(supervisor.get(f"/review/{read}").text)
    response = supervisor.post(f"/review/{read}/decision", data={"decision": "accept", "csrf_token": "forged"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("start", "end", "today", "expected", "errors"),
    [
        ("", "", "2026-11-25", ("2026-10-27", "2026-11-25"), set()),
        ("2026-02-28", "2026-03-01", "2026-11-25", ("2026-02-28", "2026-03-01"), set()),
        ("2026-11-25", "2026-11-25", "2026-11-25", ("2026-11-25", "2026-11-25"), set()),  # one day
        ("2026-11-26", "2026-11-25", "2026-11-25", ("2026-10-27", "2026-11-25"), {"end"}),
        ("25/11/2026", "", "2026-11-25", ("2026-10-27", "2026-11-25"), {"start"}),
        ("2000-01-01", "2026-01-01", "2026-11-25", ("2026-10-27", "2026-11-25"), {"end"}),
    ],
)
def test_date_ranges(start: str, end: str, today: str, expected: tuple[str, str], errors: set[str]) -> None:
    from datetime import date

    chosen = date_range(start, end, date.fromisoformat(today))
    assert (chosen.start.isoformat(), chosen.end.isoformat()) == expected and set(chosen.errors) == errors


def test_a_date_range_is_whole_local_days() -> None:
    from datetime import date

    start, end = date_range("2026-03-29", "2026-03-29", date(2026, 4, 1)).utc("Europe/Bucharest")
    assert (start.isoformat(), end.isoformat()) == ("2026-03-28T22:00:00+00:00", "2026-03-29T21:00:00+00:00")  # DST


def test_bar_chart_scales_to_the_largest() -> None:
    chart = bar_chart("t", [("a", 2.0, "2"), ("b", 1.0, "1"), ("c", 0.0, "0")])
    assert [bar.width for bar in chart.bars] == [400.0, 200.0, 0.0]
    rates = bar_chart("rates", [("a", 0.5, "50 %")], scale=1.0)
    assert rates.bars[0].width == 200.0
    long = bar_chart("long", [("x" * 50, 1.0, "1")]).bars[0].label
    assert len(long) == 34 and long.endswith("…")
    assert bar_chart("empty", []).bars == () and bar_chart("zeros", [("a", 0.0, "0")]).bars[0].width == 0.0
