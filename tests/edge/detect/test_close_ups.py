"""Close-ups: a plate wider than half the photo is detected again inside grey padding and boxed whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig, ReaderConfig
from edge.detect.close_ups import CloseUpDetector
from edge.types import Box, Detection, Image
from models.training.synthetic_plates import render_clean
from tests.scenes import demo_frame


class WhiteRectangles:
    """Boxes each white rectangle, losing the left 30 % of those wider than 3/4 of the image, as the trained
    detector does with plates wider than any it was trained on. Records the image widths it was given."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def detect(self, image: Image) -> list[Detection]:
        self.widths.append(image.shape[1])
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        contours, _ = cv2.findContours((gray == 255).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            lost = 0.3 * w if w > 0.75 * image.shape[1] else 0.0
            found.append(Detection(Box(x + lost, y, x + w, y + h), 0.5 + w / (4 * image.shape[1])))
        return found


def image_with(*rectangles: tuple[int, int, int, int]) -> Image:
    image = np.full((200, 400, 3), 60, np.uint8)
    for x, y, w, h in rectangles:
        image[y : y + h, x : x + w] = 255
    return image


def test_a_plate_filling_the_photo_is_boxed_whole_and_a_small_one_is_kept() -> None:
    inner = WhiteRectangles()
    found = CloseUpDetector(inner, close_up_width=0.5).detect(image_with((10, 40, 380, 90), (300, 170, 40, 12)))
    assert inner.widths == [400, 800]  # the image, then the canvas twice its size
    assert [d.box for d in found] == [Box(10, 40, 390, 130), Box(300, 170, 340, 182)]
    assert found[0].score > found[1].score


def test_a_box_reaching_past_the_image_is_clipped_to_it() -> None:
    found = CloseUpDetector(WhiteRectangles(), close_up_width=0.5).detect(image_with((0, 40, 400, 90)))
    assert [d.box for d in found] == [Box(0, 40, 400, 130)]


def test_photos_without_a_wide_plate_are_detected_once() -> None:
    inner = WhiteRectangles()
    found = CloseUpDetector(inner, close_up_width=0.5).detect(image_with((20, 40, 150, 40), (250, 100, 60, 20)))
    assert inner.widths == [400] and len(found) == 2


def test_the_first_box_stays_when_the_padded_pass_finds_nothing_wide() -> None:
    class OnlyOnce(WhiteRectangles):
        def detect(self, image: Image) -> list[Detection]:
            return super().detect(image) if not self.widths else []

    found = CloseUpDetector(OnlyOnce(), close_up_width=0.5).detect(image_with((10, 40, 380, 90)))
    assert [d.box for d in found] == [Box(124, 40, 390, 130)]


def test_close_up_width_is_validated() -> None:
    assert DetectorConfig().close_up_width == 0.5
    with pytest.raises(ValueError, match="close_up_width"):
        DetectorConfig(close_up_width=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("fill", [0.8, 0.9, 0.98])
def test_the_car_reads_every_character_of_a_close_up(fill: float) -> None:
    """The shipped detector, on a rendered EU plate filling most of a demo-clip frame, lost the K (read L482TX)."""
    from edge.detect import make_detector
    from edge.observe import plates_in
    from edge.read import make_reader

    scene = demo_frame()
    plate = render_clean(7, "eu", ("KL 482 TX",))
    width = int(scene.shape[1] * fill)
    height = width * plate.shape[0] // plate.shape[1]
    top, left = (scene.shape[0] - height) // 2, (scene.shape[1] - width) // 2
    scene[top : top + height, left : left + width] = cv2.resize(plate, (width, height))
    found = plates_in(np.asarray(scene, np.uint8), make_detector(DetectorConfig()), make_reader(ReaderConfig()))
    assert [p.reading.text for p in found if p.reading is not None] == ["KL482TX"]
