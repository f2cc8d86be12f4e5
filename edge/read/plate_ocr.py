"""Reading plates with PlatePatrol's own recognizer: easyocr's gen2 network fine-tuned for plates (A-Z0-9).

The weights in models/reader/ load through easyocr as a custom recognizer (`recog_network='plate_reader'`,
no CRAFT detector: the whole crop is one text line). We run that network ourselves rather than through
`recognize()` so a batch of crops is one forward pass and every character gets its own confidence (its
greedy-CTC softmax probability). The input pipeline below is easyocr's `recognize()` pipeline, bit for bit
(see models/training/reader_data.py): training imports it from here so train and inference cannot drift apart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch
import yaml

from edge.config import ReaderConfig
from edge.types import Image, Reading

IMG_HEIGHT = 64  # english_g2's imgH, kept by the fine-tuned network
TWO_ROW_MAX_ASPECT = 1.7  # crops squarer than this may be two-row plates: read them both ways
NETWORK = "plate_reader"
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "models" / "reader"

Gray = npt.NDArray[np.uint8]

warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*", category=DeprecationWarning)


def to_gray(image: npt.NDArray[np.uint8]) -> Gray:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.asarray(gray, dtype=np.uint8)


def resize_to_height(gray: Gray, img_height: int = IMG_HEIGHT) -> Gray:
    """easyocr's `compute_ratio_and_resize` (cv2 flag 1 = linear) for a wide crop; a tall one becomes square."""
    h, w = gray.shape
    width = max(1, int(img_height * max(w / h, 1.0)))
    return np.asarray(cv2.resize(gray, (width, img_height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def padded_width(resized: Gray, img_height: int = IMG_HEIGHT) -> int:
    return math.ceil(int(resized.shape[1]) / img_height) * img_height


def network_input(gray: Gray, img_height: int = IMG_HEIGHT, width: int | None = None) -> npt.NDArray[np.float32]:
    """1 x H x W in [-1, 1], right-padded by repeating the last column to `width` (default: easyocr's width)."""
    resized = resize_to_height(gray, img_height)
    target = max(width or 0, padded_width(resized, img_height))
    scaled = resized.astype(np.float32) / 127.5 - 1.0
    pad = target - scaled.shape[1]
    if pad > 0:
        scaled = np.concatenate([scaled, np.repeat(scaled[:, -1:], pad, axis=1)], axis=1)
    return scaled[np.newaxis]


def stack_inputs(grays: Sequence[Gray], img_height: int = IMG_HEIGHT) -> torch.Tensor:
    """A batch: each crop padded (last column repeated) to the widest crop's easyocr width."""
    width = max(padded_width(resize_to_height(g, img_height), img_height) for g in grays)
    return torch.from_numpy(np.stack([network_input(g, img_height, width) for g in grays]))


def two_row_to_one(gray: Gray) -> Gray:
    """Top half then bottom half side by side: a CTC reader reads left to right only."""
    h = gray.shape[0]
    top, bottom = gray[: h // 2], gray[h // 2 :]
    squeezed = cv2.resize(bottom, (bottom.shape[1], top.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(np.hstack([top, squeezed]), dtype=np.uint8)


def greedy_decode(probs: npt.NDArray[np.float32], alphabet: str) -> tuple[str, tuple[float, ...]]:
    """Best path of one T x C softmax: collapse repeats, drop blanks (class 0). A character's confidence is
    its highest probability over the frames that emitted it."""
    best = probs.argmax(axis=1)
    text: list[str] = []
    confidences: list[float] = []
    previous = 0
    for t, cls in enumerate(best):
        if cls != 0 and cls == previous:
            confidences[-1] = max(confidences[-1], float(probs[t, cls]))
        elif cls != 0:
            text.append(alphabet[cls - 1])
            confidences.append(float(probs[t, cls]))
        previous = int(cls)
    return "".join(text), tuple(confidences)


def to_reading(text: str, char_confidences: tuple[float, ...]) -> Reading | None:
    if not text:
        return None
    # The whole plate is right only if every character is: multiply, don't average.
    return Reading(text=text, confidence=float(np.prod(char_confidences)), char_confidences=char_confidences)


class PlateOcrReader:
    def __init__(self, config: ReaderConfig, weights_dir: Path = WEIGHTS_DIR) -> None:
        import easyocr

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
        self._alphabet: str = "".join(spec["character_list"])
        self._img_height: int = int(spec["imgH"])
        self._config = config

    def _infer(self, grays: Sequence[Gray]) -> list[Reading | None]:
        with torch.inference_mode():
            logits = self._network(stack_inputs(grays, self._img_height), None)
        probs = logits.softmax(dim=2).numpy()
        return [to_reading(*greedy_decode(p, self._alphabet)) for p in probs]

    def read_batch(self, crops: Sequence[Image]) -> list[Reading | None]:
        """One forward pass for all crops (BGR or grayscale); squarish crops are also read as two-row plates."""
        grays = {i: to_gray(crop) for i, crop in enumerate(crops) if crop.size > 0 and min(crop.shape[:2]) >= 4}
        if not grays:
            return [None] * len(crops)
        keys = list(grays)
        squarish = [i for i in keys if grays[i].shape[1] / grays[i].shape[0] < TWO_ROW_MAX_ASPECT]
        found = self._infer([grays[i] for i in keys] + [two_row_to_one(grays[i]) for i in squarish])
        readings = dict(zip(keys, found[: len(keys)], strict=True))
        for i, joined in zip(squarish, found[len(keys) :], strict=True):
            current = readings[i]
            if joined is not None and (current is None or joined.confidence > current.confidence):
                readings[i] = joined
        return [self._keep(readings.get(i)) for i in range(len(crops))]

    def read(self, crop: Image) -> Reading | None:
        return self.read_batch([crop])[0]

    def _keep(self, reading: Reading | None) -> Reading | None:
        if reading is None or reading.confidence < self._config.min_confidence:
            return None
        return reading


def load(config: ReaderConfig) -> PlateOcrReader:
    return PlateOcrReader(config)
