import numpy as np
import pytest

from edge.detect.boxes import PAD_VALUE, decode_yolo, letterbox


def test_letterbox_keeps_aspect_and_centres() -> None:
    frame = np.full((720, 1280, 3), 7, dtype=np.uint8)
    canvas, fit = letterbox(frame, 384, 640)
    assert canvas.shape == (384, 640, 3)
    assert fit.scale == pytest.approx(0.5) and (fit.pad_x, fit.pad_y) == (0.0, 12.0)
    assert (canvas[:12] == PAD_VALUE).all() and (canvas[-12:] == PAD_VALUE).all()
    assert (canvas[12:372] == 7).all()
    assert fit.to_frame(320, 192) == pytest.approx((640, 360))


def head(*boxes: tuple[float, float, float, float, float]) -> np.ndarray:
    """A (5, N) YOLO output from (cx, cy, w, h, score) rows."""
    return np.array(boxes, dtype=np.float32).T


def test_decode_maps_boxes_back_to_the_frame() -> None:
    _, fit = letterbox(np.zeros((720, 1280, 3), np.uint8), 384, 640)
    (found,) = decode_yolo(head((320, 192, 40, 10, 0.9)), fit, (720, 1280, 3), 0.3, 0.5)
    assert found.box.as_list() == [600.0, 350.0, 680.0, 370.0]
    assert found.score == pytest.approx(0.9)


def test_decode_drops_weak_and_duplicate_boxes() -> None:
    _, fit = letterbox(np.zeros((720, 1280, 3), np.uint8), 384, 640)
    output = head((320, 192, 40, 10, 0.9), (321, 192, 40, 10, 0.8), (100, 100, 40, 10, 0.1), (500, 300, 40, 10, 0.5))
    found = decode_yolo(output, fit, (720, 1280, 3), 0.3, 0.5)
    assert [round(d.score, 1) for d in found] == [0.9, 0.5]


def test_decode_nothing() -> None:
    _, fit = letterbox(np.zeros((720, 1280, 3), np.uint8), 384, 640)
    assert decode_yolo(head((320, 192, 40, 10, 0.1)), fit, (720, 1280, 3), 0.3, 0.5) == []


def test_decode_clips_to_the_frame() -> None:
    _, fit = letterbox(np.zeros((720, 1280, 3), np.uint8), 384, 640)
    (found,) = decode_yolo(head((5, 20, 20, 10, 0.9)), fit, (720, 1280, 3), 0.3, 0.5)
    assert found.box.x1 == 0.0
