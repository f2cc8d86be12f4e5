"""Letterboxing frames for a fixed-size network input, and mapping its boxes back: pure array code."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.types import Box, Detection, Image

PAD_VALUE = 114  # ultralytics pads with this grey; the network was trained on it


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the network input: scaled by `scale`, then shifted by the padding."""

    scale: float
    pad_x: float
    pad_y: float

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.pad_x) / self.scale, (y - self.pad_y) / self.scale


def letterbox(image: Image, height: int, width: int) -> tuple[Image, Letterbox]:
    """`image` scaled to fit `height` x `width` keeping its aspect, centred on grey padding."""
    rows, cols = image.shape[:2]
    scale = min(height / rows, width / cols)
    new_w, new_h = round(cols * scale), round(rows * scale)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (width - new_w) / 2, (height - new_h) / 2
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, Letterbox(scale, float(left), float(top))


def decode_yolo(
    output: npt.NDArray[np.float32],
    fit: Letterbox,
    frame_shape: tuple[int, ...],
    min_score: float,
    nms_iou: float,
) -> list[Detection]:
    """Boxes from a one-class YOLO head, (5, N) rows cx, cy, w, h, score in input pixels, after NMS."""
    cx, cy, w, h, scores = output
    keep = scores >= min_score
    if not keep.any():
        return []
    cx, cy, w, h, scores = cx[keep], cy[keep], w[keep], h[keep], scores[keep]
    xywh = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    chosen = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), min_score, nms_iou)
    rows, cols = frame_shape[:2]
    detections = []
    for i in np.asarray(chosen, dtype=int).reshape(-1):
        x1, y1 = fit.to_frame(float(xywh[i, 0]), float(xywh[i, 1]))
        x2, y2 = fit.to_frame(float(xywh[i, 0] + xywh[i, 2]), float(xywh[i, 1] + xywh[i, 3]))
        box = Box(max(0.0, x1), max(0.0, y1), min(float(cols), x2), min(float(rows), y2))
        if box.width > 1 and box.height > 1:
            detections.append(Detection(box, float(scores[i])))
    return sorted(detections, key=lambda d: d.score, reverse=True)
