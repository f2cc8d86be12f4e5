"""Reading plates with PlatePatrol's own recognizer: easyocr's gen2 network fine-tuned for plates (A-Z0-9).

The weights in models/reader/ load through easyocr as a custom recognizer (`recog_network='plate_reader'`,
no CRAFT detector: the whole crop is one text line). We run that network ourselves rather than through
`recognize()` so a batch of crops is one forward pass, every character gets its own confidence and the
best texts come with alternatives (edge/read/ctc.py). The input pipeline is easyocr's `recognize()` pipeline,
bit for bit (see models/training/reader_data.py): training imports it from here so train and inference cannot
drift apart.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import yaml

from edge.config import ReaderConfig
from edge.read.ctc import (
    IMG_HEIGHT,
    NETWORK,
    TWO_ROW_MAX_ASPECT,
    WEIGHTS_DIR,
    CtcPlateReader,
    Gray,
    Probs,
    greedy_decode,
    network_input,
    padded_width,
    resize_to_height,
    stack_arrays,
    to_gray,
    two_row_to_one,
)
from edge.types import Reading

__all__ = [
    "IMG_HEIGHT",
    "NETWORK",
    "TWO_ROW_MAX_ASPECT",
    "WEIGHTS_DIR",
    "Gray",
    "PlateOcrReader",
    "greedy_decode",
    "load",
    "network_input",
    "padded_width",
    "resize_to_height",
    "stack_inputs",
    "to_gray",
    "to_reading",
    "two_row_to_one",
]

warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*", category=DeprecationWarning)


def stack_inputs(grays: Sequence[Gray], img_height: int = IMG_HEIGHT) -> torch.Tensor:
    """A batch: each crop padded (last column repeated) to the widest crop's easyocr width."""
    return torch.from_numpy(stack_arrays(grays, img_height))


def to_reading(text: str, char_confidences: tuple[float, ...]) -> Reading | None:
    """A greedy reading (no alternatives): the plate is right only if every character is, so multiply."""
    if not text:
        return None
    return Reading(text=text, confidence=float(np.prod(char_confidences)), char_confidences=char_confidences)


class PlateOcrReader(CtcPlateReader):
    def __init__(self, config: ReaderConfig, weights_dir: Path = WEIGHTS_DIR, calibrated: bool = True) -> None:
        import easyocr

        super().__init__(config, weights_dir, calibrated)
        torch.set_num_threads(config.threads)
        spec = yaml.safe_load((weights_dir / f"{NETWORK}.yaml").read_text(encoding="utf-8"))
        engine = easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=str(weights_dir),
            user_network_directory=str(weights_dir),
            recog_network=NETWORK,
            detector=False,
            download_enabled=False,
            verbose=False,
        )
        self._network: torch.nn.Module = engine.recognizer
        self._network.eval()
        self.alphabet = "".join(spec["character_list"])
        self.img_height = int(spec["imgH"])

    def probabilities(self, batch: npt.NDArray[np.float32]) -> Probs:
        with torch.inference_mode():
            logits = self._network(torch.from_numpy(batch), None)
        return np.asarray(logits.softmax(dim=2).numpy(), dtype=np.float32)


def load(config: ReaderConfig) -> PlateOcrReader:
    return PlateOcrReader(config)
