"""Close-ups: a plate that fills most of a photo is detected again with the photo shrunk inside grey padding.

The detector was trained on plates up to 75 % of an image's width (models/detector/card.yaml, data.synthetic.scenes).
Wider than that its box loses the plate's left end, and the reader the first characters: a rendered EU plate filling
90 % of a 1280-px photo was boxed from x=350 instead of x=64 and read L482TX for KL482TX; centred on a grey canvas
twice the photo's size it was boxed whole and read right (tests/edge/detect/test_close_ups.py). So when a detection
is wider than `close_up_width` of the image, the image is detected again on such a canvas, and the wide boxes found
there replace the first pass's boxes they cover. Patrol-car frames never trigger it: their plates are a few percent
of the frame wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edge.detect.boxes import PAD_VALUE
from edge.types import Box, Detection, Image

if TYPE_CHECKING:
    from edge.detect import PlateDetector

CANVAS_SCALE = 2  # the canvas is this many times the image's size: a plate as wide as the image becomes half of it


class CloseUpDetector:
    """A `PlateDetector` that re-detects close-ups on a padded canvas (module docstring)."""

    def __init__(self, detector: PlateDetector, close_up_width: float) -> None:
        self._detector = detector
        self._close_up_width = close_up_width

    @property
    def inner(self) -> PlateDetector:
        """The detector it runs twice on close-ups."""
        return self._detector

    def detect(self, image: Image) -> list[Detection]:
        found = self._detector.detect(image)
        width = image.shape[1]
        if not any(d.box.width > self._close_up_width * width for d in found):
            return found
        wide = [d for d in self._detect_padded(image) if d.box.width > self._close_up_width * width / CANVAS_SCALE]
        kept = [d for d in found if not any(_covers(w.box, d.box) for w in wide)]
        return sorted(kept + wide, key=lambda d: d.score, reverse=True)

    def _detect_padded(self, image: Image) -> list[Detection]:
        rows, cols = image.shape[:2]
        canvas = np.full((rows * CANVAS_SCALE, cols * CANVAS_SCALE, 3), PAD_VALUE, dtype=np.uint8)
        top, left = (rows * CANVAS_SCALE - rows) // 2, (cols * CANVAS_SCALE - cols) // 2
        canvas[top : top + rows, left : left + cols] = image
        found = self._detector.detect(canvas)
        shifted = (_inside(d.box, left, top, cols, rows) for d in found)
        return [Detection(box, d.score) for box, d in zip(shifted, found, strict=True) if box is not None]


def _inside(box: Box, left: int, top: int, cols: int, rows: int) -> Box | None:
    """A canvas box in the image's pixels, clipped to the image; None when nothing of it is in the image."""
    x1, y1 = min(max(box.x1 - left, 0.0), cols), min(max(box.y1 - top, 0.0), rows)
    x2, y2 = min(max(box.x2 - left, 0.0), cols), min(max(box.y2 - top, 0.0), rows)
    return Box(x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _covers(big: Box, small: Box) -> bool:
    """At least half of `small` lies inside `big`."""
    area = small.width * small.height
    return area > 0 and big.intersection(small) >= 0.5 * area
