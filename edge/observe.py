"""One image in, the plates in it out: detect, crop, read. Shared by the patrol loop and `platepatrol read`."""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from edge.detect import PlateDetector
from edge.read import PlateReader
from edge.types import Box, Detection, Image, Reading

# Margins around the detected box, as shares of its size: the reader needs the characters' full extent.
MARGIN_X = 0.08
MARGIN_Y = 0.15
# Plates are wider than tall (two-row plates about 1.3:1, single-row up to about 5:1); a box far outside
# that range is not a plate the reader could read, and reading a huge box is slow.
MIN_ASPECT, MAX_ASPECT = 0.8, 10.0


@dataclass(frozen=True)
class PlateInImage:
    detection: Detection
    reading: Reading | None
    crop: Image


def crop_plate(image: Image, box: Box) -> Image:
    rows, cols = image.shape[:2]
    dx, dy = box.width * MARGIN_X, box.height * MARGIN_Y
    x1, y1 = max(0, int(box.x1 - dx)), max(0, int(box.y1 - dy))
    x2, y2 = min(cols, round(box.x2 + dx)), min(rows, round(box.y2 + dy))
    return image[y1:y2, x1:x2].copy()


def sharpness(crop: Image) -> float:
    """Variance of the Laplacian of the grey crop: the usual focus measure, higher is sharper."""
    if crop.size == 0:
        return 0.0
    return float(cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def read_plate(crop: Image, detection: Detection, reader: PlateReader) -> Reading | None:
    """The reader's text for a plate-shaped crop; None for shapes no plate has."""
    aspect = detection.box.width / max(detection.box.height, 1.0)
    return reader.read(crop) if crop.size > 0 and MIN_ASPECT <= aspect <= MAX_ASPECT else None


def plates_in(image: Image, detector: PlateDetector, reader: PlateReader) -> list[PlateInImage]:
    found = []
    for detection in detector.detect(image):
        crop = crop_plate(image, detection.box)
        found.append(PlateInImage(detection, read_plate(crop, detection, reader), crop))
    return found
