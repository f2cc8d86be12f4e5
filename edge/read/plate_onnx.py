"""The plate reader's network run by ONNX Runtime (`reader.runtime: plate_onnx`): the same weights, exported by
`platepatrol models export-reader` to models/reader/plate_reader.onnx, without torch or easyocr at run time.

Decoding, alternatives and the calibrated confidence are the torch plugin's (edge/read/ctc.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import yaml

from edge.config import ReaderConfig
from edge.read.ctc import NETWORK, WEIGHTS_DIR, CtcPlateReader, Probs, softmax
from platepatrol.errors import UserError


def onnx_path(weights_dir: Path) -> Path:
    return weights_dir / f"{NETWORK}.onnx"


class PlateOnnxReader(CtcPlateReader):
    def __init__(self, config: ReaderConfig, weights_dir: Path = WEIGHTS_DIR, calibrated: bool = True) -> None:
        super().__init__(config, weights_dir, calibrated)
        model = onnx_path(weights_dir)
        if not model.exists():
            raise UserError(f"{model} is missing: run `platepatrol models export-reader` first")
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        spec = yaml.safe_load((weights_dir / f"{NETWORK}.yaml").read_text(encoding="utf-8"))
        self.alphabet = "".join(spec["character_list"])
        self.img_height = int(spec["imgH"])

    def probabilities(self, batch: npt.NDArray[np.float32]) -> Probs:
        logits = self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return softmax(np.asarray(logits, dtype=np.float32))


def load(config: ReaderConfig) -> PlateOnnxReader:
    return PlateOnnxReader(config)
