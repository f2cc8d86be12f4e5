"""Real scenes for the tests that run the shipped models: the demo clip's first frame, with rendered plates pasted
in where a test needs a plate it knows the text of."""

from __future__ import annotations

import cv2
import numpy as np

from edge.types import Image
from tests.conftest import REPO


def demo_frame() -> Image:
    """The first frame of demo/patrol.mp4 (1280x720, BGR)."""
    video = cv2.VideoCapture(str(REPO / "demo" / "patrol.mp4"))
    ok, frame = video.read()
    video.release()
    assert ok, "the demo clip has no readable frame"
    return np.asarray(frame, dtype=np.uint8)


def with_plate(scene: Image, text: str, x: int, y: int, w: int, h: int, seed: int = 5, layout: str = "eu") -> Image:
    """A copy of `scene` with a clean rendered `layout` plate reading `text` shrunk into the box (x, y, w, h)."""
    from models.training.synthetic_plates import render_clean

    out = scene.copy()
    out[y : y + h, x : x + w] = cv2.resize(render_clean(seed, layout, (text,)), (w, h), interpolation=cv2.INTER_AREA)
    return out
