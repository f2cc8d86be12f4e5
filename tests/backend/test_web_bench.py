"""`platepatrol bench web` on a tiny database: it fills, signs every visitor in, and every page answers 200."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from backend.web_bench import bench_web, result_json

pytestmark = pytest.mark.slow


def test_the_web_bench_times_every_page(fresh_database_url: Callable[[], str]) -> None:
    url = fresh_database_url()
    result = bench_web(url, permits=120, accounts=30, reads=60, audit=80, requests=2, warmup=1)
    assert (result.permits, result.stored_reads) == (120, 60)
    assert result.audit_entries >= 80
    assert {page.status for page in result.pages} == {200}, [
        (p.page, p.status) for p in result.pages if p.status != 200
    ]
    names = {page.page for page in result.pages}
    assert {"portal home", "admin permits list", "admin permit page", "admin audit log", "review queue"} <= names
    again = bench_web(url, permits=120, accounts=30, reads=60, audit=80, requests=1, warmup=0)  # reused, not refilled
    assert again.permits == 120
    assert result_json(result)["slowest_p95_ms"] == result.slowest_p95_ms
