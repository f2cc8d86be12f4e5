"""Export the plate reader's network to ONNX (models/reader/plate_reader.onnx) for the `plate_onnx` runtime.

easyocr's gen2 network pools the feature map's height with `AdaptiveAvgPool2d((None, 1))`, which the ONNX
exporter refuses for a variable width; a mean over that axis is the same operation, so the export wraps the
network with it. Batch and width stay dynamic. The float export is checked against torch on random inputs.

By default the convolutions and matrix products are then quantized to int8 (ONNX Runtime static quantization,
QDQ, per channel), calibrated on the training split's real crops and rendered plates (never on held-out ones):
and the LSTMs' weights to int8 (dynamic quantization): about 3 times faster than torch on a CPU with VNNI, for
the same accuracy (see the model card).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from edge.read.ctc import IMG_HEIGHT, NETWORK

OPSET = 17
TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "reader" / "train.yaml"
CALIBRATION_SEED = 3_000_000_000_000  # rendered plates for int8 calibration, apart from training and eval seeds


class _Exportable(torch.nn.Module):
    """easyocr's Model.forward with the height pooling written as a mean (identical result)."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        network: Any = self.network  # easyocr's Model: untyped submodules
        features = network.FeatureExtraction(image).permute(0, 3, 1, 2).mean(dim=3)
        logits: torch.Tensor = network.Prediction(network.SequenceModeling(features))
        return logits


def export_onnx(weights_dir: Path, out: Path | None = None, int8: bool = True) -> tuple[Path, float]:
    """Write NAME.onnx beside the weights (int8 by default); returns its path and the float export's largest
    logit difference to torch."""
    import onnxruntime as ort

    from models.training.reader_train import from_plate_reader

    network = from_plate_reader(weights_dir / f"{NETWORK}.pth").eval()
    wrapped = _Exportable(network).eval()
    out = out or weights_dir / f"{NETWORK}.onnx"
    final, out = out, (out.with_suffix(".float.onnx") if int8 else out)
    example = torch.zeros(2, 1, IMG_HEIGHT, 4 * IMG_HEIGHT)
    torch.onnx.export(
        wrapped,
        (example,),
        str(out),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"}},
        opset_version=OPSET,
        dynamo=False,
    )
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for width in (IMG_HEIGHT, 3 * IMG_HEIGHT, 6 * IMG_HEIGHT):
        batch = rng.uniform(-1, 1, (3, 1, IMG_HEIGHT, width)).astype(np.float32)
        with torch.inference_mode():
            expected = network(torch.from_numpy(batch), None).numpy()
        got = session.run(None, {"image": batch})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    if int8:
        quantize_int8(out, final, calibration_batches())
        out.unlink()
    return final, worst


def calibration_batches(count: int = 12, size: int = 16, seed: int = 0) -> list[npt.NDArray[np.float32]]:
    """Inputs for int8 calibration: the BR training split's crops (never the held-out ones) and rendered plates."""
    import random

    from edge.read.ctc import stack_arrays
    from models.training.reader_data import RealCrops, SyntheticCrops, load_labels, split_by_plate
    from models.training.reader_train import load_train_config

    config = load_train_config(TRAIN_CONFIG)
    train, _ = split_by_plate(load_labels(config.br_crops), config.test_fraction, config.split_seed)
    rng = random.Random(seed)
    real = RealCrops(rng.sample(train, min(len(train), count * size // 2)))
    synthetic = SyntheticCrops(count * size, seed=CALIBRATION_SEED)
    grays = [real[i][0] for i in range(len(real))] + [synthetic[i][0] for i in range(count * size - len(real))]
    rng.shuffle(grays)
    return [stack_arrays(grays[i : i + size]) for i in range(0, len(grays), size)]


def quantize_int8(source: Path, out: Path, batches: list[npt.NDArray[np.float32]]) -> Path:
    """Convolutions and matrix products: static int8 (QDQ, per channel, calibrated on `batches`); then the
    LSTMs' weights: dynamic int8 (ONNX Runtime's DynamicQuantizeLSTM)."""
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process  # type: ignore[import-untyped]

    class Batches(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._left = iter(batches)

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            batch = next(self._left, None)
            return None if batch is None else {"image": batch}

    prepared, static = source.with_suffix(".pre.onnx"), source.with_suffix(".static.onnx")
    quant_pre_process(str(source), str(prepared))
    try:
        quantize_static(
            str(prepared),
            str(static),
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "MatMul"],
        )
        quantize_dynamic(str(static), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM"])
    finally:
        prepared.unlink(missing_ok=True)
        static.unlink(missing_ok=True)
    return out
