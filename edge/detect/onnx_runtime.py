"""The car's default detector: our YOLO exported to ONNX, run by ONNX Runtime on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge.config import DetectorConfig
from edge.detect.boxes import decode_yolo, letterbox
from edge.types import Detection, Image


class OnnxPlateDetector:
    def __init__(self, weights: Path, config: DetectorConfig) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        _, _, self._height, self._width = model_input.shape  # exported with a fixed size
        self._config = config

    @property
    def input_hw(self) -> tuple[int, int]:
        """The network's fixed input, height and width: every image is letterboxed to it."""
        return self._height, self._width

    def detect(self, image: Image) -> list[Detection]:
        canvas, fit = letterbox(image, self._height, self._width)
        # BGR HWC uint8 -> RGB CHW float in [0, 1], as ultralytics trains.
        tensor = np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)[None] / 255.0
        (output,) = self._session.run(None, {self._input_name: tensor})
        return decode_yolo(output[0], fit, image.shape, self._config.min_score, self._config.nms_iou)


def load(weights: Path, config: DetectorConfig) -> OnnxPlateDetector:
    return OnnxPlateDetector(weights, config)
