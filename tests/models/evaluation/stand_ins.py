"""A stand-in detector for the evaluation tests: no network, the answers follow from the drawn test images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.types import Box, Detection, Image


class BrightBoxes:
    """Finds the bright rectangles drawn in a test image: those wider than 30 px score 0.9, narrower ones
    `narrow_score`. Counts its calls."""

    def __init__(self, narrow_score: float) -> None:
        self.narrow_score = narrow_score
        self.calls = 0

    def detect(self, image: Image) -> list[Detection]:
        self.calls += 1
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        contours, _ = cv2.findContours((gray > 200).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            found.append(Detection(Box(x, y, x + w, y + h), 0.9 if w > 30 else self.narrow_score))
        return found


def three_patches(folder: Path) -> Path:
    """A YOLO folder under `folder` of one image with three bright patches: two plate-wide ones, of which only the
    first is labelled, and a small one that is no plate. Returns its images folder."""
    img = np.zeros((120, 200, 3), np.uint8)
    for x1, y1, x2, y2 in ((50, 40, 90, 60), (110, 80, 150, 95), (10, 10, 20, 20)):
        img[y1:y2, x1:x2] = 255
    (folder / "images").mkdir()
    cv2.imwrite(str(folder / "images" / "a.png"), img)
    (folder / "labels").mkdir()
    (folder / "labels" / "a.txt").write_text("0 0.35 0.416667 0.2 0.166667\n")  # the first rectangle
    return folder / "images"
