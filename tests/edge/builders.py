"""Builders of edge values for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from edge.types import Box, Detection, Observation, Reading

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def observation(
    text: str | None,
    confidence: float = 0.9,
    frame: int = 0,
    box: Box | None = None,
    sharpness: float = 100.0,
) -> Observation:
    return Observation(
        frame_index=frame,
        captured_at=T0 + timedelta(seconds=frame / 10),
        detection=Detection(box or Box(100, 100, 200, 130), 0.9),
        reading=Reading(text, confidence) if text is not None else None,
        crop=np.zeros((30, 100, 3), dtype=np.uint8),
        sharpness=sharpness,
    )
