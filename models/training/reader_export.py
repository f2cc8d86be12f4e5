"""Export the plate reader's network to ONNX (models/reader/plate_reader.onnx) for the `plate_onnx` runtime.

easyocr's gen2 network pools the feature map's height with `AdaptiveAvgPool2d((None, 1))`, which the ONNX
exporter refuses for a variable width; a mean over that axis is the same operation, so the export wraps the
network with it. Batch and width stay dynamic. The export is checked against torch on random inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edge.read.ctc import IMG_HEIGHT, NETWORK

OPSET = 17


class _Exportable(torch.nn.Module):
    """easyocr's Model.forward with the height pooling written as a mean (identical result)."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.network.FeatureExtraction(image).permute(0, 3, 1, 2).mean(dim=3)
        logits: torch.Tensor = self.network.Prediction(self.network.SequenceModeling(features))
        return logits


def export_onnx(weights_dir: Path, out: Path | None = None) -> tuple[Path, float]:
    """Write NAME.onnx beside the weights (float32); returns its path and the largest logit difference to torch."""
    import onnxruntime as ort

    from models.training.reader_train import from_plate_reader

    network = from_plate_reader(weights_dir / f"{NETWORK}.pth").eval()
    wrapped = _Exportable(network).eval()
    out = out or weights_dir / f"{NETWORK}.onnx"
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
    return out, worst
