"""The edge bench's summary of repeated runs (the runs themselves are measured by the command, not here)."""

from __future__ import annotations

import pytest

from edge.bench import EdgeBenchResult, summary


def run(fps: float, p95: float, streams: int = 1) -> EdgeBenchResult:
    return EdgeBenchResult(streams, 1280, 720, 108, 108 / fps, fps, fps / streams, 11, p95 / 3, p95, 30.0)


def test_a_summary_gives_median_min_and_max_of_each_figure() -> None:
    figures = summary([run(20.0, 300.0), run(25.0, 250.0), run(24.0, 270.0)])
    assert (figures["streams"], figures["width"], figures["runs"]) == (1, 1280, 3)
    assert figures["fps_total"] == {"median": 24.0, "min": 20.0, "max": 25.0}
    assert figures["latency_p95_ms"] == {"median": 270.0, "min": 250.0, "max": 300.0}


def test_runs_of_different_rigs_are_not_summarised_together() -> None:
    with pytest.raises(ValueError, match="one rig"):
        summary([run(20.0, 300.0), run(20.0, 300.0, streams=2)])
